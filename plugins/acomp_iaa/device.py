"""IAA devices, their WQs, descriptors and engine threads (kernel: ``struct iaa_device``, ``struct idxd_desc``).

Each WQ owns ``wq_depth`` descriptors, allocated with ``idxd_alloc_desc(wq,
IDXD_OP_BLOCK)``: when all are in use the submitter sleeps until one is freed
(bounded here: acomp only).  Descriptors are reused, as the kernel's are.

Who runs a descriptor's work is the emulator's choice, not the kernel's: the
virtual clock (:mod:`acomp_iaa.timing`) says how long it took on the device.
In ``sync`` and ``async`` (poll) mode the kernel's CPU spins or polls on the
completion record; the emulator spends that CPU time running the descriptor
itself (:meth:`IaaDevice.run_inline`), which costs no thread wake-up.  Work
is handed to the device's engine threads (:meth:`IaaDevice.submit`) only
where the caller does not wait: a lone request submitted with ``POLL``, an
interrupt-mode request, or a batch big enough that a second CPU pays.  A
waiting CPU may take its own still-queued descriptors back
(:meth:`IaaDevice.claim`).  zlib and isal release the GIL, so engines of
different devices can compress in parallel when there are CPUs to spare.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import attrs

from acomp.driver import report_unraisable
from acomp.errors import InvalidData, OutputOverflow
from acomp_iaa.fixed import deflate_fixed, inflate_bounded

if TYPE_CHECKING:
    from acomp.driver import Op

__all__ = ["Descriptor", "IaaDevice", "IaaWq", "execute"]

# Completion record status (kernel: iax_completion_record.status / error_code).
PENDING = 0  # not written yet (status 0: check_completion spins or returns -EAGAIN)
SUCCESS = 1  # IAX_COMP_SUCCESS
COMP_BUF_OVERFLOW = 2  # IAA_ANALYTICS_ERROR with IAA_ERROR_COMP_BUF_OVERFLOW
DECOMP_BUF_OVERFLOW = 3  # IAA_ERROR_DECOMP_BUF_OVERFLOW
ANALYTICS_ERROR = 4  # IAA_ANALYTICS_ERROR, any other error code (e.g. a bad stream)
INVALID = 5  # any other status: -EINVAL
WATCHDOG_EXPIRED = 6  # IAA_ERROR_WATCHDOG_EXPIRED (0x24): -ETIMEDOUT, counted, no disable
LOST = 7  # the record will never be written: check_completion's spin limit

# Who holds a descriptor (changed under the owning device's lock once it is queued).
FREE, OWNED, QUEUED, RUNNING, DONE, ABANDONED = range(6)


@attrs.define(slots=True, eq=False)
class Descriptor:
    """One IAA job and its completion record (kernel: ``struct idxd_desc``).

    Each WQ owns its descriptors for life; a request fills one and frees it.
    """

    #: The WQ that owns it.
    wq: IaaWq
    op: Op = "compress"
    src: bytes = b""
    capacity: int = 0
    #: The injected fault decided at submission, if any.
    fault: str | None = None
    #: Request flags (``POLL`` while an ``async`` batch holds it).
    flags: int = 0
    #: Completion record status (PENDING until written).
    status: int = PENDING
    output: bytes = b""
    #: Who holds it: FREE, OWNED, QUEUED, RUNNING, DONE or ABANDONED.
    state: int = FREE
    #: The request's position in its batch.
    index: int = 0
    #: Called once, outside device locks, by an engine that finished the descriptor.
    on_done: Callable[[Descriptor], None] | None = None


def execute(desc: Descriptor, codec: Literal["zlib", "isal"]) -> None:
    """The engine's work: fill the completion record (status, output)."""
    fault = desc.fault
    if fault is not None:
        if fault == "timeout":
            desc.status = LOST
            return
        if fault == "watchdog":
            desc.status = WATCHDOG_EXPIRED
            return
        if fault == "einval":
            desc.status = INVALID
            return
    if desc.op == "compress":
        out = deflate_fixed(desc.src, codec)
        if fault == "comp_buf_overflow" or len(out) > desc.capacity:
            desc.status = COMP_BUF_OVERFLOW
            return
        desc.output = out
        desc.status = SUCCESS
        return
    if fault == "analytics_error":
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
    """A work queue and its descriptors (kernel: ``struct iaa_wq`` over an ``idxd_wq``)."""

    __slots__ = ("_cv", "_free", "_waiters", "depth", "device", "index", "name", "stat_base")

    def __init__(self, device: int, index: int, depth: int) -> None:
        self.device = device
        self.index = index
        self.depth = depth
        self.name = f"wq.{index}"
        #: Where this WQ's counters start in a thread's :class:`~acomp_iaa.stats.Counters`.
        self.stat_base = 0
        self._free: list[Descriptor] = [Descriptor(self) for _ in range(depth)]
        self._cv = threading.Condition(threading.Lock())
        self._waiters = 0

    def alloc_desc(self) -> Descriptor | None:
        """``idxd_alloc_desc(wq, IDXD_OP_BLOCK)`` without sleeping: a free descriptor or None."""
        try:
            d = self._free.pop()  # atomic under the GIL: the common case takes no lock
        except IndexError:
            return None
        d.state = OWNED
        return d

    def alloc_desc_wait(self, timeout: float, kick: Callable[[], None]) -> Descriptor | None:
        """Sleep until a descriptor is freed (``IDXD_OP_BLOCK``), at most ``timeout`` s.

        ``kick`` makes sure queued work runs meanwhile (the device's engines),
        so a submitter can never wait on descriptors nobody would run.
        """
        deadline = time.monotonic() + timeout
        with self._cv:
            self._waiters += 1
            try:
                while True:
                    d = self.alloc_desc()
                    if d is not None:
                        return d
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    kick()
                    self._cv.wait(min(left, 0.05))
            finally:
                self._waiters -= 1

    def free_desc(self, d: Descriptor) -> None:
        """``idxd_free_desc``: back to the WQ; wakes one sleeping submitter."""
        d.src = d.output = b""  # drop the page references
        d.fault = d.on_done = None
        d.flags = 0
        d.state = FREE
        self._free.append(d)
        if self._waiters:
            with self._cv:
                self._cv.notify()

    @property
    def in_use(self) -> int:
        return self.depth - len(self._free)

    def free_descs(self) -> list[Descriptor]:
        """The descriptors not in use now (a copy; for tests and debugging)."""
        return list(self._free)


