"""Corrupt compressed pages in zswap: a loud, retryable error, or (documented) an undetectable change.

zswap, like the kernel's, keeps no checksum of a page: corruption is detected
only when the stream no longer decodes to exactly one page.  The fuzz target
``zswap_load`` (fuzz/targets.py) explores this at random; these are the
deterministic cases.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hardening_helpers import text_page

import acomp
from acomp import PAGE_SIZE
from acomp.zswap import SwapDevice, Zswap

COMPRESSORS = ["deflate-generic", "zstd-generic", "lz4-generic", "lz4hc-generic", "deflate-iaa"]


def stored_object(z: Zswap, offset: int) -> memoryview:
    """The zsmalloc bytes of ``offset``'s entry (writable: the pool's own memory)."""
    entry = z.entry(offset)
    assert entry is not None
    return entry.pool.zs.view(entry.handle, entry.length)


@pytest.mark.parametrize("compressor", COMPRESSORS)
def test_garbage_object_fails_loudly_keeps_the_slot_and_loads_once_repaired(
    compressor: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if compressor == "deflate-iaa":
        request.getfixturevalue("iaa")
    page = text_page(random.Random(7))
    try:
        z = Zswap(compressor, total_ram=64 << 20)
    except acomp.AlgorithmNotFound:
        pytest.skip(f"{compressor} not installed")
    with z, SwapDevice(tmp_path / "swap", zswap=z, nr_slots=16) as dev:
        assert dev.swap_out(3, page) == "zswap"
        obj = stored_object(z, 3)
        assert len(obj) < PAGE_SIZE  # really compressed
        good = bytes(obj)
        obj[:] = b"\xff" * len(obj)
        out = bytearray(PAGE_SIZE)
        for attempt in range(1, 3):
            with pytest.raises(acomp.AcompError):
                dev.swap_in(3, out)
            assert z.stats()["decompress_fail"] == attempt and z.offsets() == {3}
        obj[:] = good  # the entry was kept, so a repaired object loads
        assert dev.swap_in(3, out) == "zswap" and out == page
        z.verify()


def test_a_corruption_that_still_decodes_to_a_page_is_not_detectable() -> None:
    """Documented limitation: flip a literal byte of an lz4 block and the page comes back changed, no error.

    Without a checksum (the kernel's zswap has none either) such a load cannot
    be told from a good one; docs/reliability.md says so.
    """
    page = bytes(range(256)) * 16  # lz4 stores the first 256 bytes as literals
    with Zswap("lz4-generic", total_ram=64 << 20) as z:
        assert z.store(0, page)
        obj = stored_object(z, 0)
        obj[10] ^= 0x01  # inside the first literal run
        out = bytearray(PAGE_SIZE)
        assert z.load(0, out)
        assert out != page and sum(a != b for a, b in zip(out, page)) >= 1
        assert z.stats()["decompress_fail"] == 0
