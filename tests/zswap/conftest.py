"""Fixtures for zswap tests: the throwaway drivers of zswap_helpers, registered next to the shipped ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from zswap_helpers import PLUGIN, ExactPage, Faults, TestPlugin, ZtestBatch, ZtestSingle

import acomp
from acomp.registry import get_registry


@pytest.fixture(autouse=True)
def zswap_drivers() -> Iterator[None]:
    """Make sure the test drivers are registered (core tests may swap the registry)."""
    reg = get_registry()
    if PLUGIN not in reg.plugin_names():
        reg.register_plugin(TestPlugin(), name=PLUGIN)
    ZtestBatch.batch_calls.clear()
    ZtestBatch.single_calls.clear()
    ZtestSingle.calls.clear()
    Faults.reset()
    ExactPage.size = acomp.PAGE_SIZE
    yield
    Faults.reset()
