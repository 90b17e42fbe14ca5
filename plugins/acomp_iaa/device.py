"""IAA devices, their work queues and engine threads.

A descriptor is queued on one WQ of one device.  Each device has persistent
engine threads that take descriptors from its WQs (round robin between WQs,
FIFO within one) and run them for real: zlib and isal release the GIL, so
engines of different devices compress in parallel.  Work is handed over in
batches: the submitter appends all of a device's descriptors and notifies the
device once.

A waiting submitter may *claim* its own still-queued descriptors from the WQ
tail and run them itself (see :meth:`IaaDevice.claim`).  In the kernel the
CPU spins on the completion record in ``sync`` and ``async`` (poll) mode; the
emulator uses that CPU to run device work instead of spinning, which saves a
thread wake-up per descriptor.  The virtual clock, not the thread that ran
it, says how long the descriptor took.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

import attrs

from acomp.errors import InvalidData, OutputOverflow
from acomp_iaa.faults import FaultKind
from acomp_iaa.fixed import deflate_fixed, inflate_bounded

__all__ = ["Descriptor", "IaaDevice", "IaaWq", "execute"]

# Completion record status (kernel: iax_completion_record.status / error_code).
PENDING = 0
SUCCESS = 1
COMP_BUF_OVERFLOW = 2  # IAA_ANALYTICS_ERROR + IAA_ERROR_COMP_BUF_OVERFLOW (compress)
DECOMP_BUF_OVERFLOW = 3  # IAA_ERROR_DECOMP_BUF_OVERFLOW
ANALYTICS_ERROR = 4  # any other analytics error (e.g. a bad stream)
INVALID = 5  # descriptor error: EINVAL
LOST = 6  # no completion record will ever be written
WQ_FULL = 7  # ENQCMDS refused: the shared WQ is full

# Descriptor life cycle, changed only under the owning device's lock.
QUEUED, RUNNING, DONE, ABANDONED = 0, 1, 2, 3


@attrs.define(slots=True, eq=False)
class Descriptor:
    """One IAA job and its completion record (kernel: ``struct idxd_desc`` + its completion)."""

    compress: bool
    src: bytes
    capacity: int
    device: int
    wq: int
    fault: FaultKind | None = None
    status: int = PENDING
    output: bytes = b""
    #: Life cycle state; changed only under the owning device's lock.
    state: int = QUEUED
    #: Called once, outside device locks, by whoever finishes the descriptor.
    on_done: Callable[[Descriptor], None] | None = None


def execute(desc: Descriptor, codec: Literal["zlib", "isal"]) -> None:
    """The engine's work: fill the completion record (status, output)."""
    fault = desc.fault
    if fault == "timeout":
        desc.status = LOST
        return
    if desc.compress:
        if fault == "einval":
            desc.status = INVALID
            return
        out = deflate_fixed(desc.src, codec)
        if fault == "comp_buf_overflow" or len(out) > desc.capacity:
            desc.status = COMP_BUF_OVERFLOW
            return
        desc.output = out
        desc.status = SUCCESS
        return
    if fault == "einval":
        desc.status = INVALID
    elif fault == "analytics_error":
        desc.status = ANALYTICS_ERROR
    elif fault == "comp_buf_overflow":
        desc.status = DECOMP_BUF_OVERFLOW
    else:
        try:
            desc.output = inflate_bounded(desc.src, desc.capacity)
            desc.status = SUCCESS
        except OutputOverflow:
            desc.status = DECOMP_BUF_OVERFLOW
        except InvalidData:
            desc.status = ANALYTICS_ERROR


class IaaWq:
    """A work queue: bounded FIFO of descriptors (kernel: ``struct iaa_wq``)."""

    __slots__ = ("depth", "device", "index", "queue")

    def __init__(self, device: int, index: int, depth: int) -> None:
        self.device = device
        self.index = index
        self.depth = depth
        self.queue: deque[Descriptor] = deque()

    @property
    def name(self) -> str:
        return f"wq.{self.index}"


