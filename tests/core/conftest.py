"""Fixtures for core tests: an isolated registry with throwaway drivers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from core_drivers import TestPlugin, ZlibBatching

from acomp.registry import Registry, get_registry, reset_registry


@pytest.fixture
def registry() -> Iterator[Registry]:
    """A registry with only the test plugin (no entry points), installed as the default."""
    old = get_registry()
    reg = reset_registry(Registry(autoload=False))
    reg.register_plugin(TestPlugin(), name="testplugin")
    ZlibBatching.batch_calls.clear()
    yield reg
    reset_registry(old)
