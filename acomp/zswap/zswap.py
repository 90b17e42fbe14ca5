"""The zswap frontend (kernel: ``mm/zswap.c``): a compressed cache for swap pages.

``store`` compresses every page of a folio through the current pool's
per-thread context (in batches when the transform batches, as in the seed's
``zswap_compress_folio``), packs the results into zsmalloc and publishes the
entries in the tree; ``load`` decompresses one page and frees its entry;
the shrinker writes the oldest entries back to the swap device.

Locks, outermost first: a swap slot lock (:class:`SwapDevice` holds it around
a folio: the kernel's folio lock) -> the pools lock -> a pool's lock -> a
context lock (the per-CPU mutex, held while compressing and allocating, never
while touching the tree) -> a shard lock (the tree, held only to publish or
unpublish entries) -> a zsmalloc class lock.  Nothing takes them in another
order, and writeback only *tries* the slot lock.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import acomp
from acomp import PAGE_SIZE, AcompError, InvalidArgument
from acomp.zswap import lru
from acomp.zswap.lru import NR_SHARDS, SHARD_RUN_SHIFT, Shard
from acomp.zswap.pool import AcompCtx, Compressor, TransformFactory, ZswapPool
from acomp.zswap.shrinker import Shrinker, WritebackTarget
from acomp.zswap.stats import ZswapEvents, collect_stats, verify

if TYPE_CHECKING:
    from acomp import BufferLike

__all__ = ["WritebackTarget", "Zswap"]

_SHARD_MASK = NR_SHARDS - 1
_REF = lru.REFERENCED
_LEN_SHIFT = lru.LEN_SHIFT
_LEN_MASK = lru.LEN_MASK
_POOL_SHIFT = lru.POOL_SHIFT
_POOL_MASK = lru.POOL_ID_MASK
_HANDLE_SHIFT = lru.HANDLE_SHIFT


def _default_factory(compressor: Compressor) -> acomp.Transform:
    return acomp.alloc(compressor)


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
        self._factory = transform_factory or _default_factory
        self.batching = batching
        self.events = ZswapEvents()
        self._shards = tuple(Shard() for _ in range(NR_SHARDS))
        self._pools_lock = threading.Lock()
        self._pools: list[ZswapPool] = []
        self._pool_by_id: dict[int, ZswapPool] = {}
        self._next_pool_id = 0
        self._reached_full = False
        self.shrinker = Shrinker(self)
        self._pools.insert(0, self._create_pool(compressor))

    # -- pools (kernel: zswap_pool_create, __zswap_param_set) ---------------------------

    def _create_pool(self, compressor: Compressor) -> ZswapPool:
        """The one place a compressor (a name or an ``acomp.Requirement``) becomes a pool."""
        with self._pools_lock:
            pool_id = self._next_pool_id
            while pool_id in self._pool_by_id:
                pool_id = (pool_id + 1) & _POOL_MASK
            self._next_pool_id = (pool_id + 1) & _POOL_MASK
            pool = ZswapPool(pool_id, compressor, self._factory, self.batching)
            self._pool_by_id[pool_id] = pool
        return pool

    @property
    def compressor(self) -> Compressor:
        return self._pools[0].compressor

    @property
    def pool(self) -> ZswapPool:
        """The current pool (head of the list)."""
        return self._pools[0]

    def set_compressor(self, name: Compressor) -> None:
        """Make ``name`` (or a requirement) current; older pools live on while entries use them."""
        with self._pools_lock:
            for pool in self._pools:
                if pool.compressor == name and not pool.dead:
                    self._pools.remove(pool)
                    self._pools.insert(0, pool)
                    old = self._pools[1:]
                    break
            else:
                pool = None
                old = []
        if pool is None:
            new = self._create_pool(name)  # AlgorithmNotFound leaves the current pool in place
            with self._pools_lock:
                old = list(self._pools)
                self._pools.insert(0, new)
        for p in old:
            self._maybe_destroy(p)

    def pools(self) -> list[ZswapPool]:
        return list(self._pools)

    def _maybe_destroy(self, pool: ZswapPool) -> None:
        if pool is self._pools[0] or pool.dead or pool.zs.nr_objs:
            return
        # Under the pools lock, so a set_compressor cannot revive it meanwhile.
        with self._pools_lock:
            if pool is self._pools[0] or not pool.try_destroy():
                return
            if pool in self._pools:
                self._pools.remove(pool)
            self._pool_by_id.pop(pool.id, None)

    # -- limits (kernel: zswap_check_limits) ------------------------------------------------

    def total_pages(self) -> int:
        """Pages held by every pool's allocator (kernel: ``zswap_total_pages``)."""
        return sum(p.zs.total_pages for p in self._pools)

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

    # -- store (kernel: zswap_store, zswap_store_folio, zswap_compress_folio) ---------------

    def store(self, offset: int, folio: BufferLike) -> bool:
        """Store every page of ``folio`` at ``offset..offset+n-1``, or none (False).

        On any failure the folio's old entries are erased too: the swap layer
        writes the whole folio elsewhere, so they would be stale.
        """
        mv = memoryview(folio)
        if mv.ndim != 1 or mv.itemsize != 1:
            mv = mv.cast("B")
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
        stale = self._publish(offset, entries)
        if stale:
            self._free_entries(stale)
        return True

    def _failover(self, pool: ZswapPool) -> None:
        """The current pool's driver became unusable: move stores to the next capable driver.

        Only a pool chosen by requirement fails over (a name asks for one
        driver, as the kernel's parameter does).  Entries already stored keep
        their pool and load through any driver that reads their wire format.
        """
        if not isinstance(pool.compressor, acomp.Requirement) or pool is not self._pools[0]:
            return
        try:
            new = self._create_pool(pool.compressor)
        except AcompError:
            self.events.add("pool_failover_fail")
            return
        with self._pools_lock:
            if pool is not self._pools[0]:  # another thread failed over first
                new.try_destroy()
                self._pool_by_id.pop(new.id, None)
                return
            self._pools.insert(0, new)
        self.events.add("pool_failover")
        self._maybe_destroy(pool)

    def _compress_folio(self, mv: memoryview, nr: int) -> list[int] | None:
        """Compress and allocate every page under this thread's context; None if any page fails."""
        pool = self._pools[0]
        if not pool.usable():
            self._failover(pool)
            pool = self._pools[0]
        out: list[int] = []
        try:
            while True:
                ctx = pool.get_ctx()
                if ctx is not None:
                    with ctx.lock:
                        if not pool.dead:
                            if self._compress_pages(pool, ctx, mv, nr, out):
                                return out
                            break
                pool = self._pools[0]  # torn down under us: retry on the current pool
        except BaseException:
            # A driver raised past the core (KeyboardInterrupt, SystemExit...): free the
            # folio's objects so far, then let it propagate.
            self._free_entries(out)
            raise
        # All or nothing: release what this folio got.
        self._free_entries(out)
        return None

    def _compress_pages(self, pool: ZswapPool, ctx: AcompCtx, mv: memoryview, nr: int, out: list[int]) -> bool:
        tfm = ctx.tfm
        reqs = ctx.reqs
        zs_store = pool.zs.store
        tag = pool.id << _POOL_SHIFT | _REF
        as_is = self.writeback_enabled
        step = len(reqs)
        if step > 1:
            for start in range(0, nr, step):
                n = min(step, nr - start)
                batch = reqs if n == step else reqs[:n]
                base = start * PAGE_SIZE
                for j, req in enumerate(batch):
                    req.src = mv[base + j * PAGE_SIZE : base + (j + 1) * PAGE_SIZE]
                tfm.batch_compress(batch)
                for req in batch:
                    dlen = req.dlen
                    if req.err is None and 0 < dlen < PAGE_SIZE:
                        h = zs_store(memoryview(req.dst)[:dlen])
                    elif as_is:
                        dlen = PAGE_SIZE
                        h = zs_store(req.src)
                    else:
                        self._count_reject(req.err)
                        return False
                    out.append(h << _HANDLE_SHIFT | dlen << _LEN_SHIFT | tag)
            return True
        req = reqs[0]
        dst = memoryview(req.dst)
        for i in range(nr):
            page = mv[i * PAGE_SIZE : (i + 1) * PAGE_SIZE]
            req.src = page
            try:
                dlen = tfm.compress(req)
            except AcompError:
                dlen = PAGE_SIZE
            if 0 < dlen < PAGE_SIZE:
                h = zs_store(dst[:dlen])
            elif as_is:
                dlen = PAGE_SIZE
                h = zs_store(page)
            else:
                self._count_reject(req.err)
                return False
            out.append(h << _HANDLE_SHIFT | dlen << _LEN_SHIFT | tag)
        return True

    def _count_reject(self, err: AcompError | None) -> None:
        if err is None or err.errno == errno.ENOSPC:  # or it did not shrink below a page
            self.events.add("reject_compress_poor")
        else:
            self.events.add("reject_compress_fail")

    def _runs(self, offset: int, nr: int) -> Iterator[tuple[Shard, int, int]]:
        """(shard, first, end) runs of the range that share a shard (indexes into the folio)."""
        i = 0
        shards = self._shards
        while i < nr:
            off = offset + i
            end = min(nr, (((off >> SHARD_RUN_SHIFT) + 1) << SHARD_RUN_SHIFT) - offset)
            yield shards[(off >> SHARD_RUN_SHIFT) & _SHARD_MASK], i, end
            i = end

    def _publish(self, offset: int, entries: list[int]) -> list[int]:
        """Insert a folio's entries at the LRU tail; return the entries they replaced."""
        nr = len(entries)
        stale: list[int] = []
        first = True
        for shard, i, end in self._runs(offset, nr):
            with shard.lock:
                tree = shard.entries
                incompressible = 0
                for j in range(i, end):
                    old = tree.pop(offset + j, None)
                    if old is not None:
                        stale.append(old)
                        if (old >> _LEN_SHIFT) & _LEN_MASK == PAGE_SIZE:
                            incompressible -= 1
                    e = entries[j]
                    tree[offset + j] = e
                    if (e >> _LEN_SHIFT) & _LEN_MASK == PAGE_SIZE:
                        incompressible += 1
                shard.stored_incompressible += incompressible
                shard.zswpout += end - i
                if first:
                    shard.folios[nr] = shard.folios.get(nr, 0) + 1
                    first = False
        return stale

    def _free_entries(self, entries: Iterable[int]) -> None:
        by_id = self._pool_by_id
        touched: set[ZswapPool] = set()
        for e in entries:
            pool = by_id[(e >> _POOL_SHIFT) & _POOL_MASK]
            pool.zs.free(e >> _HANDLE_SHIFT)
            touched.add(pool)
        current = self._pools[0]
        for pool in touched:
            if pool is not current:
                self._maybe_destroy(pool)

    def erase(self, offset: int, nr: int = 1) -> int:
        """Drop the entries of ``offset..offset+nr-1``; return how many there were."""
        stale: list[int] = []
        for shard, i, end in self._runs(offset, nr):
            with shard.lock:
                tree = shard.entries
                for j in range(i, end):
                    old = tree.pop(offset + j, None)
                    if old is not None:
                        stale.append(old)
                        if (old >> _LEN_SHIFT) & _LEN_MASK == PAGE_SIZE:
                            shard.stored_incompressible -= 1
        if stale:
            self._free_entries(stale)
        return len(stale)

    def invalidate(self, offset: int) -> bool:
        """The swap slot is freed (kernel: ``zswap_invalidate``); True if an entry went."""
        return self.erase(offset, 1) == 1

    # -- load (kernel: zswap_load, zswap_decompress) ----------------------------------------

    def load(self, offset: int, out: BufferLike) -> bool:
        """Decompress the page at ``offset`` into ``out`` and free the entry; False if absent.

        A failed decompression counts ``decompress_fail`` and raises the
        :class:`AcompError`; the entry stays.
        """
        shard = self._shards[(offset >> SHARD_RUN_SHIFT) & _SHARD_MASK]
        entry = shard.entries.get(offset)
        if entry is None:
            return False
        pool = self._decompress(entry, out)
        with shard.lock:
            # The shrinker may have cleared the referenced bit meanwhile; any
            # other change means someone else invalidated it: not ours to free.
            if shard.entries.get(offset, 0) | _REF != entry | _REF:
                return True
            del shard.entries[offset]
            if (entry >> _LEN_SHIFT) & _LEN_MASK == PAGE_SIZE:
                shard.stored_incompressible -= 1
            shard.zswpin += 1
        pool.zs.free(entry >> _HANDLE_SHIFT)
        if pool is not self._pools[0]:
            self._maybe_destroy(pool)
        return True

    def _decompress(self, entry: int, out: BufferLike) -> ZswapPool:
        """Decompress ``entry`` into ``out`` through its own pool; return that pool."""
        pool = self._pool_by_id[(entry >> _POOL_SHIFT) & _POOL_MASK]
        length = (entry >> _LEN_SHIFT) & _LEN_MASK
        src = pool.zs.view(entry >> _HANDLE_SHIFT, length)
        if length == PAGE_SIZE:
            memoryview(out).cast("B")[:PAGE_SIZE] = src
            return pool
        ctx = pool.get_ctx()
        if ctx is None:  # cannot happen while the entry holds the pool
            raise InvalidArgument(f"zswap: pool {pool.id} torn down under a live entry")
        with ctx.lock:
            req = ctx.reqs[0]
            saved = req.dst
            req.src = src
            req.dst = out
            try:
                dlen = self._decompress_one(pool, ctx.tfm, req)
                if dlen != PAGE_SIZE:
                    raise acomp.InvalidData(
                        f"zswap: driver {ctx.tfm.driver_name!r} (plugin {ctx.tfm.record.plugin!r}) "
                        f"decompressed {dlen} bytes, expected {PAGE_SIZE}"
                    )
            except AcompError:
                self.events.add("decompress_fail")
                raise
            finally:
                req.dst = saved
        return pool

    def _decompress_one(self, pool: ZswapPool, tfm: acomp.Transform, req: acomp.Request) -> int:
        """Decompress through the pool's driver; on its error, through another reader of its wire format."""
        try:
            return tfm.decompress(req)
        except AcompError as exc:
            # Any driver of the same wire format can read the page: a device
            # error (or a disabled device) must not cost the page.
            reader = pool.reader()
            if reader is None:
                if pool.usable():
                    raise
                raise acomp.NotSupported(
                    f"zswap: {pool.driver_name} is unusable and no driver reads {pool.wire_format}"
                ) from exc
        self.events.add("decompress_failover")
        return reader.decompress(req)

    def shrink(self, nr_pages: int) -> int:
        """Write back up to ``nr_pages`` of the oldest entries (second chance); return how many went."""
        return self.shrinker.shrink(nr_pages)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no background shrink is queued or running; False on timeout."""
        return self.shrinker.drain(timeout)

    def close(self) -> None:
        """Stop the shrinker thread and release every pool's transforms."""
        self.shrinker.close()
        with self._pools_lock:
            pools = list(self._pools)
        for p in pools:
            for ctx in p.ctxs:
                ctx.tfm.close()

    def __enter__(self) -> Zswap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- accounting -------------------------------------------------------------------------

    def stored_pages(self) -> int:
        return sum(len(s.entries) for s in self._shards)

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