class IaaDevice:
    """One IAA device with its WQs and engine threads (kernel: ``struct iaa_device``)."""

    def __init__(
        self, dev_id: int, package: int, n_wqs: int, depth: int, n_threads: int, codec: Literal["zlib", "isal"]
    ) -> None:
        self.id = dev_id
        self.package = package
        self.wqs = [IaaWq(dev_id, i, depth) for i in range(n_wqs)]
        self.codec = codec
        # Queue operations take the raw lock (C-level, cheaper than the
        # Condition's Python __enter__); engines sleep on the Condition.
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._n_threads = n_threads
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._next_wq = 0
        #: Descriptors queued or running.
        self.inflight = 0
        #: Moving average of one descriptor's run time (s), by op (compress?).
        self.run_ewma = {True: 50e-6, False: 20e-6}

    # -- submission ---------------------------------------------------------------

    def enqueue(self, descs: list[Descriptor], notify: bool) -> list[Descriptor]:
        """Queue ``descs``; return those refused because their WQ is full."""
        refused: list[Descriptor] = []
        with self._lock:
            if not self._threads and not self._stopping:
                self._start_locked()
            for d in descs:
                wq = self.wqs[d.wq]
                if len(wq.queue) >= wq.depth:
                    d.status = WQ_FULL
                    d.state = DONE
                    refused.append(d)
                else:
                    wq.queue.append(d)
                    self.inflight += 1
            if notify and len(refused) < len(descs):
                self._cv.notify(min(len(descs) - len(refused), self._n_threads))
        return refused

    def claim(self, desc: Descriptor) -> bool:
        """Take ``desc`` off its WQ for the calling thread to run; False if an engine has it."""
        with self._lock:
            if desc.state != QUEUED:
                return False
            q = self.wqs[desc.wq].queue
            if q and q[-1] is desc:
                q.pop()
            else:
                q.remove(desc)
            desc.state = RUNNING
        return True

    def run_claimed(self, desc: Descriptor) -> None:
        self._timed_execute(desc)
        self.finish(desc)

    def _timed_execute(self, desc: Descriptor) -> None:
        t0 = time.perf_counter()
        execute(desc, self.codec)
        # Races between threads only blur the average; no lock needed.
        ewma = self.run_ewma
        ewma[desc.compress] += 0.125 * (time.perf_counter() - t0 - ewma[desc.compress])

    def finish(self, desc: Descriptor) -> None:
        with self._lock:
            self.inflight -= 1
            if desc.state != RUNNING:  # abandoned by a waiter that timed out
                return
            desc.state = DONE
        cb = desc.on_done
        if cb is not None:
            cb(desc)

    def abandon(self, desc: Descriptor) -> bool:
        """Give up on a descriptor that did not complete in time; False if it already did."""
        with self._lock:
            if desc.state == DONE:
                return False
            if desc.state == QUEUED:
                self.wqs[desc.wq].queue.remove(desc)
                self.inflight -= 1
            desc.state = ABANDONED
            desc.status = LOST
        return True

    @property
    def busy(self) -> bool:
        return self.inflight > 0

    # -- engines ------------------------------------------------------------------------

    def _start_locked(self) -> None:
        for k in range(self._n_threads):
            t = threading.Thread(target=self._engine, name=f"iaa{self.id}-engine{k}", daemon=True)
            self._threads.append(t)
            t.start()

    def _take_locked(self) -> Descriptor | None:
        n = len(self.wqs)
        for i in range(n):
            wq = self.wqs[(self._next_wq + i) % n]
            if wq.queue:
                self._next_wq = (self._next_wq + i + 1) % n
                desc = wq.queue.popleft()
                desc.state = RUNNING
                return desc
        return None

    def _engine(self) -> None:
        cv = self._cv
        while True:
            with cv:
                desc = self._take_locked()
                while desc is None:
                    if self._stopping:
                        return
                    cv.wait()
                    desc = self._take_locked()
            try:
                self._timed_execute(desc)
            except Exception:  # an engine must never die: report a device error
                desc.status = INVALID
            self.finish(desc)

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the engine threads; True when all of them ended.

        Descriptors still queued complete as lost, so no waiter hangs.
        """
        with self._cv:
            self._stopping = True
            dropped = [d for wq in self.wqs for d in wq.queue]
            for wq in self.wqs:
                wq.queue.clear()
            for d in dropped:
                d.status = LOST
                d.state = DONE
            self.inflight -= len(dropped)
            self._cv.notify_all()
        for d in dropped:
            if d.on_done is not None:
                d.on_done(d)
        for t in self._threads:
            t.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    @property
    def threads(self) -> list[threading.Thread]:
        return list(self._threads)
