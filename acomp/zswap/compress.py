"""The work zswap does under a context (kernel: ``zswap_compress``, ``zswap_decompress``).

:func:`zswap_compress_pages` compresses a folio's pages through one
``crypto_acomp_ctx`` (in batches when the context has several requests, as in
the seed's ``zswap_compress_folio``) and copies each result into zsmalloc;
:func:`zswap_decompress` reads one entry back through its own pool, falling
back to another driver of the same wire format when the pool's driver fails.
Both are per page: the per-folio setup is hoisted out of the page loops.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from acomp import PAGE_SIZE, AcompError, InvalidArgument, InvalidData, NotSupported
from acomp.zswap.lru import HANDLE_SHIFT, LEN_MASK, LEN_SHIFT, POOL_SHIFT, REFERENCED
from acomp.zswap.pool import AcompCtx, ZswapPool
from acomp.zswap.stats import ZswapEvents

if TYPE_CHECKING:
    from acomp import Request, Transform
    from acomp.driver import BufferLike

__all__ = ["count_reject", "zswap_compress_pages", "zswap_decompress"]


def zswap_compress_pages(
    pool: ZswapPool, ctx: AcompCtx, mv: memoryview, nr: int, out: list[int], as_is: bool, events: ZswapEvents
) -> bool:
    """Compress and allocate the ``nr`` pages of ``mv``, appending one entry each to ``out``.

    Call with ``ctx.lock`` held.  A page that fails or does not shrink is
    stored as-is when ``as_is`` (writeback enabled); otherwise it stops the
    folio: the reject is counted and False returned (``out`` holds the
    entries so far, for the caller to free).
    """
    tfm = ctx.tfm
    reqs = ctx.reqs
    zs_store = pool.zs.store
    tag = pool.id << POOL_SHIFT | REFERENCED
    step = len(reqs)
    if step > 1:
        for start in range(0, nr, step):
            n = min(step, nr - start)
            batch = reqs if n == step else reqs[:n]
            base = start * PAGE_SIZE
            for j, req in enumerate(batch):
                req.src = mv[base + j * PAGE_SIZE : base + (j + 1) * PAGE_SIZE]
            tfm.batch_compress(batch)
            for req in batch:
                dlen = req.dlen
                if req.err is None and 0 < dlen < PAGE_SIZE:
                    h = zs_store(memoryview(req.dst)[:dlen])
                elif as_is:
                    dlen = PAGE_SIZE
                    h = zs_store(req.src)
                else:
                    count_reject(events, req.err)
                    return False
                out.append(h << HANDLE_SHIFT | dlen << LEN_SHIFT | tag)
        return True
    req = reqs[0]
    dst = memoryview(req.dst)
    for i in range(nr):
        page = mv[i * PAGE_SIZE : (i + 1) * PAGE_SIZE]
        req.src = page
        try:
            dlen = tfm.compress(req)
        except AcompError:
            dlen = PAGE_SIZE
        if 0 < dlen < PAGE_SIZE:
            h = zs_store(dst[:dlen])
        elif as_is:
            dlen = PAGE_SIZE
            h = zs_store(page)
        else:
            count_reject(events, req.err)
            return False
        out.append(h << HANDLE_SHIFT | dlen << LEN_SHIFT | tag)
    return True


def count_reject(events: ZswapEvents, err: AcompError | None) -> None:
    """A page zswap will not store as-is: ``reject_compress_poor`` (no gain, ENOSPC) or ``_fail``."""
    if err is None or err.errno == errno.ENOSPC:
        events.add("reject_compress_poor")
    else:
        events.add("reject_compress_fail")


def zswap_decompress(pool: ZswapPool, entry: int, out: BufferLike, events: ZswapEvents) -> None:
    """Decompress ``entry`` (of ``pool``) into ``out``, one writable page.

    A failure with no driver left to read the page counts ``decompress_fail``
    and raises the :class:`AcompError`.
    """
    length = (entry >> LEN_SHIFT) & LEN_MASK
    src = pool.zs.view(entry >> HANDLE_SHIFT, length)
    if length == PAGE_SIZE:
        memoryview(out).cast("B")[:PAGE_SIZE] = src
        return
    ctx = pool.get_ctx()
    if ctx is None:  # cannot happen while the entry holds the pool
        raise InvalidArgument(f"zswap: pool {pool.id} torn down under a live entry")
    with ctx.lock:
        req = ctx.reqs[0]
        saved = req.dst
        req.src = src
        req.dst = out
        try:
            dlen = _decompress_one(pool, ctx.tfm, req, events)
            if dlen != PAGE_SIZE:
                raise InvalidData(
                    f"zswap: driver {ctx.tfm.driver_name!r} (plugin {ctx.tfm.record.plugin!r}) "
                    f"decompressed {dlen} bytes, expected {PAGE_SIZE}"
                )
        except AcompError:
            events.add("decompress_fail")
            raise
        finally:
            req.dst = saved


def _decompress_one(pool: ZswapPool, tfm: Transform, req: Request, events: ZswapEvents) -> int:
    """Decompress through the pool's driver; on its error, through another reader of its wire format."""
    try:
        return tfm.decompress(req)
    except AcompError as exc:
        # Any driver of the same wire format can read the page: a device
        # error (or a disabled device) must not cost the page.
        reader = pool.reader()
        if reader is None:
            if pool.usable():
                raise
            raise NotSupported(f"zswap: {pool.driver_name} is unusable and no driver reads {pool.wire_format}") from exc
    events.add("decompress_failover")
    return reader.decompress(req)
