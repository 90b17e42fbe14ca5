"""The zswap tree and LRU: sharded ``offset -> entry`` maps whose order is the LRU.

Kernel: one xarray per swap area (``swap_zswap_tree``) for lookup and a
``list_lru`` per node for reclaim.  Here each shard is one ``dict`` that serves
both: a dict keeps insertion order, so the oldest entry is first, a new store
goes to the tail, and the second-chance rotation is "pop and insert again".
That halves the per-page metadata compared with a tree plus a linked list.

A shard covers runs of ``SHARD_RUN`` consecutive offsets, so a folio of up to
that many aligned pages takes one shard lock for all its pages.

An entry (kernel: ``struct zswap_entry``) is one ``int`` (32 bytes in CPython,
less than any object with fields):

====== ============================================================
bit 0   ``referenced`` (second chance on the LRU)
1..13   ``length`` of the stored object (``PAGE_SIZE`` = stored as-is)
14..29  id of the ``zswap_pool`` that owns the object
30..    zsmalloc handle
====== ============================================================
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import attrs

from acomp import PAGE_SIZE

__all__ = [
    "HANDLE_SHIFT",
    "LEN_MASK",
    "LEN_SHIFT",
    "NR_SHARDS",
    "POOL_ID_MASK",
    "POOL_SHIFT",
    "REFERENCED",
    "SHARD_RUN",
    "Shard",
    "ZswapTree",
    "entry_handle",
    "entry_length",
    "entry_pool",
    "make_entry",
]

#: Number of tree shards (a power of two); each has its own lock.
NR_SHARDS = 64
#: Consecutive offsets per shard run: a 16-page folio falls in one shard.
SHARD_RUN_SHIFT = 4
SHARD_RUN = 1 << SHARD_RUN_SHIFT

REFERENCED = 1
LEN_SHIFT = 1
LEN_MASK = (1 << 13) - 1
POOL_SHIFT = 14
POOL_ID_MASK = (1 << 16) - 1
HANDLE_SHIFT = 30


def make_entry(handle: int, length: int, pool_id: int) -> int:
    """A new entry, marked referenced (as zswap_store does)."""
    return (handle << HANDLE_SHIFT) | (pool_id << POOL_SHIFT) | (length << LEN_SHIFT) | REFERENCED


def entry_handle(entry: int) -> int:
    return entry >> HANDLE_SHIFT


def entry_length(entry: int) -> int:
    return (entry >> LEN_SHIFT) & LEN_MASK


def entry_pool(entry: int) -> int:
    return (entry >> POOL_SHIFT) & POOL_ID_MASK


@attrs.define(slots=True, eq=False)
class Shard:
    """One shard of the tree with its LRU order and the counters it owns.

    Counters that change with the tree (stores, loads, incompressible pages)
    live here and change under the shard lock, so the hot path takes no
    global lock; :meth:`Zswap.stats` sums them.
    """

    lock: threading.Lock = attrs.field(factory=threading.Lock)
    #: offset -> entry; insertion order is the LRU order (oldest first).
    entries: dict[int, int] = attrs.field(factory=dict)
    stored_incompressible: int = 0
    zswpout: int = 0
    zswpin: int = 0
    #: folio size in pages -> folios stored (the mTHP ``zswpout`` counters).
    folios: dict[int, int] = attrs.field(factory=dict)


_SHARD_MASK = NR_SHARDS - 1


def _incompressible(entry: int) -> bool:
    """Stored as-is (a whole page)."""
    return (entry >> LEN_SHIFT) & LEN_MASK == PAGE_SIZE


class ZswapTree:
    """The sharded tree (kernel: ``swap_zswap_tree`` + ``zswap_lru``): publish, erase, take.

    Every change keeps the shard's counters in step under its lock; freeing
    the objects of the entries it returns is the caller's business.
    """

    __slots__ = ("shards",)

    def __init__(self) -> None:
        self.shards: tuple[Shard, ...] = tuple(Shard() for _ in range(NR_SHARDS))

    def shard(self, offset: int) -> Shard:
        return self.shards[(offset >> SHARD_RUN_SHIFT) & _SHARD_MASK]

    def runs(self, offset: int, nr: int) -> Iterator[tuple[Shard, int, int]]:
        """(shard, first, end) runs of the range that share a shard (indexes into the folio)."""
        i = 0
        shards = self.shards
        while i < nr:
            off = offset + i
            end = min(nr, (((off >> SHARD_RUN_SHIFT) + 1) << SHARD_RUN_SHIFT) - offset)
            yield shards[(off >> SHARD_RUN_SHIFT) & _SHARD_MASK], i, end
            i = end

    def publish(self, offset: int, entries: list[int]) -> list[int]:
        """Insert a folio's entries at the LRU tail (kernel: ``xa_store``); return those they replaced."""
        nr = len(entries)
        stale: list[int] = []
        first = True
        for shard, i, end in self.runs(offset, nr):
            with shard.lock:
                tree = shard.entries
                incompressible = 0
                for j in range(i, end):
                    old = tree.pop(offset + j, None)
                    if old is not None:
                        stale.append(old)
                        if (old >> LEN_SHIFT) & LEN_MASK == PAGE_SIZE:
                            incompressible -= 1
                    e = entries[j]
                    tree[offset + j] = e
                    if (e >> LEN_SHIFT) & LEN_MASK == PAGE_SIZE:
                        incompressible += 1
                shard.stored_incompressible += incompressible
                shard.zswpout += end - i
                if first:
                    shard.folios[nr] = shard.folios.get(nr, 0) + 1
                    first = False
        return stale

    def erase(self, offset: int, nr: int) -> list[int]:
        """Remove the entries of ``offset..offset+nr-1`` (kernel: ``xa_erase``); return them."""
        stale: list[int] = []
        for shard, i, end in self.runs(offset, nr):
            with shard.lock:
                tree = shard.entries
                for j in range(i, end):
                    old = tree.pop(offset + j, None)
                    if old is not None:
                        stale.append(old)
                        if _incompressible(old):
                            shard.stored_incompressible -= 1
        return stale

    @staticmethod
    def take(shard: Shard, offset: int, entry: int) -> bool:
        """Remove ``entry`` at ``offset`` if it is still there; False if someone else changed it.

        The shrinker may have cleared the referenced bit meanwhile: that is
        still the same entry (kernel: ``xa_cmpxchg`` of the entry to NULL).
        Call under ``shard.lock``.
        """
        tree = shard.entries
        if tree.get(offset, 0) | REFERENCED != entry | REFERENCED:
            return False
        del tree[offset]
        if (entry >> LEN_SHIFT) & LEN_MASK == PAGE_SIZE:
            shard.stored_incompressible -= 1
        return True

    def __len__(self) -> int:
        return sum(len(s.entries) for s in self.shards)
