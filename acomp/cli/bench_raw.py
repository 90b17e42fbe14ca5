"""The raw library call behind each software driver: ``acomp bench``'s reference.

``acomp bench`` divides our per-page time by the raw call's on the same pages
(the cost of the acomp layer); ``benchmarks/bench_core.py`` does the same for
the sync hot path.  The table is in :mod:`acomp.cli.bench`'s docstring and in
``docs/cli.md``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from acomp.request import PAGE_SIZE

__all__ = ["RAW_CALLS", "RawPair", "raw_calls"]

#: (label, raw compress of one page, raw decompress back to the page).
RawPair = tuple[str, Callable[[bytes], bytes], Callable[[bytes], bytes]]


def _raw_deflate() -> RawPair:
    def comp(page: bytes) -> bytes:
        c = zlib.compressobj(-1, zlib.DEFLATED, -11, 9)
        return c.compress(page) + c.flush()

    def decomp(data: bytes) -> bytes:
        return zlib.decompressobj(-15).decompress(data, PAGE_SIZE)

    return "zlib(-1,-11,9)", comp, decomp


def _raw_isal() -> RawPair:
    from isal import isal_zlib

    def comp(page: bytes) -> bytes:
        out: bytes = isal_zlib.compress(page, 1, -15)
        return out

    def decomp(data: bytes) -> bytes:
        out: bytes = isal_zlib.decompress(data, -15)
        return out

    return "isal_zlib(1)", comp, decomp


def _raw_zstd() -> RawPair:
    import zstandard

    cctx = zstandard.ZstdCompressor(level=3)
    dctx = zstandard.ZstdDecompressor()
    return "zstandard(3)", cctx.compress, dctx.decompress


def _raw_lz4_block(label: str, **options: Any) -> RawPair:
    """``lz4.block`` without the size prefix (the kernel's raw block), with ``options`` to compress."""
    import lz4.block

    def comp(page: bytes) -> bytes:
        out: bytes = lz4.block.compress(page, store_size=False, **options)
        return out

    def decomp(data: bytes) -> bytes:
        out: bytes = lz4.block.decompress(data, uncompressed_size=PAGE_SIZE)
        return out

    return label, comp, decomp


def _raw_lz4() -> RawPair:
    return _raw_lz4_block("lz4.block")


def _raw_lz4hc() -> RawPair:
    return _raw_lz4_block("lz4.block hc(9)", mode="high_compression", compression=9)


#: Driver name -> factory of (label, raw compress, raw decompress).
RAW_CALLS: dict[str, Callable[[], RawPair]] = {
    "deflate-generic": _raw_deflate,
    "deflate-isal": _raw_isal,
    "zstd-generic": _raw_zstd,
    "lz4-generic": _raw_lz4,
    "lz4hc-generic": _raw_lz4hc,
}


def raw_calls(driver_name: str) -> RawPair | None:
    """The raw library calls for a driver, or None when unknown (or not importable)."""
    factory = RAW_CALLS.get(driver_name)
    if factory is None:
        return None
    try:
        return factory()
    except ImportError:
        return None
