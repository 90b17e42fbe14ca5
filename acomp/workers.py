"""acomp only: the worker threads behind ``tfm.submit`` for synchronous drivers.

The kernel's software compressors (scomp) are synchronous: they never return
``-EINPROGRESS``, and nothing queues their requests.  acomp still gives them
an async surface (``tfm.submit``, callbacks, ``await``) for Python callers:
their requests run here, on a bounded queue with a backlog, served by a few
daemon threads.  ``enqueue`` returns ``EINPROGRESS`` when the work was queued,
``EBUSY`` when it went to the backlog (it still runs), and raises
:class:`~acomp.errors.Busy` when the queue is full and the work may not
backlog (or the backlog is full too): the semantics of a kernel queue with
``CRYPTO_TFM_REQ_MAY_BACKLOG``, borrowed for the same purpose.

A worker never dies of what a work item raises: the item is expected to
record its own outcome, anything that escapes is reported and dropped.  A
worker that died anyway (it cannot, short of interpreter shutdown) is
replaced on the next ``enqueue``.

A worker takes half the queue (at least one item) per wake-up and wakes the
other for the rest, so a burst of submissions costs a hand-off per worker,
not one per item.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import traceback
import types
from collections import deque
from collections.abc import Callable
from typing import Any, cast

from acomp.errors import Busy, InvalidArgument

__all__ = ["DEFAULT_MAX_BACKLOG", "DEFAULT_MAX_QLEN", "WorkerPool", "get_pool", "report_unraisable", "set_pool"]

#: Work items queued (not yet started) before submissions get EBUSY.
DEFAULT_MAX_QLEN = 1024
#: Work items allowed in the backlog beyond the queue; past it EBUSY is a failure.
DEFAULT_MAX_BACKLOG = 4096

Work = Callable[[], None]


def report_unraisable(message: str, exc: BaseException, obj: object = None) -> None:
    """Report an exception that nobody can receive (a callback's, a work item's) without raising.

    Goes through :data:`sys.unraisablehook` (pytest and ``python -X dev`` show it),
    so neither ``-W error`` nor a raising warning filter can turn the report into
    a new exception on a worker thread.
    """
    # sys.UnraisableHookArgs cannot be built from Python; the hook reads these five fields.
    args = types.SimpleNamespace(
        exc_type=type(exc), exc_value=exc, exc_traceback=exc.__traceback__, err_msg=message, object=obj
    )
    try:
        try:
            sys.unraisablehook(cast(Any, args))
        except TypeError:  # the default (C) hook takes only its own type: write what it would
            sys.stderr.write(f"Exception ignored in: {obj!r} ({message})\n")
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    except BaseException:  # a broken hook or stderr must not kill the reporter either
        pass


class WorkerPool:
    """A bounded work queue with a backlog, served by ``workers`` daemon threads."""

    def __init__(
        self,
        workers: int = 2,
        max_qlen: int = DEFAULT_MAX_QLEN,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
        name: str = "acomp-worker",
    ) -> None:
        for arg, value, low in (("workers", workers, 1), ("max_qlen", max_qlen, 1), ("max_backlog", max_backlog, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidArgument(f"{arg} must be an int >= {low}, got {value!r}")
        self.max_qlen = max_qlen
        self.max_backlog = max_backlog
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[Work] = deque()
        self._backlog: deque[Work] = deque()
        self._workers = workers
        self._name = name
        self._threads: list[threading.Thread] = []

    @property
    def qlen(self) -> int:
        return len(self._queue)

    @property
    def backlog_len(self) -> int:
        return len(self._backlog)

    def enqueue(self, work: Work, may_backlog: bool) -> int:
        """Queue ``work``; return ``errno.EINPROGRESS`` or ``errno.EBUSY`` (backlogged)."""
        with self._cond:
            self._ensure_workers()
            if len(self._queue) < self.max_qlen and not self._backlog:
                self._queue.append(work)
                self._cond.notify()
                return errno.EINPROGRESS
            if may_backlog and len(self._backlog) < self.max_backlog:
                self._backlog.append(work)
                return errno.EBUSY
        raise Busy(
            f"acomp worker queue full ({self.max_qlen} queued, {len(self._backlog)} backlogged)"
            + ("" if may_backlog else "; set RequestFlags.MAY_BACKLOG to backlog")
        )

    def _ensure_workers(self) -> None:
        alive = [t for t in self._threads if t.is_alive()]
        for _ in range(self._workers - len(alive)):
            t = threading.Thread(target=self._serve, name=f"{self._name}-{len(alive)}", daemon=True)
            t.start()
            alive.append(t)
        self._threads = alive

    def threads(self) -> list[threading.Thread]:
        """The live worker threads (tests)."""
        with self._cond:
            return [t for t in self._threads if t.is_alive()]

    def _serve(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while not self._queue:
                    cond.wait()
                # Half the queue per wake-up (at least one): the other worker gets the rest.
                take = max(1, (len(self._queue) + 1) // 2)
                batch = [self._queue.popleft() for _ in range(take)]
                while self._backlog and len(self._queue) < self.max_qlen:
                    self._queue.append(self._backlog.popleft())
                if self._queue:
                    cond.notify()
            for work in batch:
                try:
                    work()
                except BaseException as exc:  # a work item records its own outcome; never die of it
                    report_unraisable("acomp: a worker's work item raised", exc, work)


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def get_pool() -> WorkerPool:
    """The process-wide pool for synchronous drivers' submissions (started on first use)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = WorkerPool(workers=max(2, min(4, _cpu_count())))
    return _pool


def set_pool(pool: WorkerPool | None) -> WorkerPool | None:
    """Install ``pool`` as the process-wide pool (None: a default one on next use); return the old one.

    Tests use this to run with a small queue.
    """
    global _pool
    with _pool_lock:
        old, _pool = _pool, pool
    return old


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
