"""The zswap frontend (kernel: ``mm/zswap.c``): a compressed cache for swap pages.

``store`` (``zswap_store``) compresses every page of a folio through the
current pool's context for the caller's CPU and publishes the entries in the
tree, or refuses the whole folio; ``load`` (``zswap_load``) decompresses one
page and frees its entry (exclusive loads); writeback lives in
:mod:`~acomp.zswap.shrinker`, the pools in :mod:`~acomp.zswap.pool`, the work
under a context in :mod:`~acomp.zswap.compress`, the tree and LRU in
:mod:`~acomp.zswap.tree`.

Locks, outermost first: a swap slot lock (:class:`SwapDevice` holds it around
a folio: the kernel's folio lock) -> the pools lock -> a context mutex (held
while compressing and allocating, per page or per batch) -> a zsmalloc class
lock; the tree lock is taken alone.  Writeback only *tries* the slot lock.

``Zswap`` is also safe to use without a swap device in front: same-offset
races between ``load``, ``store`` and ``invalidate`` never hand back another
slot's page (a load re-checks, by identity, that the entry it read is still
the tree's before it frees anything; otherwise it looks again).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import acomp
from acomp import PAGE_SIZE, AcompError, InvalidArgument
from acomp.request import byte_view
from acomp.zswap.compress import zswap_compress_folio, zswap_decompress
from acomp.zswap.cpu import Cpus
from acomp.zswap.pool import Compressor, TransformFactory, ZswapPool, ZswapPools
from acomp.zswap.shrinker import Shrinker, WritebackTarget
from acomp.zswap.stats import ZswapEvents, collect_stats, verify
from acomp.zswap.tree import ZswapTree

if TYPE_CHECKING:
    from acomp.driver import BufferLike
    from acomp.zswap.entry import ZswapEntry

__all__ = ["WritebackTarget", "Zswap"]


def _default_factory(compressor: Compressor) -> acomp.Transform:
    return acomp.alloc(compressor)


def _check_int(name: str, value: object, lo: int, hi: int | None = None) -> int:
    if type(value) is not int or value < lo or (hi is not None and value > hi):
        bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise InvalidArgument(f"{name} must be an int {bound}, got {value!r}")
    return value


def _check_bool(name: str, value: object) -> bool:
    if type(value) is not bool:
        raise InvalidArgument(f"{name} must be a bool, got {value!r}")
    return value


def _release(stop_worker: Callable[[], None], pools: ZswapPools) -> None:
    """What a dropped zswap leaves to the collector: its worker thread and its transforms."""
    stop_worker()
    pools.close()


class Zswap:
    """A zswap instance: pools, tree, LRU, shrinker and counters.

    ``total_ram`` is the simulated RAM in bytes the percentages refer to.
    ``writeback_enabled=False`` is the memcg ``memory.zswap.writeback`` switch.
    ``shrinker_enabled`` (kernel default off) gates only the memory-pressure
    shrinker (:meth:`shrinker_count`, :meth:`shrinker_scan`); the limit-driven
    worker writes back regardless.  ``shrink_async`` runs that worker on a
    thread (kernel: ``shrink_wq``); when False the store that queues it runs
    it before returning.  ``store_incompressible=True`` stores a page that
    does not compress as-is (mainline >= 6.18); by default such a page
    rejects its folio (the seed's v5).  ``nr_cpus`` is the modelled machine's
    CPU count (default: the CPUs this process may run on); every pool has a
    context per CPU.  ``batching=False`` gives every context one request even
    when the driver batches: zswap as it was before the seed (acomp only).
    """

    def __init__(
        self,
        compressor: Compressor = "zstd",
        *,
        enabled: bool = True,
        max_pool_percent: int = 20,
        accept_threshold_percent: int = 90,
        shrinker_enabled: bool = False,
        total_ram: int = 1 << 30,
        swap: WritebackTarget | None = None,
        writeback_enabled: bool = True,
        shrink_async: bool = True,
        transform_factory: TransformFactory | None = None,
        batching: bool = True,
        store_incompressible: bool = False,
        nr_cpus: int | None = None,
    ) -> None:
        self._total_ram = _check_int("total_ram", total_ram, PAGE_SIZE)
        self._max_pool_percent = _check_int("max_pool_percent", max_pool_percent, 0, 100)
        self._accept_threshold_percent = _check_int("accept_threshold_percent", accept_threshold_percent, 0, 100)
        self._limits()
        self.enabled = _check_bool("enabled", enabled)
        self.shrinker_enabled = _check_bool("shrinker_enabled", shrinker_enabled)
        self.writeback_enabled = _check_bool("writeback_enabled", writeback_enabled)
        self.shrink_async = _check_bool("shrink_async", shrink_async)
        self._as_is = _check_bool("store_incompressible", store_incompressible)
        self.batching = _check_bool("batching", batching)
        self.swap = swap
        #: The modelled machine's CPUs (:meth:`Cpus.bind` pins a thread).
        self.cpus = Cpus(nr_cpus)
        self.events = ZswapEvents()
        #: The tree and LRU; a page stored as-is has length ``PAGE_SIZE`` only under 6.18's policy.
        self.tree = ZswapTree(PAGE_SIZE if self._as_is else 0)
        self._pool_list = ZswapPools(transform_factory or _default_factory, self.cpus, batching, self.events)
        #: kernel: ``zswap_pool_reached_full``, the hysteresis of :meth:`_check_limits`.
        self._reached_full = False
        self._closed = False
        self.shrinker = Shrinker(self)
        self._pool_list.list.append(self._pool_list.create(compressor))
        self._finalizer = weakref.finalize(self, _release, self.shrinker.stopper(), self._pool_list)

    # -- parameters -------------------------------------------------------------------

    @property
    def max_pool_percent(self) -> int:
        return self._max_pool_percent

    @max_pool_percent.setter
    def max_pool_percent(self, value: int) -> None:
        self._max_pool_percent = _check_int("max_pool_percent", value, 0, 100)
        self._limits()

    @property
    def accept_threshold_percent(self) -> int:
        return self._accept_threshold_percent

    @accept_threshold_percent.setter
    def accept_threshold_percent(self, value: int) -> None:
        self._accept_threshold_percent = _check_int("accept_threshold_percent", value, 0, 100)
        self._limits()

    @property
    def total_ram(self) -> int:
        return self._total_ram

    @total_ram.setter
    def total_ram(self, value: int) -> None:
        self._total_ram = _check_int("total_ram", value, PAGE_SIZE)
        self._limits()

    @property
    def store_incompressible(self) -> bool:
        """Pages that do not compress are stored as-is (mainline >= 6.18), fixed at creation."""
        return self._as_is

    def _limits(self) -> None:
        self._max_pages = self._total_ram // PAGE_SIZE * self._max_pool_percent // 100
        self._accept_pages = self._max_pages * self._accept_threshold_percent // 100

    # -- pools (kernel: zswap_pool_current, zswap_compressor_param_set) -------------------

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
        """kernel: ``zswap_max_pages``."""
        return self._max_pages

    def accept_thr_pages(self) -> int:
        """kernel: ``zswap_accept_thr_pages``."""
        return self._accept_pages

    @property
    def pool_reached_full(self) -> bool:
        """kernel: ``zswap_pool_reached_full``."""
        return self._reached_full

    def _check_limits(self) -> bool:
        """True when stores are refused: the limit was hit and usage is still above the threshold."""
        cur = self._pool_list.total_pages()
        if cur >= self._max_pages:
            self.events.add("pool_limit_hit")
            self._reached_full = True
        elif self._reached_full and cur <= self._accept_pages:
            self._reached_full = False
        return self._reached_full

    # -- store (kernel: zswap_store) --------------------------------------------------------

    def store(self, offset: int, folio: BufferLike) -> bool:
        """Store every page of ``folio`` at ``offset..offset+n-1``, or none (False).

        On any failure the folio's old entries are erased too: the swap layer
        writes the whole folio elsewhere, so they would be stale.
        """
        mv = byte_view(folio, "folio")
        nr, rem = divmod(mv.nbytes, PAGE_SIZE)
        if rem or nr == 0 or type(offset) is not int or offset < 0:
            raise InvalidArgument(f"zswap_store: folio of {mv.nbytes} bytes at offset {offset!r}")
        if self._closed:
            raise InvalidArgument("zswap_store: this zswap is closed")
        if not self.enabled:
            self.erase(offset, nr)
            self.events.add("rejected_folios")
            return False
        entries = None
        if not self._check_limits():
            pools = self._pool_list
            pool = pools.current_get()
            try:
                entries = zswap_compress_folio(pool, mv, nr, self._as_is, self.writeback_enabled, self.events)
            finally:
                pools.put(pool)
        if entries is None:
            self.erase(offset, nr)
            self.events.add("rejected_folios")
            if self._reached_full:
                self.shrinker.queue()
            return False
        stale = self.tree.publish(offset, entries)
        if stale:
            self.free_entries(stale)
        return True

    def free_entries(self, entries: Iterable[ZswapEntry]) -> None:
        """Free the objects of entries already out of the tree; an emptied old pool goes."""
        touched: set[ZswapPool] = set()
        for e in entries:
            e.pool.zs.free(e.handle)
            touched.add(e.pool)
        for pool in touched:
            self._pool_list.maybe_destroy(pool)

    def erase(self, offset: int, nr: int = 1) -> int:
        """Drop the entries of ``offset..offset+nr-1``; return how many there were."""
        if type(offset) is not int or type(nr) is not int or offset < 0 or nr < 0:
            raise InvalidArgument(f"zswap: erase of {nr!r} slots at {offset!r}")
        stale = self.tree.erase(offset, nr)
        if stale:
            self.free_entries(stale)
        return len(stale)

    def invalidate(self, offset: int) -> bool:
        """The swap slot is freed (kernel: ``zswap_invalidate``); True if an entry went."""
        return self.erase(offset, 1) == 1

    # -- load (kernel: zswap_load) ----------------------------------------------------------

    def load(self, offset: int, out: BufferLike) -> bool:
        """Decompress the page at ``offset`` into ``out`` and free the entry; False if absent.

        ``out`` must be a writable, C-contiguous buffer of at least a page
        (else ``InvalidArgument`` naming it, nothing counted).  A failed
        decompression counts ``decompress_fail`` and raises the
        :class:`AcompError`; the entry stays.  When False is returned the
        contents of ``out`` are unspecified (a racing store or invalidate may
        have been read and discarded).
        """
        if type(offset) is not int or offset < 0:
            raise InvalidArgument(f"zswap_load: offset must be a non-negative int, got {offset!r}")
        if type(out) is bytearray and len(out) == PAGE_SIZE:
            dst: BufferLike = out
        else:
            dst = byte_view(out, "out")
            if dst.readonly or dst.nbytes < PAGE_SIZE:
                raise InvalidArgument(f"zswap_load: out must be a writable page, got {dst.nbytes} bytes")
            dst = dst[:PAGE_SIZE]
        tree = self.tree
        entries = tree.entries
        raw = tree.raw_length
        while True:
            entry = entries.get(offset)
            if entry is None:
                return False
            pool = entry.pool
            try:
                zswap_decompress(pool, entry, dst, raw, self.events)
            except AcompError:
                if entries.get(offset) is not entry:
                    continue  # read while it was being freed: look again
                self.events.add("decompress_fail")
                raise
            lock = tree.lock
            lock.acquire()  # tree.take, inline: the per-page path (acquire/release: 76 vs 165 ns)
            try:
                if entries.get(offset) is entry:
                    del entries[offset]
                    if entry.length == raw:
                        tree.stored_incompressible -= 1
                    tree.zswpin += 1
                    break
            finally:
                lock.release()
        pool.zs.free(entry.handle)
        if pool is not self._pool_list.list[0]:
            self._pool_list.maybe_destroy(pool)
        return True

    def entry(self, offset: int) -> ZswapEntry | None:
        """The entry at ``offset``, if any (a snapshot; tests and tools)."""
        return self.tree.entries.get(offset)

    # -- writeback (see acomp.zswap.shrinker) -------------------------------------------

    def shrinker_count(self) -> int:
        """Entries worth writing back under memory pressure (kernel: ``zswap_shrinker_count``).

        0 while ``shrinker_enabled`` or writeback is off.
        """
        return self.shrinker.count()

    def shrinker_scan(self, nr_to_scan: int) -> int:
        """Write back from the LRU head (kernel: ``zswap_shrinker_scan``); pages, or ``SHRINK_STOP``."""
        return self.shrinker.scan(_check_int("nr_to_scan", nr_to_scan, 0))

    def shrink(self, nr_pages: int) -> int:
        """Write back up to ``nr_pages`` of the oldest entries (second chance); return how many went.

        acomp only: an explicit call, whatever ``shrinker_enabled`` says.
        """
        return self.shrinker.shrink(_check_int("nr_pages", nr_pages, 0))

    def compact(self) -> int:
        """Compact every pool's zsmalloc; pages freed (kernel: zsmalloc's shrinker, ``zs_compact``)."""
        return sum(p.zs.compact() for p in self._pool_list)

    def folio_swapin(self) -> None:
        """A page came back from the swap device, not zswap (kernel: ``zswap_folio_swapin``).

        Protects that many LRU entries from the next :meth:`shrinker_count`.
        """
        with self.tree.lock:
            self.shrinker.nr_disk_swapins += 1

    @property
    def nr_disk_swapins(self) -> int:
        """kernel: the lruvec's ``nr_disk_swapins``, not yet consumed by the shrinker."""
        return self.shrinker.nr_disk_swapins

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no background shrink is queued or running; False on timeout."""
        return self.shrinker.drain(timeout)

    def close(self) -> None:
        """Stop the shrinker thread, drop every entry, release the transforms and the pools' memory.

        Afterwards ``load`` finds nothing and ``store`` raises ``InvalidArgument``.
        """
        self._closed = True
        self.shrinker.close()
        with self.tree.lock:
            self.tree.entries.clear()
            self.tree.stored_incompressible = 0
        self._finalizer()

    def __enter__(self) -> Zswap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- accounting -------------------------------------------------------------------------

    def stored_pages(self) -> int:
        return len(self.tree)

    def offsets(self) -> set[int]:
        """The swap offsets that have an entry (a snapshot; tests and tools)."""
        with self.tree.lock:
            return set(self.tree.entries)

    def pool_total_size(self) -> int:
        """kernel: ``pool_total_size``: the allocators' pages, in bytes (no metadata: see stats)."""
        return self.total_pages() * PAGE_SIZE

    def stats(self) -> dict[str, object]:
        """Every debugfs and vmstat counter, per-folio-size stores, a metadata estimate, the pools."""
        return collect_stats(self)

    def verify(self) -> None:
        """Check that the counters agree with the tree and allocators (tests); AssertionError if not."""
        verify(self)
