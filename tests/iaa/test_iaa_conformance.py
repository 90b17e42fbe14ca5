"""acomp's driver conformance kit, run against deflate-iaa in each sync_mode."""

from __future__ import annotations

import acomp_iaa
import pytest

import acomp.testing


class TestDeflateIaaConformance(acomp.testing.ConformanceSuite):
    driver = "deflate-iaa"


@pytest.mark.parametrize("mode", ["sync", "async_irq"])
def test_conformance_other_modes(mode: str) -> None:
    acomp_iaa.set_driver_attr("sync_mode", mode)
    acomp.testing.check_driver("deflate-iaa", max_examples=10)
