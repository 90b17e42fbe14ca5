"""The iaa_crypto "driver core": devices, WQ map, modes, completions, statistics.

One :class:`IaaSubsystem` is the emulated machine (kernel: the iaa_crypto
module's global state).  Every transform instance shares it; see
:mod:`acomp_iaa.api` for the module-level singleton and its controls.
"""

from __future__ import annotations

import errno as _errno
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, get_args

import acomp
from acomp.errors import (
    AcompError,
    Busy,
    InvalidArgument,
    NoDevice,
    NoSpace,
    OutputOverflow,
    TimedOut,
    TooBig,
)
from acomp.lib import inflate_bounded as deflate_generic_decompress
from acomp_iaa import device as dv
from acomp_iaa.faults import FaultInjector
from acomp_iaa.fixed import inflate_bounded
from acomp_iaa.stats import BatchRecord, IaaStats
from acomp_iaa.timing import Job, ModelMode, TimingModel, TimingParams
from acomp_iaa.wq_map import Topology, WqMap

if TYPE_CHECKING:
    from acomp.driver import Result

__all__ = ["IaaDisabled", "IaaSubsystem", "SyncMode"]

SyncMode = Literal["sync", "async", "async_irq"]
SYNC_MODES: tuple[str, ...] = get_args(SyncMode)


class IaaDisabled(NoDevice):
    """The driver disabled itself after a completion timeout (``-ENODEV``, as iaa_crypto).

    Compress requests fail fast with this error; decompress requests still
    succeed through the software fallback, so stored data stays readable.
    """

    errno = _errno.ENODEV


class _Waiter:
    """Counts a batch's completions down; the last one wakes the submitter.

    The Event is created only when the submitter really has to sleep: when
    it ran every descriptor itself, waiting costs one locked read.
    """

    __slots__ = ("event", "lock", "remaining")

    def __init__(self, n: int) -> None:
        self.remaining = n
        self.lock = threading.Lock()
        self.event: threading.Event | None = None

    def rearm(self, n: int) -> None:
        """Count ``n`` more completions (reuse for the next request of a sync chain)."""
        self.remaining = n
        self.event = None

    def one_done(self, _desc: dv.Descriptor | None = None) -> None:
        with self.lock:
            self.remaining -= 1
            wake = self.event if self.remaining == 0 else None
        if wake is not None:
            wake.set()

    def wait(self, timeout: float) -> bool:
        with self.lock:
            if self.remaining <= 0:
                return True
            event = self.event = threading.Event()
        return event.wait(timeout)


