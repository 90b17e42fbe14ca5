"""acomp only: awaitables for asyncio users, ``await acomp.aio.compress(tfm, req)``.

The request is submitted without blocking (:meth:`acomp.Transform.submit`); its
completion, on whichever thread the driver or worker completes it, resolves a
future on the caller's event loop through ``call_soon_threadsafe``.  A request
that completed synchronously (``submit`` returned 0) is answered at once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from acomp.errors import InvalidArgument, TimedOut
from acomp.request import PENDING, Request

if TYPE_CHECKING:
    from acomp.driver import Op
    from acomp.transform import Transform

__all__ = ["DEFAULT_TIMEOUT", "compress", "decompress", "submit"]


#: Default bound on an awaited request: a driver that never completes cannot hang the caller.
DEFAULT_TIMEOUT = 30.0


async def submit(tfm: Transform, req: Request, op: Op = "compress", timeout: float | None = DEFAULT_TIMEOUT) -> int:
    """Submit ``req`` and wait for it (and its chain); return ``req.dlen``, raise ``req.err``.

    For a chain, nothing is raised: check each request's ``err``.  After
    ``timeout`` seconds without completion :class:`~acomp.errors.TimedOut` is
    raised (the request stays owned by the driver; do not reuse it).
    """
    if not isinstance(req, Request):
        raise InvalidArgument(f"req must be an acomp.Request, got {type(req).__name__}")
    if any(r._state == PENDING for r in req.requests()):
        raise InvalidArgument("request already in flight")  # before touching the first awaiter's hook
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def settle() -> None:
        if not future.done():
            future.set_result(None)

    def on_done(_r: Request) -> None:  # on the completing thread, after the caller's callback
        try:
            loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop closed: the awaiter is gone, nobody to tell
            pass

    # The head completes last, for a chain too.
    req._notify = on_done
    try:
        rc = tfm.submit(req, op)
    except BaseException:
        req._notify = None
        raise
    if rc == 0:  # completed synchronously: the hook never fires
        req._notify = None
    else:
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            raise TimedOut(
                f"{tfm.driver_name} (plugin {tfm.record.plugin!r}) did not complete the request in {timeout}s"
            ) from None
    if req.err is not None and not req._chain:
        raise req.err
    return req.dlen


async def compress(tfm: Transform, req: Request, timeout: float | None = DEFAULT_TIMEOUT) -> int:
    """``await``-able compress; see :func:`submit`."""
    return await submit(tfm, req, "compress", timeout)


async def decompress(tfm: Transform, req: Request, timeout: float | None = DEFAULT_TIMEOUT) -> int:
    """``await``-able decompress; see :func:`submit`."""
    return await submit(tfm, req, "decompress", timeout)
