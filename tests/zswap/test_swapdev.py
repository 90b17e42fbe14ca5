"""The swap layer: zero-page map, zswap in front, a real file behind, writeback into it."""

from __future__ import annotations

from pathlib import Path

import pytest
from zswap_helpers import random_pages, text_pages

import acomp
from acomp import PAGE_SIZE
from acomp.zswap import SwapDevice, Zswap


def swap_in(dev: SwapDevice, offset: int) -> tuple[str | None, bytes]:
    out = bytearray(PAGE_SIZE)
    src = dev.swap_in(offset, out)
    return src, bytes(out)


def test_zero_folio_goes_to_bitmap(tmp_path: Path) -> None:
    with Zswap("ztest1") as z, SwapDevice(tmp_path / "swap", zswap=z, nr_slots=64) as dev:
        assert dev.swap_out(0, bytes(4 * PAGE_SIZE)) == "zero"
        assert z.stats()["zswpout"] == 0
        assert dev.stats()["swpout_zero"] == 4
        assert swap_in(dev, 2) == ("zero", bytes(PAGE_SIZE))
        assert dev.swap_in(2, bytearray(PAGE_SIZE)) is None  # exclusive


def test_mixed_folio_goes_to_zswap_whole(tmp_path: Path) -> None:
    with Zswap("ztest1") as z, SwapDevice(tmp_path / "swap", zswap=z, nr_slots=64) as dev:
        pages = [bytes(PAGE_SIZE), *text_pages(3)]
        assert dev.swap_out(8, b"".join(pages)) == "zswap"
        assert z.stats()["stored_pages"] == 4
        for i, p in enumerate(pages):
            assert swap_in(dev, 8 + i) == ("zswap", p)


def test_rejected_folio_goes_to_file(tmp_path: Path) -> None:
    with Zswap("ztest1", enabled=False) as z, SwapDevice(tmp_path / "swap", zswap=z, nr_slots=64) as dev:
        pages = text_pages(4)
        assert dev.swap_out(4, b"".join(pages)) == "file"
        st = dev.stats()
        assert st["pswpout"] == 4 and st["swpout_16kB"] == 1
        raw = (tmp_path / "swap").read_bytes()
        assert raw[4 * PAGE_SIZE : 8 * PAGE_SIZE] == b"".join(pages)
        for i, p in enumerate(pages):
            assert swap_in(dev, 4 + i) == ("file", p)
        assert dev.stats()["pswpin"] == 4


def test_writeback_lands_in_file(tmp_path: Path) -> None:
    with (
        Zswap("ztest1", shrinker_enabled=False) as z,
        SwapDevice(tmp_path / "swap", zswap=z, nr_slots=64) as dev,
    ):
        assert z.swap is dev
        pages = text_pages(4)
        dev.swap_out(0, b"".join(pages))
        assert z.shrink(8) == 4  # rotate all once, then write all back
        raw = (tmp_path / "swap").read_bytes()
        assert raw[: 4 * PAGE_SIZE] == b"".join(pages)
        assert z.stats()["zswpwb"] == 4 and z.stats()["stored_pages"] == 0
        assert [swap_in(dev, i) for i in range(4)] == [("file", p) for p in pages]


def test_overwrite_moves_between_tiers(tmp_path: Path) -> None:
    with Zswap("ztest1") as z, SwapDevice(tmp_path / "swap", zswap=z, nr_slots=64) as dev:
        page = text_pages(1)[0]
        dev.swap_out(0, page)
        assert dev.swap_out(0, bytes(PAGE_SIZE)) == "zero"
        assert z.stats()["stored_pages"] == 0  # the stale zswap entry went
        z.enabled = False
        assert dev.swap_out(0, page) == "file"
        z.enabled = True
        assert dev.swap_out(0, text_pages(1, seed=5)[0]) == "zswap"
        assert dev.stats()["file_pages"] == 0  # the file copy is stale, forgotten
        assert swap_in(dev, 0) == ("zswap", text_pages(1, seed=5)[0])


