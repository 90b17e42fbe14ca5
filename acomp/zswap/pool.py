"""zswap pools, their per-CPU compression contexts, and the list of pools.

Kernel: ``struct zswap_pool`` {zsmalloc pool, per-CPU ``crypto_acomp_ctx``,
tfm name, percpu_ref} and ``struct crypto_acomp_ctx`` {acomp, reqs, buffers,
nr_reqs, mutex}; ``zswap_pools`` with ``zswap_pools_lock``, whose head is the
current pool (``zswap_pool_current``).

A pool has one context per CPU of the modelled machine
(:class:`~acomp.zswap.cpu.Cpus`), each with its own transform, requests and
mutex, all allocated when the pool is created (the kernel's CPU-hotplug
``zswap_cpu_comp_prepare`` for every online CPU).  A thread uses the context
of the CPU it runs on, so threads on one CPU share a mutex.

Older pools stay on the list while entries use them and are torn down with
their last object and their last user (``zswap_pool_put`` ->
``__zswap_pool_empty``); a store holds the pool for the whole folio
(``zswap_pool_current_get``).

Failover is not in the kernel (acomp only): a pool chosen by an
``acomp.Requirement`` whose driver became unusable is replaced by a new pool
for the same requirement, which picks the next capable driver.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Union

import attrs

import acomp
from acomp import PAGE_SIZE, AcompError, Request, Requirement, Transform
from acomp.zswap.cpu import Cpus
from acomp.zswap.stats import ZswapEvents
from acomp.zswap.zsmalloc import ZsPool

__all__ = [
    "ZSWAP_MAX_BATCH_SIZE",
    "AcompCtx",
    "Compressor",
    "TransformFactory",
    "ZswapPool",
    "ZswapPools",
    "nr_reqs_for",
]

#: Upper bound on the requests and buffers of one context (kernel: ``ZSWAP_MAX_BATCH_SIZE``).
ZSWAP_MAX_BATCH_SIZE = 8

#: What a pool is asked for: a name (algorithm or driver) or a capability requirement.
Compressor = Union[str, Requirement]

#: Allocates a transform for a compressor (``acomp.alloc`` unless a test swaps it).
TransformFactory = Callable[[Compressor], Transform]


@attrs.define(slots=True, eq=False)
class AcompCtx:
    """One CPU's compression context (kernel: ``struct crypto_acomp_ctx``)."""

    cpu: int
    tfm: Transform
    #: ``nr_reqs`` compression requests, each with its ``PAGE_SIZE`` buffer as ``dst``
    #: (kernel: ``acomp_ctx->reqs``).
    reqs: list[Request]
    #: Each request's ``dst`` (kernel: ``acomp_ctx->buffers``): ``buffers[i][:dlen]`` is the
    #: one copy of a compressed page, the object zsmalloc keeps.
    buffers: list[bytearray]
    #: The request loads decompress through (its ``dst`` is the caller's page).
    dreq: Request
    #: kernel: ``acomp_ctx->mutex``: held per page, or per batch when batching (v5).
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    @property
    def nr_reqs(self) -> int:
        return len(self.reqs)


def nr_reqs_for(tfm: Transform, batching: bool = True) -> int:
    """Requests per context: batching resources only for async batching (the seed's patch 10)."""
    if batching and tfm.has_async_batching:
        return max(1, min(ZSWAP_MAX_BATCH_SIZE, tfm.batch_size))
    return 1


def _create_ctx(cpu: int, tfm: Transform, batching: bool) -> AcompCtx:
    """kernel: ``zswap_cpu_comp_prepare``."""
    buffers = [bytearray(PAGE_SIZE) for _ in range(nr_reqs_for(tfm, batching))]
    reqs = [Request(b"", buf) for buf in buffers]
    return AcompCtx(cpu=cpu, tfm=tfm, reqs=reqs, buffers=buffers, dreq=Request(b"", None))


