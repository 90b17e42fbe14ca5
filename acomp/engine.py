"""The core's async executor for drivers without an async path of their own.

Kernel counterpart: ``crypto/crypto_engine.c`` with a ``crypto_queue``: a
bounded queue served by worker threads, and a backlog for requests flagged
``CRYPTO_TFM_REQ_MAY_BACKLOG``.  ``enqueue`` returns ``EINPROGRESS`` when the
request was queued, ``EBUSY`` when it went to the backlog (it completes later),
and raises :class:`~acomp.errors.Busy` when the queue is full and the request
may not backlog (or the backlog is full too).

A worker takes half the queue (at least one item) per wake-up and wakes the
other for the rest, so a burst of submissions costs a hand-off per worker,
not one per request.
"""

from __future__ import annotations

import errno
import threading
from collections import deque
from collections.abc import Callable

from acomp.errors import Busy

__all__ = ["DEFAULT_MAX_BACKLOG", "DEFAULT_MAX_QLEN", "CryptoEngine", "get_engine", "set_engine"]

#: Requests queued (not yet started) before submissions get EBUSY.
DEFAULT_MAX_QLEN = 1024
#: Requests allowed in the backlog beyond the queue; past it EBUSY is a failure.
DEFAULT_MAX_BACKLOG = 4096

Work = Callable[[], None]


class CryptoEngine:
    """A bounded work queue with a backlog, served by ``workers`` daemon threads."""

    def __init__(
        self,
        workers: int = 2,
        max_qlen: int = DEFAULT_MAX_QLEN,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
        name: str = "acomp-engine",
    ) -> None:
        if workers < 1 or max_qlen < 1 or max_backlog < 0:
            raise ValueError("workers and max_qlen must be >= 1, max_backlog >= 0")
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
            if not self._threads:
                self._start()
            if len(self._queue) < self.max_qlen and not self._backlog:
                self._queue.append(work)
                self._cond.notify()
                return errno.EINPROGRESS
            if may_backlog and len(self._backlog) < self.max_backlog:
                self._backlog.append(work)
                return errno.EBUSY
        raise Busy(
            f"acomp engine queue full ({self.max_qlen} queued, {len(self._backlog)} backlogged)"
            + ("" if may_backlog else "; set RequestFlags.MAY_BACKLOG to backlog")
        )

    def _start(self) -> None:
        for i in range(self._workers):
            t = threading.Thread(target=self._serve, name=f"{self._name}-{i}", daemon=True)
            t.start()
            self._threads.append(t)

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
                work()


_engine: CryptoEngine | None = None
_engine_lock = threading.Lock()


def get_engine() -> CryptoEngine:
    """The process-wide engine for software drivers (started on first use)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = CryptoEngine(workers=max(2, min(4, _cpu_count())))
    return _engine


def set_engine(engine: CryptoEngine | None) -> CryptoEngine | None:
    """Install ``engine`` as the process-wide engine (None: a default one on next use).

    Returns the previous engine.  Tests use this to run with a small queue.
    """
    global _engine
    with _engine_lock:
        old, _engine = _engine, engine
    return old


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
