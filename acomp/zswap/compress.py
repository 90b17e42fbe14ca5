"""Compression and decompression under a context (kernel: ``zswap_compress_folio``,
``zswap_compress``, ``zswap_batch_compress``, ``zswap_decompress``).

As the seed's v5 (patches 10-12): a folio of more than one page goes through
``tfm.batch_compress`` in batches of the context's ``nr_reqs`` when it has
several (the mutex held per batch); otherwise page by page through
``tfm.compress`` (the mutex held per page).  The compressor's capacity is
``PAGE_SIZE``: a page whose output does not fit fails its request.

Incompressible pages, by policy:

* v5 (default): any failed request rejects the folio; each failing request
  counts ``reject_compress_poor`` for ``ENOSPC`` and ``reject_compress_fail``
  otherwise.  An output that fits is stored compressed, even one of exactly
  ``PAGE_SIZE`` bytes.
* ``store_incompressible`` (mainline >= 6.18, ``zswap_compress``): a failed
  request, an empty output or one of ``PAGE_SIZE`` or more is stored as-is
  (a page of ``PAGE_SIZE`` bytes); with writeback disabled it rejects the
  folio instead, a no-gain output counted as ``-EINVAL`` (compress_fail).

Either way ``zs_malloc`` failing with ``ENOSPC`` counts compress_poor, any
other allocation failure ``reject_alloc_fail``.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from acomp import PAGE_SIZE, AcompError, InvalidArgument, InvalidData, NotSupported
from acomp.zswap.entry import ZswapEntry

if TYPE_CHECKING:
    import threading

    from acomp import Request, Transform
    from acomp.driver import BufferLike
    from acomp.zswap.pool import ZswapPool
    from acomp.zswap.stats import ZswapEvents

__all__ = ["count_reject", "zswap_compress_folio", "zswap_decompress"]

#: Every possible entry length as one shared int object: entries of the same length
#: share it instead of each holding its own (28 bytes a page).
_LENGTHS = tuple(range(PAGE_SIZE + 1))


def count_reject(events: ZswapEvents, err: AcompError | None) -> None:
    """One failed compression: ``reject_compress_poor`` for ENOSPC, else ``reject_compress_fail``.

    ``None`` is a no-gain output refused under ``store_incompressible``
    (6.18 turns it into ``-EINVAL``).
    """
    if err is not None and err.errno == errno.ENOSPC:
        events.add("reject_compress_poor")
    else:
        events.add("reject_compress_fail")


def _count_alloc(events: ZswapEvents, err: AcompError) -> None:
    events.add("reject_compress_poor" if err.errno == errno.ENOSPC else "reject_alloc_fail")


def zswap_compress_folio(
    pool: ZswapPool, mv: memoryview, nr: int, as_is: bool, writeback: bool, events: ZswapEvents
) -> list[ZswapEntry] | None:
    """Compress and allocate the ``nr`` pages of ``mv``; their entries, or None (all freed, counted).

    ``as_is``: the ``store_incompressible`` policy; ``writeback``: the memcg
    writeback switch it consults.  The caller holds ``pool`` (a ref).
    """
    ctx = pool.get_ctx()
    out: list[ZswapEntry] = []
    try:
        if ctx.nr_reqs > 1 and nr > 1:
            ok = _batches(pool, ctx.tfm, ctx.reqs, ctx.buffers, ctx.lock, mv, nr, as_is, writeback, events, out)
        else:
            ok = _pages(pool, ctx.tfm, ctx.reqs[0], ctx.buffers[0], ctx.lock, mv, nr, as_is, writeback, events, out)
    except BaseException:
        # A driver raised past the core (KeyboardInterrupt, SystemExit...):
        # free the folio's objects so far, then let it propagate.
        _free(pool, out)
        raise
    if ok:
        return out
    _free(pool, out)
    return None


def _free(pool: ZswapPool, entries: list[ZswapEntry]) -> None:
    for e in entries:
        pool.zs.free(e.handle)


def _pages(
    pool: ZswapPool,
    tfm: Transform,
    req: Request,
    buf: bytearray,
    lock: threading.Lock,
    mv: memoryview,
    nr: int,
    as_is: bool,
    writeback: bool,
    events: ZswapEvents,
    out: list[ZswapEntry],
) -> bool:
    """kernel: the ``zswap_compress`` loop of ``zswap_compress_folio``."""
    store_object = pool.zs.store_object
    append = out.append
    compress = tfm.compress
    lengths = _LENGTHS
    # acquire/release, not ``with``: half the cost of the per-page mutex (measured 76 vs 165 ns).
    acquire, release = lock.acquire, lock.release
    for start in range(0, nr * PAGE_SIZE, PAGE_SIZE):
        page = mv[start : start + PAGE_SIZE]
        acquire()
        try:
            req.src = page
            try:
                dlen = compress(req)
            except AcompError as exc:
                if not (as_is and writeback):
                    count_reject(events, exc)
                    return False
                obj, dlen = bytearray(page), PAGE_SIZE
            else:
                if as_is and (dlen == 0 or dlen >= PAGE_SIZE):
                    if not writeback:
                        count_reject(events, None)  # no gain: -EINVAL (6.18)
                        return False
                    obj, dlen = bytearray(page), PAGE_SIZE
                else:
                    # The one copy: the context's buffer into the object zsmalloc keeps (the
                    # slice is that copy: measured 83 ns against 176 ns for bytearray(view[:n])).
                    obj = buf[:dlen]
            try:
                handle = store_object(obj)
            except AcompError as exc:
                _count_alloc(events, exc)
                return False
        finally:
            release()
        append(ZswapEntry(pool, handle, lengths[dlen]))
    return True


def _batches(
    pool: ZswapPool,
    tfm: Transform,
    reqs: list[Request],
    buffers: list[bytearray],
    lock: threading.Lock,
    mv: memoryview,
    nr: int,
    as_is: bool,
    writeback: bool,
    events: ZswapEvents,
    out: list[ZswapEntry],
) -> bool:
    """kernel: ``zswap_batch_compress`` for each batch of the folio (v5 patch 12)."""
    step = len(reqs)
    store_object = pool.zs.store_object
    for start in range(0, nr, step):
        n = min(step, nr - start)
        batch = reqs if n == step else reqs[:n]
        base = start * PAGE_SIZE
        with lock:  # the requests are the context's: set them up under its mutex
            for j, req in enumerate(batch):
                req.src = mv[base + j * PAGE_SIZE : base + (j + 1) * PAGE_SIZE]
            tfm.batch_compress(batch)
            # Which requests cannot be stored compressed; v5: any of them fails the batch.
            bad = [
                r
                for r in batch
                if r.err is not None or (as_is and (r.dlen == 0 or r.dlen >= PAGE_SIZE))
            ]
            if bad and not (as_is and writeback):
                for r in bad:
                    count_reject(events, r.err)
                return False
            for j, r in enumerate(batch):
                if r in bad:
                    obj, dlen = bytearray(r.src), PAGE_SIZE
                else:
                    dlen = r.dlen
                    obj = buffers[j][:dlen]
                try:
                    handle = store_object(obj)
                except AcompError as exc:
                    _count_alloc(events, exc)
                    return False
                out.append(ZswapEntry(pool, handle, _LENGTHS[dlen]))
    return True


def zswap_decompress(pool: ZswapPool, entry: ZswapEntry, dst: BufferLike, raw_length: int, events: ZswapEvents) -> None:
    """Decompress ``entry`` into ``dst`` (one writable page) under this CPU's context.

    A page stored as-is (``raw_length``) is copied.  When the pool's driver
    fails, another driver of the same wire format reads the page
    (``decompress_failover``, acomp only).  Raises the ``AcompError`` of the
    read; ``InvalidArgument`` when the object or the pool went away meanwhile
    (a racing caller re-checks its entry).  Counting ``decompress_fail`` is
    the caller's, which alone knows whether the entry was still current.
    """
    try:
        ctx = pool.ctxs[pool.cpus.local.cpu]
    except AttributeError:
        ctx = pool.ctxs[pool.cpus.current()]
    lock = ctx.lock
    lock.acquire()  # the per-page mutex: acquire/release, not ``with`` (76 vs 165 ns)
    try:
        if pool.dead:
            raise InvalidArgument(f"zswap: pool {pool.id} was torn down")
        src = pool.zs.read(entry.handle)
        if entry.length == raw_length:
            dst[:PAGE_SIZE] = src  # type: ignore[index]
            return
        req = ctx.dreq
        req.src = src
        req.dst = dst
        try:
            dlen = ctx.tfm.decompress(req)
        except AcompError as exc:
            dlen = _decompress_failover(pool, req, exc, events)
        if dlen != PAGE_SIZE:
            raise InvalidData(
                f"zswap: driver {ctx.tfm.driver_name!r} (plugin {ctx.tfm.record.plugin!r}) "
                f"decompressed {dlen} bytes, expected {PAGE_SIZE}"
            )
    finally:
        lock.release()


def _decompress_failover(pool: ZswapPool, req: Request, exc: AcompError, events: ZswapEvents) -> int:
    """The pool's driver failed: another reader of its wire format gets the page, if any."""
    # Any driver of the same wire format can read the page: a device error
    # (or a disabled device) must not cost the page.
    reader = pool.reader()
    if reader is None:
        if pool.usable():
            raise exc
        raise NotSupported(f"zswap: {pool.driver_name} is unusable and no driver reads {pool.wire_format}") from exc
    events.add("decompress_failover")
    return reader.decompress(req)
