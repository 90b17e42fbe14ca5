"""zswap uses bz2-generic by name, as the kernel's zswap takes a compressor name."""

from __future__ import annotations

import pytest
from acomp import PAGE_SIZE
from acomp.testing.strategies import make_page

zswap = pytest.importorskip("acomp.zswap")


def test_zswap_stores_and_loads_a_folio() -> None:
    folio = b"".join(make_page(kind, 7) for kind in ("text", "binary", "mixed", "zero"))
    with zswap.Zswap(compressor="bz2-generic", total_ram=64 << 20) as zs:
        assert zs.store(0, folio), "zswap refused a compressible folio"
        for i in range(4):
            out = bytearray(PAGE_SIZE)
            assert zs.load(i, out), f"page {i} is not in zswap"
            assert bytes(out) == folio[i * PAGE_SIZE : (i + 1) * PAGE_SIZE], f"page {i} differs"