class IaaSubsystem:
    """The emulated IAA machine: topology, devices, WQs, modes, statistics."""

    def __init__(
        self,
        topology: Topology,
        *,
        codec: Literal["zlib", "isal"],
        timing: TimingParams,
        timing_seed: int,
        completion_timeout_s: float,
    ) -> None:
        self.topology = topology
        self.codec = codec
        self.completion_timeout_s = completion_timeout_s
        self.wq_map = WqMap(topology)
        t = topology
        self.devices = [
            dv.IaaDevice(
                d,
                d // t.devices_per_package,
                t.wqs_per_device,
                t.wq_depth,
                t.engine_threads_per_device,
                codec,
            )
            for d in range(t.n_devices)
        ]
        self.stats = IaaStats(t.n_devices, t.wqs_per_device)
        self.faults = FaultInjector()
        self.timing = TimingModel(timing, engines_per_device=t.engines_per_device, seed=timing_seed)
        self.sync_mode: SyncMode = "async"
        self.verify_compress = False
        self.enabled = True
        self.live: weakref.WeakSet[object] = weakref.WeakSet()
        #: Work below this (estimated run time, s) per device is not worth an
        #: engine wake-up in ``async`` mode: the polling submitter runs it.
        self.min_handoff_s = 60e-6
        #: Engine threads one async batch may wake: the other CPUs (the caller runs the rest).
        self.max_woken = max(1, (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2) - 1)

    # -- state ------------------------------------------------------------------------------

    @property
    def bound(self) -> bool:
        """True while a transform exists or a device has work (attributes are frozen)."""
        return len(self.live) > 0 or any(d.busy for d in self.devices)

    def disable(self) -> None:
        self.enabled = False

    def shutdown(self, timeout: float = 5.0) -> bool:
        return all([d.stop(timeout) for d in self.devices])

    def engine_threads(self) -> list[threading.Thread]:
        return [t for d in self.devices for t in d.threads if t.is_alive()]

    def check_cpu(self, cpu: int) -> int:
        if not 0 <= cpu < self.topology.n_cores:
            raise InvalidArgument(f"cpu {cpu} out of range 0..{self.topology.n_cores - 1}")
        return cpu

    # -- descriptors ----------------------------------------------------------------------

    def _prepare(self, compress: bool, srcs: Sequence[bytes], caps: Sequence[int], core: int) -> list[dv.Descriptor]:
        n = len(srcs)
        wqs = self.wq_map.comp_wqs(core, n) if compress else [self.wq_map.decomp_wq(core)] * n
        op = "compress" if compress else "decompress"
        draw = self.faults.draw
        descs = [
            dv.Descriptor(compress, src, cap, dev, wq, draw(op, dev)) for src, cap, (dev, wq) in zip(srcs, caps, wqs)
        ]
        self.stats.submitted(compress, [(d.device, d.wq, len(d.src)) for d in descs])
        return descs

    def _enqueue(self, descs: list[dv.Descriptor], notify: bool, adaptive: bool = False) -> None:
        if len(descs) == 1:
            d = descs[0]
            for refused in self.devices[d.device].enqueue(descs, notify):
                if refused.on_done is not None:
                    refused.on_done(refused)
            return
        groups: dict[int, list[dv.Descriptor]] = {}
        for d in descs:
            groups.setdefault(d.device, []).append(d)
        woken = 0
        for dev, group in groups.items():
            device = self.devices[dev]
            # Waking an engine costs more than running a little work here:
            # only hand over what takes longer than a wake-up, and wake no
            # more engine threads than there are other CPUs to run them.
            worth = not adaptive or (
                woken < self.max_woken and device.run_ewma[group[0].compress] * len(group) >= self.min_handoff_s
            )
            woken += worth
            for refused in device.enqueue(group, notify and worth):
                if refused.on_done is not None:
                    refused.on_done(refused)

    def _help(self, descs: Sequence[dv.Descriptor]) -> None:
        # Last submitted first: engines take from the WQ heads.
        for d in reversed(descs):
            device = self.devices[d.device]
            if device.claim(d):
                device.run_claimed(d)

    def _wait(self, waiter: _Waiter, descs: Sequence[dv.Descriptor]) -> None:
        if waiter.wait(self.completion_timeout_s):
            return
        # Bounded wait expired: abandon what has not completed.
        for d in descs:
            if self.devices[d.device].abandon(d):
                waiter.one_done()

    # -- completion ---------------------------------------------------------------------------

    def check_completion(self, d: dv.Descriptor) -> Result:
        """Turn a completion record into the caller's result (kernel: ``check_completion()``)."""
        s = d.status
        st = self.stats
        if s == dv.SUCCESS:
            if d.compress and self.verify_compress and not self._verify(d):
                st.add("verify_mismatches")
                st.add("total_completion_einval_errors")
                return InvalidArgument("iaa: verify_compress: decompressed data differs")
            st.succeeded(d.device, d.wq, d.compress, len(d.src), len(d.output))
            return d.output
        if s == dv.COMP_BUF_OVERFLOW:
            st.add("total_completion_comp_buf_overflow_errors")
            return TooBig(f"iaa: compressed output exceeds {d.capacity} bytes")
        if s == dv.DECOMP_BUF_OVERFLOW:
            st.add("total_completion_comp_buf_overflow_errors")
            return OutputOverflow(f"iaa: decompressed output exceeds {d.capacity} bytes")
        if s == dv.ANALYTICS_ERROR:
            st.add("total_completion_einval_errors")
            return self._sw_decompress(d.src, d.capacity)
        if s == dv.INVALID:
            st.add("total_completion_einval_errors")
            return InvalidArgument("iaa: completion reported an invalid descriptor")
        if s == dv.WQ_FULL:
            st.add("wq_full_errors")
            return Busy(f"iaa{d.device} wq.{d.wq} is full")
        st.add("total_completion_timeout_errors")
        self.disable()
        return TimedOut("iaa: completion timed out; iaa_crypto is now disabled")

    def _verify(self, d: dv.Descriptor) -> bool:
        """iaa_compress_verify(): decompress the output on the device and compare."""
        self.stats.add("verify_calls")
        if d.fault == "verify_mismatch":
            return False
        try:
            return inflate_bounded(d.output, len(d.src)) == d.src
        except AcompError:
            return False

    def _sw_decompress(self, src: bytes, capacity: int) -> Result:
        """deflate_generic_decompress(): the software fallback, acomp's shared inflate.

        Unlike the device it accepts bytes after the final block (as zlib_inflate
        does).  Its ``NoSpace`` is the device's overflow error here: EOVERFLOW.
        """
        self.stats.add("total_sw_decomp_calls")
        try:
            return deflate_generic_decompress(src, capacity)
        except NoSpace:
            return OutputOverflow(f"iaa: decompressed output exceeds {capacity} bytes")
        except AcompError as exc:
            return exc

    # -- operations -----------------------------------------------------------------------------

    def run_batch(self, compress: bool, srcs: Sequence[bytes], caps: Sequence[int], core: int) -> list[Result]:
        """One batch in the current sync_mode; one result per source, never raises."""
        if not self.enabled:
            return self._disabled(compress, srcs, caps)
        mode = self.sync_mode
        descs = self._prepare(compress, srcs, caps, core)
        n = len(descs)
        results: list[Result | None] = [None] * n
        if mode == "sync":
            # Sync request chaining (acomp_do_req_chain): submit one, wait for it, then the next.
            w = _Waiter(1)

            def run_one(d: dv.Descriptor) -> None:
                w.rearm(1)
                d.on_done = w.one_done
                self._enqueue([d], notify=False)
                self._help([d])
                self._wait(w, [d])

            acomp.driver.do_req_chain(descs, run_one)
            results = [self.check_completion(d) for d in descs]
        elif mode == "async":
            # Async request chaining: submit all, then poll.  Not acomp.driver.do_async_req_chain:
            # its per-item submit loses the one-notify-per-device hand-off, and its sleeping
            # back-off poll measured worse tails (bench p90/p99) than waking on the last completion.
            w = _Waiter(n)
            for d in descs:
                d.on_done = w.one_done
            self._enqueue(descs, notify=True, adaptive=True)
            self._help(descs)
            self._wait(w, descs)
            # The poll loop: read every completion record in order.
            results = [self.check_completion(d) for d in descs]
        else:
            w = _Waiter(n)
            for i, d in enumerate(descs):
                d.on_done = self._irq_handler(results, i, w)
            self._enqueue(descs, notify=True)
            self._wait(w, descs)
            for i, d in enumerate(descs):
                if results[i] is None:  # abandoned after the bounded wait
                    results[i] = self.check_completion(d)
        self._record(mode, descs)
        return [r if r is not None else TimedOut("iaa: lost completion") for r in results]

    def _irq_handler(self, results: list[Result | None], i: int, w: _Waiter) -> Callable[[dv.Descriptor], None]:
        def on_irq(d: dv.Descriptor) -> None:
            results[i] = self.check_completion(d)
            w.one_done()

        return on_irq

    def _disabled(self, compress: bool, srcs: Sequence[bytes], caps: Sequence[int]) -> list[Result]:
        if compress:
            self.stats.add("disabled_rejects", len(srcs))
            return [IaaDisabled("iaa_crypto disabled after a completion timeout")] * len(srcs)
        return [self._sw_decompress(s, c) for s, c in zip(srcs, caps)]

    def _record(self, mode: ModelMode, descs: Sequence[dv.Descriptor]) -> None:
        # Kept raw; the virtual clock runs when statistics are read (off the hot path).
        jobs = tuple(
            (d.device, len(d.src), len(d.output) if d.output else d.capacity, d.status == dv.LOST) for d in descs
        )
        self.stats.record_batch(mode, jobs)

    def batch_latencies(self) -> dict[str, list[float]]:
        """Virtual latency (ns) of each kept batch, by mode, oldest first."""

        def clock(mode: str, jobs: BatchRecord) -> float:
            return self.timing.batch_latency_with_timeouts(
                mode,  # type: ignore[arg-type]
                [Job(dev, slen, dlen) for dev, slen, dlen, _ in jobs],
                [lost for *_, lost in jobs],
            )

        return self.stats.latencies(clock)

    def submit(self, compress: bool, src: bytes, capacity: int, core: int, done: Callable[[Result], None]) -> bool:
        """Async single request completed by the engine's "interrupt"; False when not possible."""
        if not self.enabled or self.sync_mode == "sync":
            return False
        (d,) = self._prepare(compress, [src], [capacity], core)
        fired = threading.Lock()

        def on_irq(desc: dv.Descriptor) -> None:
            if not fired.acquire(blocking=False):
                return  # exactly once, whatever races
            result = self.check_completion(desc)
            self._record("async_irq", [desc])
            done(result)

        d.on_done = on_irq
        self._enqueue([d], notify=True)
        return True
