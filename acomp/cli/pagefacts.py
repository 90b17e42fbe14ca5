"""Per-page facts, gathered as pages stream by: what ``acomp advise`` and ``acomp zswap`` report.

For every page: is it zero-filled (the swap layer's zero-page map keeps it out
of zswap: ``swap_zeromap``, mm/page_io.c) or same-filled (every ``unsigned
long`` equal, as zram's ``page_same_filled`` tests; zswap since 6.12 stores
these through the compressor like any page).  For every non-zero page and
every compressor: the compressed size, and the time of the driver's own codec
call (``driver.compress(page, capacity)`` and ``driver.decompress``), not the
framework's: per-page request set-up, checks and copies would otherwise hide
the codecs' real differences.  Each output is decompressed and compared with
its page (untimed).

Memory: 10 bytes per page per compressor (size, compress ns, decompress ns),
so a 1 GiB process (262,144 pages) costs about 2.6 MiB per compressor; the
pages themselves are never kept.

The pool model: zswap (v5, as 6.13) gives the compressor a ``PAGE_SIZE``
destination, so an output larger than a page fails and the page goes to the
swap device (``reject_compress_poor``); an output that fits is stored, even
without gain.  A stored object is ``zs_malloc(size)``, which adds
``ZS_HANDLE_SIZE`` before choosing the size class (mm/zsmalloc.c); the
pool's footprint is its zspages, whole (:func:`zsmalloc_footprint`).  Each
stored page also costs zswap metadata: a ``struct zswap_entry`` (56 bytes on
64-bit: swpentry, length, referenced, pool, handle, objcg, lru), the
zsmalloc handle (a ``ZS_HANDLE_SIZE`` slab object) and its xarray slot
(an ``xa_node`` of 576 bytes holds 64 slots: 9 bytes per entry when dense).
"""

from __future__ import annotations

import array
import time
from collections.abc import Sequence
from typing import Any

import attrs

import acomp
from acomp.request import PAGE_SIZE
from acomp.zswap import zsmalloc

__all__ = [
    "ENTRY_METADATA_BYTES",
    "ZS_HANDLE_SIZE",
    "CodecFacts",
    "Footprint",
    "PageCounts",
    "PageFacts",
    "is_same_filled",
    "percentile",
    "zsmalloc_footprint",
]

#: kernel: ``#define ZS_HANDLE_SIZE (sizeof(unsigned long))``.
ZS_HANDLE_SIZE: int = getattr(zsmalloc, "ZS_HANDLE_SIZE", 8)
#: sizeof(struct zswap_entry) on 64-bit (6.13): 8 + 4 + 1 (+3) + 8 + 8 + 8 + 16.
ZSWAP_ENTRY_BYTES = 56
#: One xarray slot: an ``xa_node`` (576 bytes on 64-bit) holds ``XA_CHUNK_SIZE`` = 64 of them.
XARRAY_BYTES_PER_ENTRY = 576 // 64
#: zswap's metadata per stored page: the entry, the zsmalloc handle, the xarray slot.
ENTRY_METADATA_BYTES = ZSWAP_ENTRY_BYTES + ZS_HANDLE_SIZE + XARRAY_BYTES_PER_ENTRY

_ZERO_PAGE = bytes(PAGE_SIZE)
_WORDS = PAGE_SIZE // 8


def is_same_filled(page: bytes) -> bool:
    """Every 8-byte word of ``page`` equal (zram's ``page_same_filled``); zero pages included."""
    return page[:8] * _WORDS == page


