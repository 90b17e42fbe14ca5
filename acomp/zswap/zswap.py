"""The zswap frontend (kernel: ``mm/zswap.c``): a compressed cache for swap pages.

``store`` (``zswap_store``) compresses every page of a folio through the
current pool's per-thread context and publishes the entries in the tree;
``load`` (``zswap_load``) decompresses one page and frees its entry; the
shrinker writes the oldest entries back to the swap device.  The pieces live
next door: the pools list and failover in :mod:`~acomp.zswap.pools`, the
compression under a context in :mod:`~acomp.zswap.compress`, the tree and LRU
in :mod:`~acomp.zswap.lru`, writeback in :mod:`~acomp.zswap.shrinker`.

Locks, outermost first: a swap slot lock (:class:`SwapDevice` holds it around
a folio: the kernel's folio lock) -> the pools lock -> a pool's lock -> a
context lock (the per-CPU mutex, held while compressing and allocating, never
while touching the tree) -> a shard lock (the tree, held only to publish or
unpublish entries) -> a zsmalloc class lock.  Nothing takes them in another
order, and writeback only *tries* the slot lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import acomp
from acomp import PAGE_SIZE, InvalidArgument
from acomp.zswap.compress import zswap_compress_pages, zswap_decompress
from acomp.zswap.lru import HANDLE_SHIFT, POOL_ID_MASK, POOL_SHIFT, ZswapTree
from acomp.zswap.pool import Compressor, TransformFactory, ZswapPool
from acomp.zswap.pools import ZswapPools
from acomp.zswap.shrinker import Shrinker, WritebackTarget
from acomp.zswap.stats import ZswapEvents, collect_stats, verify

if TYPE_CHECKING:
    from acomp.driver import BufferLike

__all__ = ["WritebackTarget", "Zswap"]


def _default_factory(compressor: Compressor) -> acomp.Transform:
    return acomp.alloc(compressor)


def _byte_view(buf: BufferLike) -> memoryview:
    mv = memoryview(buf)
    if mv.ndim != 1 or mv.itemsize != 1:
        mv = mv.cast("B")
    return mv


class Zswap:
    """A zswap instance: pools, tree, LRU, shrinker and counters.

    ``total_ram`` is the simulated RAM in bytes the percentages refer to.
    ``writeback_enabled=False`` is the memcg ``zswap.writeback`` switch: the
    shrinker is off and incompressible pages are rejected (counted as
    ``reject_compress_poor`` / ``reject_compress_fail``) instead of stored as-is.
    ``shrink_async`` runs the shrinker on a worker thread (kernel: ``shrink_wq``);
    when False the store that queues it runs it before returning.
    ``batching=False`` gives every context one request even when the driver
    batches: zswap as it was before the seed (for comparisons).
    """

    def __init__(
        self,
        compressor: Compressor = "zstd",
        *,
        enabled: bool = True,
        max_pool_percent: int = 20,
        accept_threshold_percent: int = 90,
        shrinker_enabled: bool = True,
        total_ram: int = 1 << 30,
        swap: WritebackTarget | None = None,
        writeback_enabled: bool = True,
        shrink_async: bool = True,
        transform_factory: TransformFactory | None = None,
        batching: bool = True,
    ) -> None:
        if total_ram < PAGE_SIZE:
            raise InvalidArgument(f"total_ram must be at least one page, got {total_ram}")
        self.enabled = enabled
        self.max_pool_percent = max_pool_percent
        self.accept_threshold_percent = accept_threshold_percent
        self.shrinker_enabled = shrinker_enabled
        self.total_ram = total_ram
        self.swap = swap
        self.writeback_enabled = writeback_enabled
        self.shrink_async = shrink_async
        self.batching = batching
        self.events = ZswapEvents()
        self.tree = ZswapTree()
        #: The tree's shards (tools and tests reach entries through them).
        self._shards = self.tree.shards
        self._pool_list = ZswapPools(transform_factory or _default_factory, batching, self.events)
        #: pool id -> pool: how an entry finds its pool (shared with the pools list).
        self._pool_by_id = self._pool_list.by_id
        #: kernel: ``zswap_pool_reached_full``, the hysteresis of :meth:`_check_limits`.
        self._reached_full = False
        self.shrinker = Shrinker(self)
        first = self._pool_list.create(compressor)
        self._pool_list.list.append(first)

    # -- pools (kernel: zswap_pool_current, __zswap_param_set) ------------------------------

    @property
    def compressor(self) -> Compressor:
        return self._pool_list.current.compressor

    @property
    def pool(self) -> ZswapPool:
        """The current pool (head of the list)."""
        return self._pool_list.current

    def set_compressor(self, name: Compressor) -> None:
        """Make ``name`` (or a requirement) current; older pools live on while entries use them."""
        self._pool_list.set_current(name)

    def pools(self) -> list[ZswapPool]:
        """The pools, current first (a snapshot)."""
        return list(self._pool_list)

    # -- limits (kernel: zswap_check_limits) ------------------------------------------------

    def total_pages(self) -> int:
        """Pages held by every pool's allocator (kernel: ``zswap_total_pages``)."""
        return self._pool_list.total_pages()

    def max_pages(self) -> int:
        return self.total_ram * self.max_pool_percent // 100 // PAGE_SIZE

    def accept_thr_pages(self) -> int:
        return self.max_pages() * self.accept_threshold_percent // 100

    def _check_limits(self) -> bool:
        """True when stores are refused: the limit was hit and usage is still above the threshold."""
        cur = self.total_pages()
        if cur >= self.max_pages():
            self.events.add("pool_limit_hit")
            self._reached_full = True
        elif self._reached_full and cur <= self.accept_thr_pages():
            self._reached_full = False
        return self._reached_full

    # -- store (kernel: zswap_store, zswap_store_folio) --------------------------------------

    def store(self, offset: int, folio: BufferLike) -> bool:
        """Store every page of ``folio`` at ``offset..offset+n-1``, or none (False).

        On any failure the folio's old entries are erased too: the swap layer
        writes the whole folio elsewhere, so they would be stale.
        """
        mv = _byte_view(folio)
        nr, rem = divmod(mv.nbytes, PAGE_SIZE)
        if rem or nr == 0 or offset < 0:
            raise InvalidArgument(f"zswap_store: folio of {mv.nbytes} bytes at {offset}")
        if not self.enabled or self._check_limits():
            self.erase(offset, nr)
            self.events.add("rejected_folios")
            if self._reached_full:
                self.shrinker.queue()
            return False
        entries = self._compress_folio(mv, nr)
        if entries is None:
            self.erase(offset, nr)
            self.events.add("rejected_folios")
            return False
        stale = self.tree.publish(offset, entries)
        if stale:
            self._free_entries(stale)
        return True

    def _compress_folio(self, mv: memoryview, nr: int) -> list[int] | None:
        """Compress and allocate every page under this thread's context; None if any page fails."""
        pools = self._pool_list
        pool = pools.current
        if not pool.usable():
            pools.failover(pool)
            pool = pools.current
        out: list[int] = []
        try:
            while True:
                ctx = pool.get_ctx()
                if ctx is not None:
                    with ctx.lock:
                        if not pool.dead:
                            if zswap_compress_pages(pool, ctx, mv, nr, out, self.writeback_enabled, self.events):
                                return out
                            break
                pool = pools.current  # torn down under us: retry on the current pool
        except BaseException:
            # A driver raised past the core (KeyboardInterrupt, SystemExit...): free the
            # folio's objects so far, then let it propagate.
            self._free_entries(out)
            raise
        # All or nothing: release what this folio got.
        self._free_entries(out)
        return None

    def _free_entries(self, entries: Iterable[int]) -> None:
        """Free the objects of entries already out of the tree; an emptied old pool goes."""
        by_id = self._pool_by_id
        touched: set[ZswapPool] = set()
        for e in entries:
            pool = by_id[(e >> POOL_SHIFT) & POOL_ID_MASK]
            pool.zs.free(e >> HANDLE_SHIFT)
            touched.add(pool)
        for pool in touched:
            self._pool_list.maybe_destroy(pool)

    def erase(self, offset: int, nr: int = 1) -> int:
        """Drop the entries of ``offset..offset+nr-1``; return how many there were."""
        if offset < 0 or nr < 0:
            raise InvalidArgument(f"zswap: erase of {nr} slots at {offset}")
        stale = self.tree.erase(offset, nr)
        if stale:
            self._free_entries(stale)
        return len(stale)

    def invalidate(self, offset: int) -> bool:
        """The swap slot is freed (kernel: ``zswap_invalidate``); True if an entry went."""
        return self.erase(offset, 1) == 1

    # -- load (kernel: zswap_load) ----------------------------------------------------------

    def load(self, offset: int, out: BufferLike) -> bool:
        """Decompress the page at ``offset`` into ``out`` and free the entry; False if absent.

        ``out`` must be a writable buffer of at least a page (else
        ``InvalidArgument``, nothing counted).  A failed decompression counts
        ``decompress_fail`` and raises the :class:`AcompError`; the entry stays.
        """
        if offset < 0:
            raise InvalidArgument(f"zswap_load: offset {offset}")
        dst = _byte_view(out)
        if dst.readonly or dst.nbytes < PAGE_SIZE:
            raise InvalidArgument(f"zswap_load: out must be a writable page, got {dst.nbytes} bytes")
        shard = self.tree.shard(offset)
        entry = shard.entries.get(offset)
        if entry is None:
            return False
        pool = self._pool_by_id[(entry >> POOL_SHIFT) & POOL_ID_MASK]
        zswap_decompress(pool, entry, dst[:PAGE_SIZE], self.events)
        with shard.lock:
            if not ZswapTree.take(shard, offset, entry):
                return True  # invalidated meanwhile: not ours to free
            shard.zswpin += 1
        pool.zs.free(entry >> HANDLE_SHIFT)
        self._pool_list.maybe_destroy(pool)
        return True

    def _decompress(self, entry: int, out: BufferLike) -> ZswapPool:
        """Decompress ``entry`` into ``out`` through its own pool; return that pool (writeback)."""
        pool = self._pool_by_id[(entry >> POOL_SHIFT) & POOL_ID_MASK]
        zswap_decompress(pool, entry, out, self.events)
        return pool

    # -- shrinker ---------------------------------------------------------------------------

    def shrink(self, nr_pages: int) -> int:
        """Write back up to ``nr_pages`` of the oldest entries (second chance); return how many went."""
        return self.shrinker.shrink(nr_pages)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no background shrink is queued or running; False on timeout."""
        return self.shrinker.drain(timeout)

    def close(self) -> None:
        """Stop the shrinker thread and release every pool's transforms."""
        self.shrinker.close()
        self._pool_list.close()

    def __enter__(self) -> Zswap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- accounting -------------------------------------------------------------------------

    def stored_pages(self) -> int:
        return len(self.tree)

    def offsets(self) -> set[int]:
        """The swap offsets that have an entry (a snapshot; tests and tools)."""
        out: set[int] = set()
        for s in self._shards:
            with s.lock:
                out.update(s.entries)
        return out

    def pool_total_size(self) -> int:
        return self.total_pages() * PAGE_SIZE

    def stats(self) -> dict[str, object]:
        """Every debugfs and vmstat counter, per-folio-size stores and the pools."""
        return collect_stats(self)

    def verify(self) -> None:
        """Check that the counters agree with the tree and allocators (tests); AssertionError if not."""
        verify(self)
