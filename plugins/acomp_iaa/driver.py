"""The acomp face of the emulated IAA: ``deflate-iaa`` (kernel: ``iaa_acomp_fixed_deflate``, v5).

One instance per transform: its context captures ``verify_compress`` and the
sync mode when it is created (``compression_ctx_init``).  The calling thread
is the "core" that picks the WQs, unless the transform was allocated with
``cpu=N``.

* :meth:`DeflateIaaDriver.compress` / ``decompress``: ``iaa_comp_acompress`` /
  ``iaa_comp_adecompress`` of a request without ``POLL``: synchronous in
  every mode (``disable_async``).
* :meth:`DeflateIaaDriver.submit`: a request *with* ``POLL`` goes async in
  ``async`` mode (completed when its record is read) and in ``async_irq``
  (completed by the interrupt handler); without ``POLL``, or in ``sync`` mode,
  it returns False and the core runs it synchronously.
* :meth:`DeflateIaaDriver.batch_compress` / ``batch_decompress``:
  ``iaa_comp_a[de]compress_batch``.  ``async`` mode (``async_mode &&
  !use_irq``): ``POLL`` set on the batch's requests, the chain run through
  :func:`acomp.driver.do_async_req_chain` with ``iaa_comp_a[de]compress`` and
  ``iaa_comp_poll``, ``POLL`` cleared on the way out.  ``sync`` and
  ``async_irq``: sync request chaining, :func:`acomp.driver.do_req_chain`.
"""

from __future__ import annotations

import errno as _errno
import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from acomp import Request, RequestFlags
from acomp.driver import BufferLike, Driver, Feature, Op, Result, do_async_req_chain, do_req_chain
from acomp.errors import AcompError, Busy, InvalidArgument, TimedOut, error_from_errno
from acomp_iaa import core
from acomp_iaa import device as dv
from acomp_iaa import stats as st
from acomp_iaa.device import DONE, OWNED, execute
from acomp_iaa.subsystem import IaaSubsystem
from acomp_iaa.sysfs import subsystem

__all__ = ["IAA_CRYPTO_MAX_BATCH_SIZE", "DeflateIaaDriver"]

#: The seed's batch size for IAA compression algorithms.
IAA_CRYPTO_MAX_BATCH_SIZE = 8

_POLL = int(RequestFlags.POLL)
_PENDING = -_errno.EINPROGRESS
_AGAIN = -_errno.EAGAIN


def _as_bytes(src: BufferLike) -> bytes:
    return src if type(src) is bytes else bytes(src)


