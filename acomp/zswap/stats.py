"""zswap's counters (kernel: ``/sys/kernel/debug/zswap/*`` and the ``zswp*`` vmstat events).

The counters that move with every page (``zswpout``, ``zswpin``,
``stored_pages``, ``stored_incompressible_pages``) live in the tree shards and
change under the shard locks; the rare ones live here behind one lock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import attrs

from acomp import PAGE_SIZE
from acomp.zswap.lru import LEN_MASK, LEN_SHIFT, POOL_ID_MASK, POOL_SHIFT

if TYPE_CHECKING:
    from acomp.zswap.zswap import Zswap

__all__ = ["DEBUGFS_COUNTERS", "VMSTAT_COUNTERS", "ZswapEvents", "collect_stats", "folio_key", "verify"]

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
    #: Stores refused as a whole (disabled, over the limit, or a failed page).
    rejected_folios: int = 0
    #: Stores moved to the next driver meeting the pool's requirement (issue 9).
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


def collect_stats(z: Zswap) -> dict[str, object]:
    """``Zswap.stats()``: the shard counters summed, the rare events, the pools."""
    ev = z.events.snapshot()
    out: dict[str, object] = {}
    stored = incompressible = zswpout = zswpin = 0
    folios: dict[int, int] = {}
    for s in z._shards:
        with s.lock:
            stored += len(s.entries)
            incompressible += s.stored_incompressible
            zswpout += s.zswpout
            zswpin += s.zswpin
            for n, c in s.folios.items():
                folios[n] = folios.get(n, 0) + c
    values = {
        **ev,
        "pool_total_size": z.pool_total_size(),
        "stored_pages": stored,
        "stored_incompressible_pages": incompressible,
    }
    for name in DEBUGFS_COUNTERS:
        out[name] = values[name]
    out["zswpout"] = zswpout
    out["zswpin"] = zswpin
    out["zswpwb"] = ev["written_back_pages"]
    for n in sorted(folios):
        out[folio_key("zswpout", n)] = folios[n]
    out["rejected_folios"] = ev["rejected_folios"]
    for name in ("pool_failover", "pool_failover_fail", "decompress_failover"):
        out[name] = ev[name]
    out["max_pool_pages"] = z.max_pages()
    out["pool_reached_full"] = z._reached_full
    out["compressor"] = str(z.compressor)
    out["pools"] = [p.info() for p in z.pools()]
    return out


def verify(z: Zswap) -> None:
    """``Zswap.verify()``: the counters agree with the tree and the allocators."""
    per_pool: dict[int, int] = {}
    incompressible = 0
    for s in z._shards:
        with s.lock:
            n = 0
            for e in s.entries.values():
                pid = (e >> POOL_SHIFT) & POOL_ID_MASK
                per_pool[pid] = per_pool.get(pid, 0) + 1
                if (e >> LEN_SHIFT) & LEN_MASK == PAGE_SIZE:
                    n += 1
            assert n == s.stored_incompressible, (n, s.stored_incompressible)
            incompressible += n
    pages = 0
    pools = z.pools()
    for p in pools:
        p.zs.check()
        assert p.zs.nr_objs == per_pool.get(p.id, 0), (p, p.zs.nr_objs, per_pool.get(p.id, 0))
        pages += p.zs.total_pages
    assert set(per_pool) <= {p.id for p in pools}
    assert z.stats()["pool_total_size"] == pages * PAGE_SIZE
