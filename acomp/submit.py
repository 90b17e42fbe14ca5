"""The async path of a transform (kernel: ``-EINPROGRESS`` / ``-EBUSY``, completion, poll).

A request is submitted without blocking and completes exactly once: through
the driver's own async path (``Driver.submit``, e.g. a device's completion),
or through the core's :class:`~acomp.engine.CryptoEngine` worker threads for
drivers without one.  :class:`~acomp.Transform` exposes this as
``tfm.submit`` and ``tfm.poll``; :mod:`acomp.aio` builds awaitables on it.
"""

from __future__ import annotations

import errno
import itertools
import warnings
from typing import TYPE_CHECKING

from acomp.driver import Op, Result
from acomp.engine import get_engine
from acomp.errors import AcompError, InvalidArgument
from acomp.registry import AcompPluginWarning
from acomp.request import DONE, PENDING, Request, RequestFlags

if TYPE_CHECKING:
    from acomp.transform import Transform

__all__ = ["complete", "poll", "submit", "submit_one", "submit_quiet"]


def submit(tfm: Transform, req: Request, op: Op = "compress") -> int:
    """Start ``op`` on ``req`` (and its chain) without blocking.

    Returns ``errno.EINPROGRESS``, or ``errno.EBUSY`` when the request went
    to the backlog (it still completes).  A full queue without
    ``RequestFlags.MAY_BACKLOG`` raises :class:`~acomp.errors.Busy`; the
    request is then not submitted and its callback is not called.
    Completion: ``req.callback(req)`` exactly once, ``poll``, ``req.wait()``
    or ``await acomp.aio.compress(tfm, req)``.
    """
    if op not in ("compress", "decompress"):
        raise InvalidArgument(f"op must be 'compress' or 'decompress', got {op!r}")
    reqs = req.requests()
    if any(r._state == PENDING for r in reqs):
        raise InvalidArgument("request already in flight")
    status = errno.EINPROGRESS
    for r in reqs:
        if submit_one(tfm, r, op) == errno.EBUSY:
            status = errno.EBUSY  # one backlogged request makes the chain's answer EBUSY
    return status


def submit_one(tfm: Transform, req: Request, op: Op) -> int:
    req._begin()
    if tfm._native_async and not req.unit_size:
        cap = tfm._capacity(req, op) if req.dst is None else len(req.dst)
        once = itertools.count()

        def done(res: Result) -> None:
            # A driver must complete once; a second completion would
            # overwrite a result the caller may already be reading.
            if next(once):
                warnings.warn(
                    f"acomp: driver {tfm.driver_name!r} (plugin {tfm.record.plugin!r}) completed "
                    "a request twice; the second completion was ignored",
                    AcompPluginWarning,
                    stacklevel=2,
                )
                return
            complete(tfm, req, res, cap, op)

        try:
            started = tfm.driver.submit(op, req, cap, done)
        except AcompError as exc:
            started = False
            if exc.errno != errno.EBUSY:
                req._state = DONE
                req.err = exc
                raise
        if started:
            return errno.EINPROGRESS
    fn = tfm._compress if op == "compress" else tfm._decompress
    may_backlog = bool(req.flags & RequestFlags.MAY_BACKLOG)

    def work() -> None:
        try:
            if req.unit_size:
                tfm._compound(req, op)
            else:
                tfm._sync(req, fn, op)
        except AcompError:
            pass
        except Exception as exc:  # never let a worker die silently
            req.err = tfm.driver_error(f"failed in the async worker: {exc!r}")
        req._complete(req.err)

    try:
        return get_engine().enqueue(work, may_backlog)
    except AcompError as exc:
        req._state = DONE
        req.err = exc
        raise


def submit_quiet(tfm: Transform, req: Request, op: Op) -> None:
    """Submit one request of a chain; a refusal is that request's outcome, not the chain's."""
    try:
        submit_one(tfm, req, op)
    except AcompError as exc:
        req.dlen, req.err, req._state = 0, exc, DONE


def complete(tfm: Transform, req: Request, res: Result, cap: int, op: Op) -> None:
    if req._state != PENDING:  # completed after its chain gave up on it: too late
        return
    tfm._finish(req, res, cap, op)
    req._complete(req.err)


def poll(req: Request) -> int:
    """Poll a request submitted with ``RequestFlags.POLL`` (kernel: ``crypto_acomp_poll``).

    Returns ``-errno.EAGAIN`` while in flight, then 0, or ``-err.errno`` on failure.
    For a chain head, done means every request of the chain is done.
    """
    if not req.flags & RequestFlags.POLL:
        raise InvalidArgument("poll needs a request submitted with RequestFlags.POLL")
    for r in req.requests():
        if r._state == PENDING:
            return -errno.EAGAIN
    return -req.err.errno if req.err is not None else 0