class ZswapPool:
    """A compressor with its per-CPU contexts and its zsmalloc pool (kernel: ``struct zswap_pool``)."""

    __slots__ = ("_reader", "batching", "compressor", "cpus", "ctxs", "dead", "id", "reason", "refs", "zs")

    def __init__(
        self, pool_id: int, compressor: Compressor, factory: TransformFactory, cpus: Cpus, batching: bool
    ) -> None:
        # The first transform both checks the name (kernel: crypto_has_acomp)
        # and becomes CPU 0's; every other CPU gets the driver it got, even if
        # a requirement would now pick another.
        first = factory(compressor)
        tfms = [first]
        try:
            for _ in range(1, cpus.nr):
                tfms.append(factory(first.driver_name))
        except BaseException:
            for t in tfms:
                t.close()
            raise
        self.id = pool_id
        self.compressor = compressor
        #: False: one request per context even for a batching driver (the pre-seed kernel).
        self.batching = batching
        #: Why this driver: the name asked for, or the requirement it met best.
        if isinstance(compressor, Requirement):
            self.reason = f"best driver meeting [{compressor}]"
        elif compressor == first.driver_name:
            self.reason = "driver name"
        else:
            self.reason = f"highest priority '{compressor}' driver"
        self.cpus = cpus
        #: CPU number -> its context (kernel: ``pool->acomp_ctx``, per CPU).
        self.ctxs: tuple[AcompCtx, ...] = tuple(_create_ctx(i, t, batching) for i, t in enumerate(tfms))
        self.zs = ZsPool(f"zswap{pool_id:x}")
        #: Stores inside this pool right now (kernel: the percpu_ref's holders besides entries).
        self.refs = 0
        #: Set once the pool is torn down; a reader that raced with that retries.
        self.dead = False
        #: Another driver of the same wire format, for loads once this one is unusable.
        self._reader: Transform | None = None

    def __repr__(self) -> str:
        return f"<ZswapPool {self.id} {self.compressor} driver={self.driver_name}>"

    @property
    def tfm(self) -> Transform:
        """CPU 0's transform (for the pool's capabilities; every CPU has its own)."""
        return self.ctxs[0].tfm

    @property
    def driver_name(self) -> str:
        return self.ctxs[0].tfm.driver_name

    @property
    def wire_format(self) -> str:
        return self.ctxs[0].tfm.record.wire_format

    def usable(self) -> bool:
        """False once the driver cannot take work (e.g. its device disabled itself)."""
        return self.ctxs[0].tfm.available()

    def get_ctx(self) -> AcompCtx:
        """The calling thread's CPU's context (kernel: ``raw_cpu_ptr(pool->acomp_ctx)``)."""
        return self.ctxs[self.cpus.current()]

    def reader(self) -> Transform | None:
        """A usable transform that reads this pool's streams (another driver, same wire format)."""
        if self._reader is None or not self._reader.available():
            for rec in acomp.readers_of(self.wire_format):
                if rec.driver_name != self.driver_name:
                    self._reader = acomp.alloc(rec.driver_name)
                    break
        return self._reader

    def try_destroy(self) -> bool:
        """Tear the pool down if nothing uses it; True if it is (now) dead.

        Call under the pools lock (which guards :attr:`refs`).  Taking every
        context's mutex waits out readers that are decompressing from it; a
        reader that gets one afterwards sees :attr:`dead` and retries.
        """
        if self.dead or self.refs or self.zs.nr_objs:
            return self.dead
        held = []
        try:
            for ctx in self.ctxs:
                ctx.lock.acquire()
                held.append(ctx)
            if self.zs.nr_objs:
                return False
            self.dead = True
        finally:
            for ctx in held:
                ctx.lock.release()
        self.close()
        return True

    def close(self) -> None:
        """Release the transforms."""
        for ctx in self.ctxs:
            ctx.tfm.close()
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def shutdown(self) -> None:
        """Tear down with whatever it holds (zswap is closing): readers see ``dead``, memory goes back."""
        for ctx in self.ctxs:
            with ctx.lock:
                self.dead = True
        self.close()
        self.zs.destroy()

    def info(self) -> dict[str, object]:
        tfm = self.tfm
        return {
            "id": self.id,
            "compressor": str(self.compressor),
            "alg_name": tfm.alg_name,
            "driver_name": tfm.driver_name,
            "reason": self.reason,
            "usable": self.usable(),
            "batch_size": tfm.batch_size,
            "nr_reqs": self.ctxs[0].nr_reqs,
            "contexts": len(self.ctxs),
            "stored_objects": self.zs.nr_objs,
            "pool_total_size": self.zs.total_size,
        }


