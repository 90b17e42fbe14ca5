"""zswap's counters (kernel: ``/sys/kernel/debug/zswap/*`` and the ``zswp*`` vmstat events).

The counters that move with every page (``zswpout``, ``zswpin``,
``stored_pages``, ``stored_incompressible_pages``) live in the tree and change
under its lock; the rare ones live here behind one lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from acomp import PAGE_SIZE

if TYPE_CHECKING:
    from acomp.zswap.zswap import Zswap

__all__ = [
    "DEBUGFS_COUNTERS",
    "VMSTAT_COUNTERS",
    "ZswapEvents",
    "collect_stats",
    "folio_key",
    "metadata_estimate",
    "verify",
]

#: The debugfs names, in the kernel's order.
DEBUGFS_COUNTERS = (
    "pool_limit_hit",
    "reject_reclaim_fail",
    "reject_alloc_fail",
    "reject_kmemcache_fail",
    "reject_compress_fail",
    "reject_compress_poor",
    "decompress_fail",
    "written_back_pages",
    "pool_total_size",
    "stored_pages",
    "stored_incompressible_pages",
)
VMSTAT_COUNTERS = ("zswpout", "zswpin", "zswpwb")


def folio_key(prefix: str, nr_pages: int) -> str:
    """``zswpout_64kB``: the per-folio-size counter name (the seed's ``ZSWPOUT-64kB`` rows)."""
    return f"{prefix}_{nr_pages * 4}kB"


@attrs.define(slots=True, eq=False)
class ZswapEvents:
    """The rare events; increment with :meth:`add` (thread-safe)."""

    pool_limit_hit: int = 0
    reject_reclaim_fail: int = 0
    reject_alloc_fail: int = 0
    reject_kmemcache_fail: int = 0
    reject_compress_fail: int = 0
    reject_compress_poor: int = 0
    decompress_fail: int = 0
    written_back_pages: int = 0
    #: Stores refused as a whole (disabled, over the limit, or a failed page; acomp only).
    rejected_folios: int = 0
    #: Stores moved to the next driver meeting the pool's requirement (acomp only).
    pool_failover: int = 0
    #: ...and the times no other driver met it.
    pool_failover_fail: int = 0
    #: Loads served by another driver of the same wire format (the pool's was unusable).
    decompress_failover: int = 0
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in attrs.fields(type(self)) if not f.name.startswith("_")}


#: kernel-side metadata a stored page costs beside its zsmalloc object, for the estimate:
#: ``struct zswap_entry`` (56 B since the xarray conversion: swpentry, length,
#: referenced, pool, handle, objcg, lru) and its zsmalloc handle (``ZS_HANDLE_SIZE``).
ZSWAP_ENTRY_SIZE = 56
ZS_HANDLE_BYTES = 8
#: ``sizeof(struct xa_node)`` on 64-bit and its slots (``XA_CHUNK_SIZE``).
XA_NODE_SIZE = 576
XA_CHUNK_SHIFT = 6


def metadata_estimate(offsets: Iterable[int], nr_stored: int) -> int:
    """Bytes the kernel would spend on metadata for these entries: ``pool_total_size`` leaves them out.

    ``zswap_entry`` and the handle slab per page, plus the xarray nodes over
    the offsets (a leaf per 64 offsets in use, and the nodes above them).
    """
    nodes = 0
    level = {o >> XA_CHUNK_SHIFT for o in offsets}
    while level:
        nodes += len(level)
        if len(level) == 1 and 0 in level:
            break
        level = {i >> XA_CHUNK_SHIFT for i in level}
    return nr_stored * (ZSWAP_ENTRY_SIZE + ZS_HANDLE_BYTES) + nodes * XA_NODE_SIZE


def collect_stats(z: Zswap) -> dict[str, object]:
    """``Zswap.stats()``: the tree's counters, the rare events, the pools."""
    ev = z.events.snapshot()
    stored, incompressible, zswpout, zswpin, folios = z.tree.counts()
    values = {
        **ev,
        "pool_total_size": z.pool_total_size(),
        "stored_pages": stored,
        "stored_incompressible_pages": incompressible,
    }
    out: dict[str, object] = {name: values[name] for name in DEBUGFS_COUNTERS}
    out["zswpout"] = zswpout
    out["zswpin"] = zswpin
    out["zswpwb"] = ev["written_back_pages"]
    for n in sorted(folios):
        out[folio_key("zswpout", n)] = folios[n]
    out["metadata_size_estimate"] = metadata_estimate(z.offsets(), stored)
    out["rejected_folios"] = ev["rejected_folios"]
    for name in ("pool_failover", "pool_failover_fail", "decompress_failover"):
        out[name] = ev[name]
    out["max_pool_pages"] = z.max_pages()
    out["pool_reached_full"] = z.pool_reached_full
    out["nr_disk_swapins"] = z.nr_disk_swapins
    out["store_incompressible"] = z.store_incompressible
    out["nr_cpus"] = z.cpus.nr
    out["compressor"] = str(z.compressor)
    out["pools"] = [p.info() for p in z.pools()]
    return out


def verify(z: Zswap) -> None:
    """``Zswap.verify()``: the counters agree with the tree and the allocators."""
    per_pool: dict[int, set[int]] = {}
    incompressible = 0
    raw = z.tree.raw_length
    with z.tree.lock:
        for e in z.tree.entries.values():
            handles = per_pool.setdefault(id(e.pool), set())
            assert e.handle not in handles, ("handle shared by two entries", e)
            handles.add(e.handle)
            incompressible += e.length == raw
        assert incompressible == z.tree.stored_incompressible, (incompressible, z.tree.stored_incompressible)
    pages = 0
    pools = z.pools()
    for p in pools:
        p.zs.check()
        assert set(p.zs.handles()) == per_pool.get(id(p), set()), (p, "objects and entries differ")
        pages += p.zs.total_pages
    assert set(per_pool) <= {id(p) for p in pools}, "an entry names a pool that is gone"
    assert z.stats()["pool_total_size"] == pages * PAGE_SIZE
