"""The helper threads of the many-buffer calls, and one call's shares (acomp only).

A call's sources are cut into shares; the calling thread and the helpers
take shares until none is left (the caller never waits for a helper that has
not started: such a helper finds the call done and returns).  Helpers are
started once and kept: starting a thread costs about 0.5 ms on the 2-core
machine this was measured on, more than a small call's whole work.

A helper never dies of a share: what a driver raises, ``BaseException``
included, becomes that share's error.  A dead helper (or one lost to
``fork``) is replaced on the next post.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable

__all__ = ["POOL", "HelperPool", "Job"]

#: EWMA weight of a new wake-up measurement.
_WAKE_WEIGHT = 0.125
#: Assumed wake-up time of a helper before one was measured (ns).
_WAKE_GUESS_NS = 50_000.0
#: A call spreads only when its estimated inline time exceeds this many helper wake-ups.
SPREAD_MIN_WAKEUPS = 8
#: Bounds on that threshold (ns): a burst of slow wake-ups cannot switch spreading off for good.
SPREAD_MIN_NS = (100_000.0, 5_000_000.0)


class Job:
    """One call's shares ``[start, end)`` in steps of ``step`` items, run by whoever takes them."""

    __slots__ = (
        "_end",
        "_fail",
        "_idle",
        "_is_idle",
        "_lock",
        "_next",
        "_on_idle",
        "_run",
        "_running",
        "_step",
        "cancelled",
        "posted_ns",
    )

    def __init__(
        self,
        run: Callable[[int, int], None],
        fail: Callable[[int, int, BaseException], None],
        start: int,
        end: int,
        step: int,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self._run = run
        self._fail = fail
        self._next = start
        self._end = end
        self._step = max(1, step)
        self._running = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._is_idle = False
        self._on_idle = on_idle
        self.cancelled = False
        self.posted_ns = 0

    def work(self, catch: bool = True) -> None:
        """Take shares until none is left.  ``catch``: a share's ``BaseException`` becomes its error."""
        lock = self._lock
        while True:
            with lock:
                lo = self._next
                if self.cancelled or lo >= self._end:
                    return
                hi = min(lo + self._step, self._end)
                self._next = hi
                self._running += 1
            try:
                self._run(lo, hi)
            except BaseException as exc:
                if not catch:
                    raise
                self._fail(lo, hi, exc)
            finally:
                self._share_done()

    def cancel(self) -> None:
        """Start no further share; the running ones end on their own."""
        with self._lock:
            self.cancelled = True
        self._share_done(0)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no share runs and none will start; True when that happened."""
        return self._idle.wait(timeout)

    def _share_done(self, ended: int = 1) -> None:
        with self._lock:
            self._running -= ended
            if self._is_idle or self._running or not (self.cancelled or self._next >= self._end):
                return
            self._is_idle = True
        self._idle.set()
        if self._on_idle is not None:
            self._on_idle()


class HelperPool:
    """``size`` daemon threads serving jobs; ``helpers`` of them join a synchronous call."""

    def __init__(self, size: int) -> None:
        #: Threads in the pool (an asyncio call uses all of them).
        self.size = max(1, size)
        #: Threads that join a synchronous call besides the caller's own (0 on one core).
        self.helpers = self.size - 1
        #: EWMA of the time from posting a job to a helper taking it (ns).
        self.wake_ns = _WAKE_GUESS_NS
        #: A call whose estimated inline time is below this (ns) runs inline.
        self.spread_min_ns = _spread_min(self.wake_ns)
        self._reset()

    def _reset(self) -> None:
        self._queue: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self._quiet = threading.Condition(threading.Lock())
        self._busy = 0

    def post(self, job: Job, count: int) -> None:
        """Offer ``job`` to ``count`` helpers."""
        if len(self._threads) < self.size or not all(t.is_alive() for t in self._threads):
            self._start()
        job.posted_ns = time.perf_counter_ns()
        for _ in range(count):
            self._queue.put(job)

    def busy(self) -> int:
        """Helpers running a job now."""
        return self._busy

    def wait_quiet(self, timeout: float) -> bool:
        """Wait until no helper runs a job; True when that happened within ``timeout`` seconds."""
        with self._quiet:
            return self._quiet.wait_for(lambda: self._busy == 0, timeout)

    def _start(self) -> None:
        with self._start_lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            for i in range(len(self._threads), self.size):
                t = threading.Thread(target=self._serve, name=f"acomp-many-{i}", daemon=True)
                t.start()
                self._threads.append(t)

    def _serve(self) -> None:
        get = self._queue.get
        while True:
            job = get()
            # One slow wake-up (a loaded machine) moves the figure at most 4x.
            woke = min(time.perf_counter_ns() - job.posted_ns, 4 * self.wake_ns + 10_000)
            self.wake_ns += _WAKE_WEIGHT * (woke - self.wake_ns)
            self.spread_min_ns = _spread_min(self.wake_ns)
            with self._quiet:
                self._busy += 1
            try:
                job.work()
            except BaseException:  # work() catches a share's errors; this is a last guard for the thread
                pass
            finally:
                with self._quiet:
                    self._busy -= 1
                    if not self._busy:
                        self._quiet.notify_all()


def _spread_min(wake_ns: float) -> float:
    low, high = SPREAD_MIN_NS
    return min(high, max(low, SPREAD_MIN_WAKEUPS * wake_ns))


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


#: The process's helper pool: one thread per core (the calling thread is the last core's).
POOL = HelperPool(_cores())

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=POOL._reset)