def percentile(values: Sequence[int] | array.array[int], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return float(ordered[rank - 1])


@attrs.define(slots=True, eq=False)
class PageCounts:
    """What the source gave."""

    pages: int = 0
    zero_pages: int = 0
    #: Non-zero pages whose words are all equal (zero pages are counted apart).
    same_filled_pages: int = 0


@attrs.define(slots=True, eq=False)
class CodecFacts:
    """One compressor's facts over the non-zero pages, in page order."""

    driver_name: str
    params: dict[str, object]
    #: Compressed size of each page (larger than ``PAGE_SIZE``: does not fit).
    sizes: array.array[int] = attrs.field(factory=lambda: array.array("I"))
    #: ns inside the driver's compress call, per page.
    compress_ns: array.array[int] = attrs.field(factory=lambda: array.array("I"))
    #: ns inside the driver's decompress call, per page that compressed.
    decompress_ns: array.array[int] = attrs.field(factory=lambda: array.array("I"))
    #: Pages whose compression failed outright (an error other than "does not fit").
    errors: int = 0
    roundtrip_failures: int = 0

    def ratio(self) -> float | None:
        """Bytes in / bytes out over the pages that compressed (the raw codec's ratio)."""
        out = sum(self.sizes)
        return len(self.sizes) * PAGE_SIZE / out if out else None

    def mean_us(self, which: str) -> float | None:
        """Mean µs per page of ``compress`` or ``decompress``, over the fastest 99 % of pages.

        The slowest 1 % are left out: on a shared machine they hold the
        scheduler's interruptions (milliseconds each), which would otherwise
        outweigh the codec in the mean.  p99 and above stay in the percentiles.
        """
        values = sorted(self.compress_ns if which == "compress" else self.decompress_ns)
        if not values:
            return None
        kept = values[: max(1, -(-99 * len(values) // 100))]
        return sum(kept) / len(kept) / 1e3


@attrs.define(frozen=True, slots=True)
class Footprint:
    """zswap's memory for these pages, by the zsmalloc model."""

    #: zsmalloc pages, whole zspages (what ``pool_total_size`` counts).
    pool_bytes: int
    #: zswap entries, handles and xarray slots of the stored pages.
    metadata_bytes: int
    stored_pages: int
    #: Pages whose output did not fit a page: zswap rejects them to the swap device.
    rejected_pages: int
    #: Size class (bytes) -> stored pages in it, ascending.
    histogram: dict[int, int]


def zsmalloc_footprint(sizes: Sequence[int] | array.array[int]) -> Footprint:
    """The pool's footprint for objects of ``sizes`` stored one after another (no frees)."""
    pool = zsmalloc.ZsPool("advise")
    per_class: dict[int, int] = {}
    geometry: dict[int, tuple[int, int]] = {}
    rejected = 0
    for size in sizes:
        if size > PAGE_SIZE or size <= 0:
            rejected += 1
            continue
        cls = pool.class_for(size)  # zs_malloc adds ZS_HANDLE_SIZE itself
        per_class[cls.size] = per_class.get(cls.size, 0) + 1
        geometry[cls.size] = (cls.objs_per_zspage, cls.pages_per_zspage)
    pages = 0
    for size, count in per_class.items():
        objs, pages_per = geometry[size]
        pages += -(-count // objs) * pages_per  # zspages fill before a new one is made
    stored = sum(per_class.values())
    return Footprint(
        pool_bytes=pages * PAGE_SIZE,
        metadata_bytes=stored * ENTRY_METADATA_BYTES,
        stored_pages=stored,
        rejected_pages=rejected,
        histogram=dict(sorted(per_class.items())),
    )


class PageFacts:
    """Feed pages with :meth:`add`; read :attr:`counts` and :attr:`codecs`."""

    def __init__(self, drivers: Sequence[tuple[str, dict[str, object]]]) -> None:
        self.counts = PageCounts()
        self.codecs: list[CodecFacts] = []
        self._tfms: list[Any] = []
        self._calls: list[tuple[Any, Any, int, CodecFacts]] = []
        try:
            for name, params in drivers:
                tfm = acomp.alloc(name, **params)
                self._tfms.append(tfm)
                facts = CodecFacts(tfm.driver_name, dict(params))
                self.codecs.append(facts)
                driver = tfm.driver
                cap = max(PAGE_SIZE, driver.compress_bound(PAGE_SIZE))
                self._calls.append((driver.compress, driver.decompress, cap, facts))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for tfm in self._tfms:
            tfm.close()
        self._tfms.clear()

    def __enter__(self) -> PageFacts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, page: bytes) -> None:
        """Count ``page`` and, unless it is zero-filled, compress and decompress it with every codec."""
        counts = self.counts
        counts.pages += 1
        if page == _ZERO_PAGE:
            counts.zero_pages += 1
            return
        if page[:8] * _WORDS == page:
            counts.same_filled_pages += 1
        clock = time.perf_counter_ns
        error = acomp.AcompError
        for compress, decompress, cap, facts in self._calls:
            t0 = clock()
            try:
                out = compress(page, cap)
            except error:
                facts.errors += 1
                continue
            t1 = clock()
            facts.compress_ns.append(t1 - t0)
            facts.sizes.append(len(out))
            t0 = clock()
            try:
                back = decompress(out, PAGE_SIZE)
            except error:
                facts.roundtrip_failures += 1
                continue
            t1 = clock()
            facts.decompress_ns.append(t1 - t0)
            if back != page:
                facts.roundtrip_failures += 1
