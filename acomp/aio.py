"""Awaitables for asyncio users: ``await acomp.aio.compress(tfm, req)``.

The request is submitted without blocking (:meth:`acomp.Transform.submit`); its
completion, on whichever thread the driver completes it, resolves a future on
the caller's event loop through ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from acomp.errors import TimedOut
from acomp.request import Request

if TYPE_CHECKING:
    from acomp.driver import Op
    from acomp.transform import Transform

__all__ = ["compress", "decompress", "submit"]


#: Default bound on an awaited request: a driver that never completes cannot hang the caller.
DEFAULT_TIMEOUT = 30.0


async def submit(tfm: Transform, req: Request, op: Op = "compress", timeout: float | None = DEFAULT_TIMEOUT) -> int:
    """Submit ``req`` and wait for it (and its chain); return ``req.dlen``, raise ``req.err``.

    After ``timeout`` seconds without completion :class:`~acomp.errors.TimedOut`
    is raised (the request stays owned by the driver; do not reuse it).
    """
    loop = asyncio.get_running_loop()
    reqs = req.requests()
    future: asyncio.Future[None] = loop.create_future()
    remaining = [len(reqs)]

    def settle() -> None:
        if not future.done():
            future.set_result(None)

    def on_done(_r: Request) -> None:  # on the completing thread, after the caller's callback
        remaining[0] -= 1
        if remaining[0] == 0:
            loop.call_soon_threadsafe(settle)

    for r in reqs:
        r._notify = on_done
    try:
        tfm.submit(req, op)
    except BaseException:
        for r in reqs:
            r._notify = None
        raise
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