class ZswapPools:
    """The pools of one zswap, current first (kernel: ``zswap_pools``)."""

    def __init__(self, factory: TransformFactory, cpus: Cpus, batching: bool, events: ZswapEvents) -> None:
        self._factory = factory
        self._cpus = cpus
        self._batching = batching
        self._events = events
        #: kernel: ``zswap_pools_lock``; guards the list and every pool's ``refs``.
        self.lock = threading.Lock()
        #: kernel: ``zswap_pools``; ``[0]`` is the current pool.
        self.list: list[ZswapPool] = []
        self._next_id = 0

    def __iter__(self) -> Iterator[ZswapPool]:
        with self.lock:
            return iter(list(self.list))

    @property
    def current(self) -> ZswapPool:
        """kernel: ``zswap_pool_current``."""
        return self.list[0]

    def create(self, compressor: Compressor) -> ZswapPool:
        """The one place a compressor becomes a pool (kernel: ``zswap_pool_create``); not listed yet.

        Raises ``AlgorithmNotFound`` when nothing provides it.
        """
        with self.lock:
            pool_id = self._next_id
            self._next_id += 1
        return ZswapPool(pool_id, compressor, self._factory, self._cpus, self._batching)

    def current_get(self) -> ZswapPool:
        """The current pool, held until :meth:`put` (kernel: ``zswap_pool_current_get``).

        A current pool whose driver became unusable fails over first.
        """
        pool = self.list[0]
        if not pool.usable():
            self.failover(pool)
        lock = self.lock
        lock.acquire()  # once a folio: acquire/release, not ``with`` (76 vs 165 ns)
        pool = self.list[0]
        pool.refs += 1
        lock.release()
        return pool

    def put(self, pool: ZswapPool) -> None:
        """A store is done with ``pool`` (kernel: ``zswap_pool_put``)."""
        lock = self.lock
        lock.acquire()
        pool.refs -= 1
        lock.release()
        if pool is not self.list[0]:
            self.maybe_destroy(pool)

    def set_current(self, compressor: Compressor) -> None:
        """Make ``compressor`` current, reusing a live pool of it (kernel: ``zswap_compressor_param_set``)."""
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
        """Tear ``pool`` down if it is not current and unused (kernel: ``__zswap_pool_empty``)."""
        if pool is self.list[0] or pool.dead or pool.zs.nr_objs:  # cheapest first: every load asks
            return
        with self.lock:  # so a set_current cannot revive it meanwhile
            if pool is self.list[0] or not pool.try_destroy():
                return
            if pool in self.list:
                self.list.remove(pool)

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
                new.close()
                return
            self.list.insert(0, new)
        self._events.add("pool_failover")
        self.maybe_destroy(pool)

    def total_pages(self) -> int:
        """Pages held by every pool's allocator (kernel: ``zswap_total_pages``)."""
        pools = self.list
        if len(pools) == 1:  # every store asks: no generator for the usual single pool
            return pools[0].zs.total_pages
        return sum(p.zs.total_pages for p in pools)

    def close(self) -> None:
        """Shut every pool down: transforms released, zspages freed (the pools stay listed for stats)."""
        for p in self:
            p.shutdown()
