"""The list of zswap pools (kernel: ``zswap_pools``, ``zswap_pools_lock``).

The head of the list is the current pool (``zswap_pool_current``): stores go
there.  Older pools stay while entries still use them and are torn down with
their last object (``zswap_pool_put`` -> ``__zswap_pool_empty``).  An entry
names its pool by id, so loads find it through :attr:`ZswapPools.by_id`.

Failover is not in the kernel: a pool chosen by an ``acomp.Requirement``
whose driver became unusable is replaced by a new pool for the same
requirement, which picks the next capable driver.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from acomp import AcompError, Requirement
from acomp.zswap.lru import POOL_ID_MASK
from acomp.zswap.pool import Compressor, TransformFactory, ZswapPool
from acomp.zswap.stats import ZswapEvents

__all__ = ["ZswapPools"]


class ZswapPools:
    """The pools of one zswap, current first, and the id -> pool map entries use."""

    def __init__(self, factory: TransformFactory, batching: bool, events: ZswapEvents) -> None:
        self._factory = factory
        self._batching = batching
        self._events = events
        #: kernel: ``zswap_pools_lock``; guards the list, the map and id allocation.
        self.lock = threading.Lock()
        #: kernel: ``zswap_pools``; ``[0]`` is the current pool.
        self.list: list[ZswapPool] = []
        #: pool id (as stored in an entry) -> pool, for every pool not torn down.
        self.by_id: dict[int, ZswapPool] = {}
        self._next_id = 0

    def __iter__(self) -> Iterator[ZswapPool]:
        return iter(list(self.list))

    @property
    def current(self) -> ZswapPool:
        """kernel: ``zswap_pool_current``."""
        return self.list[0]

    def create(self, compressor: Compressor) -> ZswapPool:
        """The one place a compressor (a name or a requirement) becomes a pool (``zswap_pool_create``).

        The pool gets an id but is not on the list yet; raises ``AlgorithmNotFound``.
        """
        with self.lock:
            pool_id = self._next_id
            while pool_id in self.by_id:
                pool_id = (pool_id + 1) & POOL_ID_MASK
            self._next_id = (pool_id + 1) & POOL_ID_MASK
            pool = ZswapPool(pool_id, compressor, self._factory, self._batching)
            self.by_id[pool_id] = pool
        return pool

    def set_current(self, compressor: Compressor) -> None:
        """Make ``compressor`` current, reusing a live pool of it (kernel: ``__zswap_param_set``)."""
        with self.lock:
            found = next((p for p in self.list if p.compressor == compressor and not p.dead), None)
            if found is not None:
                self.list.remove(found)
                self.list.insert(0, found)
                old = self.list[1:]
        if found is None:
            new = self.create(compressor)  # AlgorithmNotFound leaves the current pool in place
            with self.lock:
                old = list(self.list)
                self.list.insert(0, new)
        for p in old:
            self.maybe_destroy(p)

    def maybe_destroy(self, pool: ZswapPool) -> None:
        """Tear ``pool`` down if it is not current and holds no object (kernel: ``zswap_pool_put``)."""
        if pool is self.list[0] or pool.dead or pool.zs.nr_objs:
            return
        # Under the pools lock, so a set_current cannot revive it meanwhile.
        with self.lock:
            if pool is self.list[0] or not pool.try_destroy():
                return
            if pool in self.list:
                self.list.remove(pool)
            self.by_id.pop(pool.id, None)

    def failover(self, pool: ZswapPool) -> None:
        """The current pool's driver became unusable: move stores to the next capable driver.

        Only a pool chosen by requirement fails over (a name asks for one
        driver, as the kernel's parameter does).  Entries already stored keep
        their pool and load through any driver that reads their wire format.
        """
        if not isinstance(pool.compressor, Requirement) or pool is not self.list[0]:
            return
        try:
            new = self.create(pool.compressor)
        except AcompError:
            self._events.add("pool_failover_fail")
            return
        with self.lock:
            if pool is not self.list[0]:  # another thread failed over first
                new.try_destroy()
                self.by_id.pop(new.id, None)
                return
            self.list.insert(0, new)
        self._events.add("pool_failover")
        self.maybe_destroy(pool)

    def total_pages(self) -> int:
        """Pages held by every pool's allocator (kernel: ``zswap_total_pages``)."""
        return sum(p.zs.total_pages for p in self.list)

    def close(self) -> None:
        """Release every pool's transforms (the pools stay listed for stats)."""
        with self.lock:
            pools = list(self.list)
        for p in pools:
            for ctx in p.ctxs:
                ctx.tfm.close()
