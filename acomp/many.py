"""Many buffers in one call (acomp only; the kernel has no counterpart).

``compress_many(srcs, alg)`` and ``decompress_many(srcs, alg, max_size=...)``
return one item per source, in order: the output (``bytes``, or a
``memoryview`` of the caller's buffer when one was given) or that source's
:class:`~acomp.errors.AcompError`.  One bad source never fails the call; a
mistake about the call as a whole (``dsts`` of the wrong length, bad
``offsets``) raises :class:`~acomp.errors.InvalidArgument`.

How the work is run (see docs/many-buffers.md):

* Inline, a loop on the calling thread over the driver's one-buffer call.
* Spread, for drivers that declare ``releases_gil``: shares taken by the
  calling thread and acomp's helper threads (one per further core, started
  once: a thread start costs about 0.5 ms here, more than a small call's
  work).  A driver with a native many-buffer call
  (:meth:`acomp.driver.Driver.compress_many`, e.g. zstd's
  ``multi_compress_to_buffer``) gets each share in one C call without the GIL.
* Which one is decided per call from measured costs (:mod:`acomp._many_cost`):
  a call estimated below a few helper wake-ups runs inline; a bigger one runs
  its first 1/32 inline and the rest spread, and that pair, timed under the
  same load, tells whether the next calls spread.
* The asyncio forms run the shares on the helper threads only.  Cancelling
  the awaiting task stops the shares not yet started and waits for the
  running ones, so no thread works for a call that is gone.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Union

from acomp._many_call import ManyCall, dst_views
from acomp._many_cost import (
    POOL,
    PROBE_SHARE,
    Job,
    _costs,
    _forced,
    cost_of,
    forced_mode,
    record_inline,
    record_pair,
    share_items,
)
from acomp.driver import Op
from acomp.errors import AcompError, InvalidArgument, TimedOut
from acomp.registry import get_registry
from acomp.request import DST_MAX, BufferLike

if TYPE_CHECKING:
    from acomp.transform import Transform

__all__ = [
    "ManyResult",
    "compress_many",
    "compress_many_async",
    "decompress_many",
    "decompress_many_async",
    "release_transforms",
    "transform_compress_many",
    "transform_decompress_many",
]

#: One item of a many-buffer call's result.
ManyResult = Union[bytes, memoryview, AcompError]

#: Default bound on an awaited many-buffer call (as :data:`acomp.aio.DEFAULT_TIMEOUT`).
DEFAULT_TIMEOUT = 30.0
#: How long a cancelled asyncio call waits for its running shares to end.
CANCEL_DRAIN_TIMEOUT = 30.0
#: Sources per share of an asyncio call whose cost was never measured.
UNKNOWN_SHARE = 8
#: Transforms kept per thread for the top-level calls (a fresh zstd context costs ~40 µs).
TRANSFORM_CACHE = 8


# -- the public calls -------------------------------------------------------------------


def compress_many(
    srcs: Sequence[BufferLike], alg: str, *, dsts: Sequence[Any] | None = None, **params: object
) -> list[ManyResult]:
    """Compress every source with ``alg`` (an algorithm or driver name, as for :func:`acomp.alloc`).

    ``dsts``: one writable buffer per source; an output lands at the start of
    its buffer and the item is a ``memoryview`` of the bytes written.
    """
    tfm, owned = _transform(alg, params)
    try:
        return transform_compress_many(tfm, srcs, dsts=dsts)
    finally:
        if owned:
            tfm.close()


def decompress_many(
    srcs: Sequence[BufferLike],
    alg: str,
    *,
    max_size: int = DST_MAX,
    dsts: Sequence[Any] | None = None,
    out: Any = None,
    offsets: Sequence[int] | None = None,
    **params: object,
) -> list[ManyResult]:
    """Decompress every source; an output larger than its bound is that item's ``NoSpace``.

    The bound is ``max_size``, or the length of the source's buffer in
    ``dsts``, or, with ``out`` and ``offsets`` (``len(srcs) + 1`` ascending
    offsets into the one buffer ``out``), the span ``out[offsets[i]:offsets[i + 1]]``
    that source ``i`` decodes into.
    """
    tfm, owned = _transform(alg, params)
    try:
        return transform_decompress_many(tfm, srcs, max_size=max_size, dsts=dsts, out=out, offsets=offsets)
    finally:
        if owned:
            tfm.close()


def transform_compress_many(
    tfm: Transform, srcs: Sequence[BufferLike], *, dsts: Sequence[Any] | None = None
) -> list[ManyResult]:
    """:func:`compress_many` on an allocated transform (``tfm.compress_many``)."""
    return _run(_call(tfm, "compress", srcs, 0, dsts, None, None))


def transform_decompress_many(
    tfm: Transform,
    srcs: Sequence[BufferLike],
    *,
    max_size: int = DST_MAX,
    dsts: Sequence[Any] | None = None,
    out: Any = None,
    offsets: Sequence[int] | None = None,
) -> list[ManyResult]:
    """:func:`decompress_many` on an allocated transform (``tfm.decompress_many``)."""
    return _run(_call(tfm, "decompress", srcs, _max_size(max_size), dsts, out, offsets))


async def compress_many_async(
    tfm: Transform,
    srcs: Sequence[BufferLike],
    *,
    dsts: Sequence[Any] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> list[ManyResult]:
    """Awaitable :func:`compress_many`: the work runs on helper threads, never on the event loop's.

    Cancelling the awaiting task stops the call (shares not started are
    dropped; the running ones end first, so no thread is left working for
    it).  After ``timeout`` seconds :class:`~acomp.errors.TimedOut` is raised.
    """
    return await _run_async(_call(tfm, "compress", srcs, 0, dsts, None, None), timeout)


async def decompress_many_async(
    tfm: Transform,
    srcs: Sequence[BufferLike],
    *,
    max_size: int = DST_MAX,
    dsts: Sequence[Any] | None = None,
    out: Any = None,
    offsets: Sequence[int] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> list[ManyResult]:
    """Awaitable :func:`decompress_many`; as :func:`compress_many_async`."""
    return await _run_async(_call(tfm, "decompress", srcs, _max_size(max_size), dsts, out, offsets), timeout)


# -- running a call ------------------------------------------------------------------------


def _call(
    tfm: Transform,
    op: Op,
    srcs: Sequence[BufferLike],
    max_size: int,
    dsts: Sequence[Any] | None,
    out: Any,
    offsets: Sequence[int] | None,
) -> ManyCall:
    if type(srcs) is not list and type(srcs) is not tuple:
        if isinstance(srcs, (bytes, bytearray, memoryview, str)) or not hasattr(srcs, "__iter__"):
            raise InvalidArgument(f"srcs must be a sequence of buffers, got {type(srcs).__name__}")
        srcs = list(srcs)
    views = None if dsts is None and out is None and offsets is None else dst_views(len(srcs), dsts, out, offsets)
    return ManyCall(tfm, op, srcs, max_size, views)


def _max_size(max_size: int) -> int:
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= 0:
        raise InvalidArgument(f"max_size must be an int > 0, got {max_size!r}")
    return max_size


def _run(call: ManyCall) -> list[ManyResult]:
    # Per call, however small: kept to plain attribute and dict reads.
    srcs = call.srcs
    n = len(srcs)
    mode = _forced[-1] if _forced else None
    if n < 2 or not call.driver.releases_gil or mode == "inline" or not (POOL.helpers or mode):
        call.loop(0, n)
        return call.results
    try:
        total = sum(map(len, srcs)) + n
    except TypeError:  # a source without a length: it fails alone, the others count
        total = _total(srcs)
    # Items of a similar size share a record: powers of 4 of the mean size.
    key = (type(call.driver), call.op, (total // n).bit_length() >> 1)
    cost = _costs.get(key) or cost_of(key)
    if mode == "spread":
        _spread(call, 0, n)
        return call.results
    if cost.inline and cost.inline * total < POOL.spread_min_ns:
        cost.small += 1
        if cost.small & 3:  # a small call: one in 4 is timed, enough to keep the figure current
            call.loop(0, n)
            return call.results
        t0 = time.perf_counter_ns()
        call.loop(0, n)
        record_inline(cost, time.perf_counter_ns() - t0, total)
        return call.results
    # Big enough to spread (or not measured yet): the first part inline, timed ...
    k = max(1, n // PROBE_SHARE)
    head = total * k // n
    t0 = time.perf_counter_ns()
    call.loop(0, k)
    t_head = time.perf_counter_ns() - t0
    record_inline(cost, t_head, head)
    rest = total - head
    if cost.inline * rest >= POOL.spread_min_ns and cost.spread_pays():
        # ... and the rest spread: the pair compares the two ways under the same load, per byte
        # in and out (a zero page is 20 bytes in and 4 KiB out: input alone would skew it).
        t0 = time.perf_counter_ns()
        _spread(call, k, n, cost.inline * rest / (n - k))
        t_rest = time.perf_counter_ns() - t0
        record_pair(cost, t_head, _units(call, 0, k), t_rest, _units(call, k, n))
    else:
        t0 = time.perf_counter_ns()
        call.loop(k, n)
        record_inline(cost, time.perf_counter_ns() - t0, rest)
    return call.results


def _units(call: ManyCall, lo: int, hi: int) -> int:
    """Bytes in and out of sources ``lo..hi-1`` (the unit of a paired measurement)."""
    units = 0
    for part in (call.srcs[lo:hi], call.results[lo:hi]):
        try:
            units += sum(map(len, part))
        except TypeError:  # an error item, or a source without a length
            units += sum(len(x) for x in part if hasattr(type(x), "__len__"))
    return units + 1


def _total(srcs: Sequence[Any]) -> int:
    """Bytes in the sources that have a length, plus one per source (an estimate for the costs)."""
    return sum(len(s) for s in srcs if hasattr(type(s), "__len__")) + len(srcs)


def _spread(call: ManyCall, start: int, n: int, per_item_ns: float = 0.0) -> None:
    """Run sources ``start..n-1`` on the calling thread and the helpers, shares taken as they come."""
    helpers = max(1, POOL.helpers)  # one at least: a forced spread on one core still spreads
    job = Job(call.share, call.fail, start, n, share_items(per_item_ns, n - start, helpers + 1))
    POOL.post(job, helpers)
    try:
        job.work(catch=False)
        job.wait_idle()
    except BaseException:  # e.g. KeyboardInterrupt in the caller's share: stop the helpers first
        job.cancel()
        job.wait_idle()
        raise


async def _run_async(call: ManyCall, timeout: float | None) -> list[ManyResult]:
    n = len(call.srcs)
    if n == 0:
        return call.results
    try:
        total = sum(map(len, call.srcs)) + n
    except TypeError:
        total = _total(call.srcs)
    cost = cost_of((type(call.driver), call.op, (total // n).bit_length() >> 1))
    mode = forced_mode()
    if mode is None and cost.inline and cost.inline * total < POOL.spread_min_ns:
        t0 = time.perf_counter_ns()  # cheaper than the hop to a thread and back
        call.loop(0, n)
        record_inline(cost, time.perf_counter_ns() - t0, total)
        return call.results
    if mode == "inline":
        call.loop(0, n)
        return call.results
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle() -> None:
        if not done.done():
            done.set_result(None)

    def on_idle() -> None:  # on the thread that ran the last share
        try:
            loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop closed meanwhile: nobody is waiting
            pass

    threads = POOL.size if call.driver.releases_gil else 1
    if cost.inline:
        step = share_items(cost.inline * total / n, n, threads)
    else:  # not measured yet: small shares, so a cancel never waits for much
        step = min(UNKNOWN_SHARE, share_items(0.0, n, threads))
    job = Job(call.share if threads > 1 else call.loop, call.fail, 0, n, step, on_idle)
    POOL.post(job, threads)
    try:
        await asyncio.wait_for(asyncio.shield(done), timeout)
    except (asyncio.CancelledError, asyncio.TimeoutError) as exc:
        job.cancel()
        # The running shares end on their own; wait for them, so none outlives the call.
        await asyncio.wait({done}, timeout=CANCEL_DRAIN_TIMEOUT)
        if isinstance(exc, asyncio.TimeoutError):
            raise TimedOut(f"{call.tfm.driver_name}: many-buffer {call.op} did not complete in {timeout}s") from None
        raise
    return call.results


# -- transforms for the top-level calls ---------------------------------------------------

_local = threading.local()


def _transform(alg: str, params: dict[str, object]) -> tuple[Transform, bool]:
    """This thread's transform for ``alg`` and ``params``, and whether the caller must close it.

    A transform is kept (at most :data:`TRANSFORM_CACHE` per thread) and reused
    while the registry still resolves ``alg`` to the same driver and it is
    available; unhashable parameters get a fresh one each call.
    """
    registry = get_registry()
    if params:
        try:
            key: Any = (alg, tuple(sorted(params.items())))
            hash(key)
        except TypeError:
            return _alloc(alg, params), True
    else:
        key = alg
    try:
        cache: dict[Any, tuple[Transform, int]] = _local.tfms
    except AttributeError:
        cache = _local.tfms = {}
    hit = cache.get(key)
    # The registry unchanged since: the name still resolves to this driver (no lookup, ~1 µs).
    if hit is not None and hit[1] == registry.generation and hit[0].driver.available():
        return hit[0], False
    record = registry.lookup(alg)
    if hit is not None and hit[0].record is record and hit[0].driver.available():
        cache[key] = (hit[0], registry.generation)
        return hit[0], False
    tfm = _alloc(alg, params)
    if hit is not None:
        del cache[key]
        hit[0].close()
    if len(cache) >= TRANSFORM_CACHE:
        cache.pop(next(iter(cache)))[0].close()
    cache[key] = (tfm, registry.generation)
    return tfm, False


def release_transforms() -> int:
    """Close the transforms this thread's top-level calls keep (e.g. a device driver's); return how many.

    The next call allocates afresh.
    """
    cache: dict[Any, tuple[Transform, int]] = getattr(_local, "tfms", {})
    n = len(cache)
    while cache:
        cache.popitem()[1][0].close()
    return n


def _alloc(alg: str, params: dict[str, object]) -> Transform:
    from acomp.api import alloc  # not at the top: acomp.api -> acomp.transform -> acomp.many

    return alloc(alg, **params)