class DeflateIaaDriver(Driver):
    """Raw deflate, one fixed-Huffman block, 4 KiB window, on emulated IAA devices."""

    alg_name: ClassVar[str] = "deflate"
    driver_name: ClassVar[str] = "deflate-iaa"
    priority: ClassVar[int] = 300
    batch_size: ClassVar[int] = IAA_CRYPTO_MAX_BATCH_SIZE
    async_batching: ClassVar[bool] = True
    features: ClassVar[Feature] = Feature.REQ_CHAIN | Feature.ASYNC | Feature.DEVICE
    wire_format: ClassVar[str] = "deflate"
    #: ``cpu``: the core id this transform submits from (None: the calling thread's).
    params: ClassVar[dict[str, object]] = {"cpu": None}

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        cpu = self.config["cpu"]
        if cpu is not None and (not isinstance(cpu, int) or isinstance(cpu, bool)):
            raise InvalidArgument(f"deflate-iaa: cpu must be an int, got {cpu!r}")
        sub = subsystem()
        if cpu is not None:
            try:
                sub.check_cpu(cpu)
            except ValueError as exc:
                raise InvalidArgument(f"deflate-iaa: {exc}") from None
        self._cpu: int | None = cpu
        sub.probe()  # the WQs are bound before the first transform uses them
        # compression_ctx_init(): this transform keeps the attributes as they are now.
        a = sub.attrs
        self.verify_compress = a.verify_compress
        self.async_mode = a.async_mode
        self.use_irq = a.use_irq
        self.sync_mode = a.sync_mode

    def _core(self, sub: IaaSubsystem) -> int:
        cpu = self._cpu
        if cpu is None:
            return sub.wq_tables.current_core()
        if cpu >= sub.topology.n_cores:  # the topology was reconfigured since
            raise InvalidArgument(f"deflate-iaa: cpu {cpu} out of range 0..{sub.topology.n_cores - 1}")
        return cpu

    # -- one request, synchronously (no POLL) -----------------------------------------

    def compress(self, src: BufferLike, capacity: int) -> bytes:
        return self._sync_one("compress", src, capacity)

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        return self._sync_one("decompress", src, capacity)

    def _sync_one(self, op: Op, src: BufferLike, capacity: int) -> bytes:
        sub = subsystem()
        c = sub.stats.mine()
        if not sub.enabled and not sub.check_enabled():
            c.g[st.DISABLED_REJECTS] += 1
            raise core.disabled_error(op)
        wq = sub.wq_tables.next_wq(self._core(sub), op == "compress")
        d = core.alloc_desc(sub, c, wq)
        if isinstance(d, AcompError):
            raise d
        data = _as_bytes(src)
        core.fill(sub, c, d, op, data, capacity)
        lost = d.fault == "timeout"
        dlen_guess = capacity
        res = core.iaa_sync_op(sub, c, d, self.verify_compress)
        wq.free_desc(d)
        if isinstance(res, AcompError):
            sub.stats.record_batch(c, self.sync_mode, "single", [(wq.device, len(data), dlen_guess, lost)])
            raise res
        sub.stats.record_batch(c, self.sync_mode, "single", [(wq.device, len(data), len(res), False)])
        return res  # type: ignore[return-value]

    def compress_bound(self, slen: int) -> int:
        # Fixed Huffman: at most 9 bits per literal, plus header, EOB and padding.
        return slen + (slen >> 3) + 16

    # -- batches (iaa_comp_acompress_batch / iaa_comp_adecompress_batch) -------------------

    def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[Result]:
        return self._batch("compress", srcs, capacities)

    def batch_decompress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[Result]:
        return self._batch("decompress", srcs, capacities)

    def _batch(self, op: Op, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[Result]:
        sub = subsystem()
        c = sub.stats.mine()
        n = len(srcs)
        if not sub.enabled and not sub.check_enabled():
            c.g[st.DISABLED_REJECTS] += n
            return [core.disabled_error(op)] * n
        core_id = self._core(sub)
        t = sub.wq_tables
        wqs = t.comp_wqs(core_id, n) if op == "compress" else t.decomp_wqs(core_id, n)
        data = [s if type(s) is bytes else bytes(s) for s in srcs]
        if self.async_mode and not self.use_irq:
            return self._async_batch(sub, c, op, data, capacities, wqs)
        return self._sync_chain(sub, c, op, data, capacities, wqs)

    def _sync_chain(
        self, sub: IaaSubsystem, c: st.Counters, op: Op, data: list[bytes], caps: Sequence[int], wqs: list[dv.IaaWq]
    ) -> list[Result]:
        """Sync request chaining: each request completes before the next is submitted."""
        results: list[Result] = [b""] * len(data)
        jobs: list[tuple[int, int, int, bool]] = []
        verify = self.verify_compress
        trace = sub.trace

        def one(i: int) -> int:  # iaa_comp_a[de]compress without POLL: it spins
            if not sub.enabled:
                c.g[st.DISABLED_REJECTS] += 1
                results[i] = core.disabled_error(op)
                return -_errno.ENODEV
            wq = wqs[i]
            d = core.alloc_desc(sub, c, wq)
            if isinstance(d, AcompError):
                results[i] = d
                return -d.errno
            core.fill(sub, c, d, op, data[i], caps[i])  # POLL stays clear: iaa_set_req_poll(..., false)
            if trace is not None:
                trace("submit", d)
            lost = d.fault == "timeout"
            res = core.iaa_sync_op(sub, c, d, verify)
            wq.free_desc(d)
            results[i] = res
            if isinstance(res, AcompError):
                jobs.append((wq.device, len(data[i]), caps[i], lost))
                return -res.errno
            jobs.append((wq.device, len(data[i]), len(res), False))
            return 0

        do_req_chain(range(len(data)), one)
        sub.stats.record_batch(c, self.sync_mode, "do_req_chain", jobs)
        return results

    def _async_batch(
        self, sub: IaaSubsystem, c: st.Counters, op: Op, data: list[bytes], caps: Sequence[int], wqs: list[dv.IaaWq]
    ) -> list[Result]:
        """Async request chaining over the batch's descriptors: POLL set, submit all, poll all.

        Each descriptor leaves the batch when its record is read: POLL cleared
        (``iaa_set_req_poll(..., false)``), freed (``iaa_comp_poll``).
        """
        n = len(data)
        results: list[Result | None] = [None] * n
        descs: list[dv.Descriptor] = []
        for i in range(n):
            got = wqs[i].alloc_desc()
            if got is None:
                slow = self._alloc_slow(sub, c, wqs[i], descs)
                if isinstance(slow, AcompError):
                    results[i] = slow
                    continue
                got = slow
            got.index = i
            got.flags = _POLL  # iaa_set_req_poll(reqs, nr_reqs, true)
            descs.append(got)
        #: This batch's descriptors by request index, None once freed.
        live: list[dv.Descriptor | None]
        if len(descs) == n:
            live = list(descs)
        else:
            live = [None] * n
            for d in descs:
                live[d.index] = d
        handoff = sub.handoff.plan(op, descs)
        verify = self.verify_compress
        trace = sub.trace
        devices = sub.devices
        fill = core.fill
        comp_poll = core.iaa_comp_poll
        codec = sub.codec
        record: list[tuple[int, int, int, bool]] = []

        def submit(d: dv.Descriptor) -> int:  # iaa_comp_a[de]compress with POLL set
            if not sub.enabled:
                c.g[st.DISABLED_REJECTS] += 1
                return -_errno.ENODEV
            i = d.index
            fill(sub, c, d, op, data[i], caps[i])
            if trace is not None:
                trace("submit", d)
            if handoff is not None and i in handoff:
                devices[d.wq.device].submit([d])
            return _PENDING

        def submit_inline(d: dv.Descriptor) -> int:  # the same, when nothing is traced or handed off
            if not sub.enabled:
                c.g[st.DISABLED_REJECTS] += 1
                return -_errno.ENODEV
            i = d.index
            fill(sub, c, d, op, data[i], caps[i])
            return _PENDING

        def poll(d: dv.Descriptor) -> int:  # iaa_comp_poll
            if d.state == OWNED:
                execute(d, codec)  # the polling CPU runs the device's work (device.py)
                d.state = DONE
            elif d.state != DONE:
                self._help_or_wait(sub, d, live)
            res = comp_poll(sub, c, d, verify)
            if res is None:
                return _AGAIN
            i = d.index
            results[i] = res
            live[i] = None
            wq = d.wq
            if isinstance(res, AcompError):
                record.append((wq.device, len(d.src), caps[i], d.status == dv.LOST))
                wq.free_desc(d)  # clears POLL with the rest of the descriptor
                return -res.errno
            record.append((wq.device, len(d.src), len(res), False))
            wq.free_desc(d)
            return 0

        timed = handoff is not None or sub.handoff.sample()
        t0 = time.perf_counter() if timed else 0.0
        lean = trace is None and handoff is None
        codes = do_async_req_chain(descs, submit_inline if lean else submit, poll)
        if timed:
            sub.handoff.observe(op, len(descs), time.perf_counter() - t0, handoff is not None)
        if len(record) < len(descs):
            # Not polled to the end: the head's submit failed (err_prop) or acomp's poll bound expired.
            head = results[descs[0].index] if descs else None
            for i, code in zip([d.index for d in descs], codes):
                left = live[i]
                if left is not None:
                    left.flags = 0  # iaa_set_req_poll(reqs, nr_reqs, false)
                    record.append((left.wq.device, len(data[i]), caps[i], True))
                    res = self._unpolled(sub, op, left, code, head)
                    if results[i] is None:  # a submit that failed on its own already set it
                        results[i] = res
        sub.stats.record_batch(c, self.sync_mode, "do_async_req_chain", record)
        return results  # type: ignore[return-value]

    @staticmethod
    def _alloc_slow(
        sub: IaaSubsystem, c: st.Counters, wq: dv.IaaWq, held: list[dv.Descriptor]
    ) -> dv.Descriptor | AcompError:
        """The WQ has no free descriptor: sleep for one, unless this batch holds them all."""
        if sum(1 for d in held if d.wq is wq) >= wq.depth:
            # The batch's descriptors are freed only after its chain: the kernel
            # would sleep in idxd_alloc_desc forever.
            return Busy(f"iaa{wq.device} {wq.name}: the batch needs more than its {wq.depth} descriptors")
        return core.alloc_desc(sub, c, wq)

    @staticmethod
    def _unpolled(sub: IaaSubsystem, op: Op, d: dv.Descriptor, code: int, head: Result | None) -> Result:
        if d.state in (dv.OWNED, dv.DONE):
            d.wq.free_desc(d)
        else:
            sub.devices[d.wq.device].abandon(d)  # the engine frees it when it finishes
        if code == -_errno.ENODEV:
            return core.disabled_error(op)
        if isinstance(head, AcompError) and code == -head.errno:
            return head  # err_prop: the head's error for every request of the chain
        return error_from_errno(code or _errno.EIO, f"iaa {op}: not completed (acomp's poll bound)")

    @staticmethod
    def _help_or_wait(sub: IaaSubsystem, d: dv.Descriptor, items: list[dv.Descriptor | None]) -> None:
        """``d`` is with an engine: take it back if still queued, else run another of the
        batch's queued descriptors, else wait a little for the engine."""
        dev = sub.devices[d.wq.device]
        if d.state == dv.QUEUED and dev.claim(d):
            dev.run_inline(d)
            return
        for other in reversed(items):
            if other is not None and other.state == dv.QUEUED:
                odev = sub.devices[other.wq.device]
                if odev.claim(other):
                    odev.run_inline(other)
                    return
        dev.wait_done(d, 0.002)

    # -- async (a request submitted with POLL) ----------------------------------------------

    def submit(self, op: Op, req: Request, capacity: int, done: Callable[[Result], None]) -> bool:
        """Start ``req`` on a device; ``done(result)`` runs once, on an engine thread.

        Only a request with ``POLL`` set goes async (v5: without it the driver
        sets ``disable_async``): in ``async`` mode it completes when its
        record is read (``iaa_comp_poll``), in ``async_irq`` by the interrupt
        handler (``iaa_desc_complete``).  Otherwise returns False: the core
        then runs the request synchronously, as the kernel's driver would.
        """
        if not self.async_mode or not req.flags & _POLL:
            return False
        sub = subsystem()
        if not sub.enabled and not sub.check_enabled():
            return False  # -ENODEV at once: the core's synchronous call raises it
        c = sub.stats.mine()
        wq = sub.wq_tables.next_wq(self._core(sub), op == "compress")
        d = core.alloc_desc(sub, c, wq)
        if isinstance(d, AcompError):
            done(d)
            return True
        data = _as_bytes(req.src)
        core.fill(sub, c, d, op, data, capacity)
        d.flags = int(req.flags)
        lost = d.fault == "timeout"
        verify = self.verify_compress
        irq = self.use_irq
        mode = self.sync_mode
        complete = core.iaa_desc_complete if irq else core.iaa_comp_poll
        dev_id = wq.device

        def on_done(desc: dv.Descriptor) -> None:
            ec = sub.stats.mine()  # the engine thread's counters
            res = complete(sub, ec, desc, verify)
            desc.wq.free_desc(desc)
            if res is None:  # iaa_comp_poll never sees an unwritten record here: the engine wrote it
                res = TimedOut("iaa: completion record not written")
            dlen = capacity if isinstance(res, AcompError) else len(res)
            sub.stats.record_batch(ec, mode, "irq" if irq else "poll", [(dev_id, len(data), dlen, lost)])
            done(res)

        d.on_done = on_done
        sub.devices[dev_id].submit([d])
        return True

    # -- life cycle -------------------------------------------------------------------------

    @classmethod
    def device_state(cls) -> str:
        sub = subsystem()
        if not sub.bound:
            return "live"  # the first transform binds the WQs
        return "bound" if sub.enabled else "disabled"

    def available(self) -> bool:
        return subsystem().enabled