class IaaDevice:
    """One IAA device with its WQs and engine threads (kernel: ``struct iaa_device``)."""

    def __init__(
        self, dev_id: int, package: int, n_wqs: int, depth: int, n_threads: int, codec: Literal["zlib", "isal"]
    ) -> None:
        self.id = dev_id
        self.package = package
        self.wqs = [IaaWq(dev_id, i, depth) for i in range(n_wqs)]
        self.codec = codec
        # Queue operations take the raw lock; engines and pollers sleep on the Conditions.
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._finished = threading.Condition(self._lock)
        self._queues: list[deque[Descriptor]] = [deque() for _ in range(n_wqs)]
        self._n_threads = n_threads
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._next_wq = 0
        self._pollers = 0

    # -- the submitting CPU runs the work --------------------------------------------

    def run_inline(self, d: Descriptor) -> None:
        """Run an OWNED descriptor on the calling thread (it would spin on the record)."""
        execute(d, self.codec)
        d.state = DONE

    # -- hand-off to the engine threads ----------------------------------------------

    def submit(self, descs: list[Descriptor], notify: bool = True) -> None:
        """Queue OWNED descriptors on their WQs (``idxd_submit_desc``), waking the engines."""
        with self._lock:
            if not self._stopping and not self._alive_locked():
                self._start_locked()
            for d in descs:
                d.state = QUEUED
                self._queues[d.wq.index].append(d)
            if notify:
                self._work.notify(min(len(descs), self._n_threads))

    def kick(self) -> None:
        """Wake an engine if anything is queued (a submitter is waiting for a descriptor)."""
        with self._lock:
            if any(self._queues):
                if not self._stopping and not self._alive_locked():
                    self._start_locked()
                self._work.notify()

    def claim(self, d: Descriptor) -> bool:
        """Take a QUEUED descriptor back for the calling thread; False if an engine has it."""
        with self._lock:
            if d.state != QUEUED:
                return False
            q = self._queues[d.wq.index]
            if q[-1] is d:
                q.pop()
            else:
                q.remove(d)
            d.state = RUNNING
        return True

    def wait_done(self, d: Descriptor, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) for an engine to finish ``d``; True when it did."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._pollers += 1
            try:
                while d.state in (QUEUED, RUNNING):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._finished.wait(left)
                return True
            finally:
                self._pollers -= 1

    def abandon(self, d: Descriptor) -> bool:
        """Give up waiting for ``d``; the engine frees it when it is done.  False if it is done."""
        with self._lock:
            if d.state == DONE:
                return False
            if d.state == QUEUED:
                self._queues[d.wq.index].remove(d)
                d.state = ABANDONED
                d.status = LOST
                return True
            d.state = ABANDONED
            return True

    @property
    def busy(self) -> bool:
        return any(wq.in_use for wq in self.wqs)

    # -- engines ------------------------------------------------------------------------

    def _alive_locked(self) -> bool:
        """All engine threads running; a dead one is dropped, so the next start replaces it."""
        alive = [t for t in self._threads if t.is_alive()]
        if len(alive) == len(self._threads) == self._n_threads:
            return True
        self._threads = alive
        return False

    def _start_locked(self) -> None:
        for k in range(len(self._threads), self._n_threads):
            t = threading.Thread(target=self._engine, name=f"iaa{self.id}-engine{k}", daemon=True)
            self._threads.append(t)
            t.start()

    def _take_locked(self) -> Descriptor | None:
        qs = self._queues
        n = len(qs)
        for i in range(n):
            q = qs[(self._next_wq + i) % n]
            if q:
                self._next_wq = (self._next_wq + i + 1) % n
                d = q.popleft()
                d.state = RUNNING
                return d
        return None

    def _engine(self) -> None:
        work = self._work
        while True:
            with work:
                d = self._take_locked()
                while d is None:
                    if self._stopping:
                        return
                    work.wait()
                    d = self._take_locked()
            try:
                execute(d, self.codec)
            except BaseException:  # an engine must never die: report a device error
                d.status = INVALID
            self._finish(d)

    def _finish(self, d: Descriptor) -> None:
        with self._lock:
            abandoned = d.state == ABANDONED
            d.state = DONE
            if self._pollers:
                self._finished.notify_all()
            cb = d.on_done
        if abandoned:
            d.wq.free_desc(d)  # its waiter gave up: nobody else will free it
        elif cb is not None:
            try:
                cb(d)
            except BaseException as exc:  # a completion handler's bug must not kill the engine
                report_unraisable("acomp_iaa: a completion handler raised; ignored", exc, d)

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the engine threads; True when all of them ended.

        Descriptors still queued complete as lost, so no waiter hangs.
        """
        with self._lock:
            self._stopping = True
            dropped = [d for q in self._queues for d in q]
            for q in self._queues:
                q.clear()
            for d in dropped:
                d.status = LOST
            self._work.notify_all()
        for d in dropped:
            self._finish_dropped(d)
        for t in self._threads:
            t.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    def _finish_dropped(self, d: Descriptor) -> None:
        d.state = RUNNING
        self._finish(d)

    @property
    def threads(self) -> list[threading.Thread]:
        return list(self._threads)
