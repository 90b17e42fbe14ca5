"""zswap pools and their per-thread compression contexts.

Kernel: ``struct zswap_pool`` {zpool, per-CPU ``crypto_acomp_ctx``, tfm name}
and ``struct crypto_acomp_ctx`` {acomp, reqs, buffers, nr_reqs, mutex}.  A
"CPU" here is a thread: each thread that stores into a pool gets its own
context, created lazily (the kernel creates them at CPU hotplug), with its own
transform, requests and buffers, guarded by its own lock (the per-CPU mutex).
A context whose thread has exited is handed to the next new thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Union

import attrs

from acomp import PAGE_SIZE, Request, Requirement, Transform
from acomp.zswap.zsmalloc import ZsPool

__all__ = ["ZSWAP_MAX_BATCH_SIZE", "AcompCtx", "Compressor", "TransformFactory", "ZswapPool"]

#: Upper bound on the requests and buffers of one context (kernel: ``ZSWAP_MAX_BATCH_SIZE``).
ZSWAP_MAX_BATCH_SIZE = 8

#: What a pool is asked for: a name (algorithm or driver) or a capability requirement.
Compressor = Union[str, Requirement]

#: Allocates a transform for a compressor (``acomp.alloc`` unless a test swaps it).
TransformFactory = Callable[[Compressor], Transform]


@attrs.define(slots=True, eq=False)
class AcompCtx:
    """One thread's compression context (kernel: ``struct crypto_acomp_ctx``)."""

    tfm: Transform
    #: ``nr_reqs`` requests, each with a PAGE_SIZE destination buffer of its own.
    reqs: list[Request]
    #: One page for decompressing into during writeback.
    scratch: bytearray
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    owner: threading.Thread | None = None

    @property
    def nr_reqs(self) -> int:
        return len(self.reqs)


def nr_reqs_for(tfm: Transform, batching: bool = True) -> int:
    """Requests per context: batching resources only for async batching (the seed's patch 10)."""
    if batching and tfm.has_async_batching:
        return max(1, min(ZSWAP_MAX_BATCH_SIZE, tfm.batch_size))
    return 1


def create_ctx(tfm: Transform, batching: bool = True) -> AcompCtx:
    """Allocate a context's requests and buffers once (kernel: ``zswap_cpu_comp_prepare``)."""
    empty = memoryview(b"")
    reqs = [Request(empty, bytearray(PAGE_SIZE)) for _ in range(nr_reqs_for(tfm, batching))]
    return AcompCtx(tfm=tfm, reqs=reqs, scratch=bytearray(PAGE_SIZE))


class ZswapPool:
    """A compressor with its contexts and its zsmalloc pool (kernel: ``struct zswap_pool``)."""

    __slots__ = (
        "_factory",
        "_local",
        "_probe",
        "_reader",
        "batching",
        "compressor",
        "ctxs",
        "dead",
        "id",
        "lock",
        "reason",
        "zs",
    )

    def __init__(self, pool_id: int, compressor: Compressor, factory: TransformFactory, batching: bool = True) -> None:
        # The first transform both checks the name (kernel: crypto_has_acomp)
        # and becomes the first context.
        tfm = factory(compressor)
        self.id = pool_id
        self.compressor = compressor
        #: False: one request per context even for a batching driver (the pre-seed kernel).
        self.batching = batching
        #: Why this driver: the name asked for, or the requirement it met best.
        if isinstance(compressor, Requirement):
            self.reason = f"best driver meeting [{compressor}]"
        elif compressor == tfm.driver_name:
            self.reason = "driver name"
        else:
            self.reason = f"highest priority '{compressor}' driver"
        #: Another driver of the same wire format, for loads once this one is unusable.
        self._reader: Transform | None = None
        self.zs = ZsPool(f"zswap{pool_id}")
        self._factory = factory
        self._local = threading.local()
        self.ctxs: list[AcompCtx] = [create_ctx(tfm, batching)]
        self.lock = threading.Lock()
        #: Set once the pool is torn down; a store that raced with that retries.
        self.dead = False
        self._probe = tfm

    def __repr__(self) -> str:
        return f"<ZswapPool {self.id} {self.compressor} driver={self.driver_name}>"

    @property
    def tfm(self) -> Transform:
        """A transform of this pool (for its capabilities; each context has its own)."""
        return self._probe

    @property
    def driver_name(self) -> str:
        return self._probe.driver_name

    @property
    def wire_format(self) -> str:
        return self._probe.record.wire_format

    def usable(self) -> bool:
        """False once the driver cannot take work (e.g. its device disabled itself)."""
        return self._probe.available()

    def reader(self) -> Transform | None:
        """A usable transform that reads this pool's streams (another driver, same wire format)."""
        if self._reader is None or not self._reader.available():
            import acomp

            for rec in acomp.readers_of(self.wire_format):
                if rec.driver_name != self._probe.driver_name:
                    self._reader = acomp.alloc(rec.driver_name)
                    break
        return self._reader

    def get_ctx(self) -> AcompCtx | None:
        """This thread's context (kernel: ``raw_cpu_ptr(pool->acomp_ctx)``); None if the pool is dead."""
        try:
            ctx: AcompCtx = self._local.ctx
        except AttributeError:
            return self._attach_ctx()
        return ctx

    def _attach_ctx(self) -> AcompCtx | None:
        me = threading.current_thread()
        with self.lock:
            if self.dead:
                return None
            for ctx in self.ctxs:
                if ctx.owner is None or not ctx.owner.is_alive():
                    break
            else:
                # Every context of a pool uses the driver its first one got,
                # even if a requirement would now pick another.
                ctx = create_ctx(self._factory(self._probe.driver_name), self.batching)
                self.ctxs.append(ctx)
            ctx.owner = me
        self._local.ctx = ctx
        return ctx

    def try_destroy(self) -> bool:
        """Tear the pool down if it holds no object and no store is inside a context.

        Taking every context lock waits out stores that already hold this pool
        (the kernel's percpu_ref plays that part); a store that gets a context
        after this sees ``dead`` and retries on the current pool.
        """
        with self.lock:
            if self.dead or self.zs.nr_objs:
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
            for ctx in self.ctxs:
                ctx.tfm.close()
            return True

    def info(self) -> dict[str, object]:
        tfm = self._probe
        return {
            "id": self.id,
            "compressor": str(self.compressor),
            "alg_name": tfm.alg_name,
            "driver_name": tfm.driver_name,
            "reason": self.reason,
            "usable": self.usable(),
            "batch_size": tfm.batch_size,
            "nr_reqs": nr_reqs_for(tfm, self.batching),
            "contexts": len(self.ctxs),
            "stored_objects": self.zs.nr_objs,
            "pool_total_size": self.zs.total_size,
        }