@pytest.mark.parametrize("as_is", [False, True])
def test_folio_with_a_random_page_goes_to_the_file_whole_by_default(tmp_path: Path, as_is: bool) -> None:
    """v5: zswap rejects the folio (reject_compress_poor), the swap device writes all of it and
    counts SWPOUT-16kB; store_incompressible keeps it in zswap."""
    with (
        Zswap("ztest1", store_incompressible=as_is) as z,
        SwapDevice(tmp_path / "swap", zswap=z, nr_slots=64) as dev,
    ):
        pages = text_pages(3) + random_pages(1)
        assert dev.swap_out(8, b"".join(pages)) == ("zswap" if as_is else "file")
        st, zst = dev.stats(), z.stats()
        if as_is:
            assert zst["stored_pages"] == 4 and zst["stored_incompressible_pages"] == 1
            assert "swpout_16kB" not in st
        else:
            assert zst["reject_compress_poor"] == 1 and zst["stored_pages"] == 0
            assert st["swpout_16kB"] == 1 and st["pswpout"] == 4 and st["zswap_rejected_folios"] == 1
        for i, p in enumerate(pages):
            assert swap_in(dev, 8 + i) == ("zswap" if as_is else "file", p)


def test_invalidate_everywhere(tmp_path: Path) -> None:
    with Zswap("ztest1") as z, SwapDevice(tmp_path / "swap", zswap=z, nr_slots=64) as dev:
        dev.swap_out(0, bytes(PAGE_SIZE))
        dev.swap_out(1, text_pages(1)[0])
        z.enabled = False
        dev.swap_out(2, text_pages(1)[0])
        dev.invalidate(0, 3)
        assert [dev.swap_in(i, bytearray(PAGE_SIZE)) for i in range(3)] == [None, None, None]
        assert z.stats()["stored_pages"] == 0


def test_bounds(tmp_path: Path) -> None:
    with SwapDevice(tmp_path / "swap", nr_slots=4) as dev:
        with pytest.raises(acomp.InvalidArgument):
            dev.swap_out(3, bytes(2 * PAGE_SIZE))
        with pytest.raises(acomp.InvalidArgument):
            dev.swap_in(4, bytearray(PAGE_SIZE))
        assert dev.swap_out(0, text_pages(1)[0]) == "file"  # no zswap at all


def test_out_of_range_and_bad_buffers_are_einval(tmp_path: Path) -> None:
    with pytest.raises(acomp.InvalidArgument):
        SwapDevice(tmp_path / "none", nr_slots=0)
    with Zswap("ztest1") as z, SwapDevice(tmp_path / "swap", zswap=z, nr_slots=4) as dev:
        page = text_pages(1)[0]
        for offset in (-1, 4):
            with pytest.raises(acomp.InvalidArgument):
                dev.swap_out(offset, page)
            with pytest.raises(acomp.InvalidArgument):
                dev.swap_in(offset, bytearray(PAGE_SIZE))
            with pytest.raises(acomp.InvalidArgument):
                dev.invalidate(offset)
        with pytest.raises(acomp.InvalidArgument):
            dev.invalidate(2, 3)  # runs past the end
        with pytest.raises(acomp.InvalidArgument):
            dev.invalidate(0, 0)
        for folio in (b"", b"x" * 100, page + b"x"):
            with pytest.raises(acomp.InvalidArgument):
                dev.swap_out(0, folio)
        assert dev.swap_out(0, page) == "zswap"
        for bad in (bytearray(PAGE_SIZE - 1), bytes(PAGE_SIZE)):
            with pytest.raises(acomp.InvalidArgument):
                dev.swap_in(0, bad)
        st = dev.stats()
        assert st["pswpout"] == 0 and st["file_pages"] == 0 and z.stats()["zswpout"] == 1
        assert swap_in(dev, 0) == ("zswap", page)  # nothing above touched the slot
