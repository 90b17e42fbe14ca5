"""bz2-generic through acomp's conformance kit, found the way users find it: the entry point."""

from __future__ import annotations

import acomp_bz2
import pytest

import acomp
import acomp.testing


class TestBz2Conformance(acomp.testing.ConformanceSuite):
    """Every property of the kit, one test each."""

    driver = "bz2-generic"


def test_discovered_through_the_entry_point() -> None:
    rec = acomp.registry.get_registry().lookup("bz2")  # by algorithm name: the best bz2 driver
    assert rec.driver_name == "bz2-generic"
    assert rec.plugin == "bz2"  # the entry point's name
    assert rec.driver_cls is acomp_bz2.Bz2Generic
    assert "bz2-generic" in {r.driver_name for r in acomp.algorithms()}


def test_one_call_kit() -> None:
    report = acomp.testing.check_driver("bz2-generic", max_examples=5)
    assert report.ok and "round trip" in report.passed


@pytest.mark.parametrize("level", [1, 9])
def test_levels_round_trip(level: int) -> None:
    data = acomp.testing.strategies.make_page("text", level) * 3
    stream = acomp.compress(data, "bz2", level=level)
    assert acomp.decompress(stream, "bz2", max_size=len(data)) == data


@pytest.mark.parametrize("level", [0, 10, "9", True])
def test_bad_level_is_einval(level: object) -> None:
    with pytest.raises(acomp.InvalidArgument):
        acomp.alloc("bz2", level=level)
