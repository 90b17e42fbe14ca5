"""bz2-generic through acomp's conformance kit, found the way users find it: the entry point."""

from __future__ import annotations

import acomp
import acomp.testing
import pytest

import acomp_bz2


class TestBz2GenericConformance(acomp.testing.ConformanceSuite):
    """Every property of the kit, one test each (pytest -k dst_bounds runs one)."""

    driver = "bz2-generic"


def test_discovered_through_the_entry_point() -> None:
    rec = next(r for r in acomp.algorithms() if r.driver_name == "bz2-generic")
    assert rec.plugin == "bz2"  # the entry point's name
    assert rec.alg_name == "bz2"
    assert rec.driver_cls is acomp_bz2.Bz2Generic


@pytest.mark.parametrize("level", [1, 9])
def test_levels_round_trip(level: int) -> None:
    data = acomp.testing.strategies.make_page("text", level) * 3
    stream = acomp.compress(data, "bz2-generic", level=level)
    assert acomp.decompress(stream, "bz2-generic", max_size=len(data)) == data


@pytest.mark.parametrize("level", [0, 10, "1", True])
def test_bad_level_is_einval(level: object) -> None:
    with pytest.raises(acomp.InvalidArgument):
        acomp.alloc("bz2-generic", level=level)
