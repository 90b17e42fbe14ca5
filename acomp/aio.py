"""Awaitables for asyncio users: ``await acomp.aio.compress(tfm, req)``.

The request is submitted without blocking (:meth:`Transform.submit`); its
completion, on whichever thread the driver completes it, resolves a future on
the caller's event loop through ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from acomp.request import Request

if TYPE_CHECKING:
    from acomp.driver import Op
    from acomp.transform import Transform

__all__ = ["compress", "decompress", "submit"]


async def submit(tfm: Transform, req: Request, op: Op = "compress") -> int:
    """Submit ``req`` and wait for it (and its chain); return ``req.dlen``, raise ``req.err``."""
    loop = asyncio.get_running_loop()
    reqs = req.requests()
    future: asyncio.Future[None] = loop.create_future()
    remaining = [len(reqs)]
    user_callbacks = {id(r): r.callback for r in reqs}

    def settle() -> None:
        if not future.done():
            future.set_result(None)

    def on_done(r: Request) -> None:
        cb = user_callbacks.get(id(r))
        r.callback = cb
        if cb is not None:
            cb(r)
        remaining[0] -= 1
        if remaining[0] == 0:
            loop.call_soon_threadsafe(settle)

    for r in reqs:
        r.callback = on_done
    try:
        tfm.submit(req, op)
    except BaseException:
        for r in reqs:
            r.callback = user_callbacks[id(r)]
        raise
    await future
    if req.err is not None and not req._chain:
        raise req.err
    return req.dlen


async def compress(tfm: Transform, req: Request) -> int:
    """``await``-able compress; see :func:`submit`."""
    return await submit(tfm, req, "compress")


async def decompress(tfm: Transform, req: Request) -> int:
    """``await``-able decompress; see :func:`submit`."""
    return await submit(tfm, req, "decompress")
