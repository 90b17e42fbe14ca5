"""Fixtures for the hardening tests: a fresh emulated IAA machine around the tests that use it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def iaa() -> Iterator[object]:
    """The ``acomp_iaa`` module, reset before and after (skips when the plugin is absent)."""
    acomp_iaa = pytest.importorskip("acomp_iaa")
    acomp_iaa.reset()
    yield acomp_iaa
    assert acomp_iaa.reset(timeout=5.0), "IAA engine threads did not stop"
