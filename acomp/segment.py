"""Segmentation (kernel v6.16+: ``CRYPTO_ALG_REQ_SEG``, ``unit_size``).

Mainline dropped request chaining in v6.16 — "too much book keeping for the
user": every caller had to allocate, link and walk N requests — and moved to
one request whose source spans several ``unit_size`` units and whose
destination has one entry per unit.  Each unit's outcome is its compressed
length, or a negative errno (``-ENOSPC`` for an incompressible unit).

Here a request with ``unit_size`` set is segmented.  ``src`` is one buffer
split into ``unit_size`` pieces, or a list of buffers, one per unit (the way
to pass compressed units, whose sizes vary).  ``unit_size`` is the
uncompressed unit size: it also bounds each unit's output when ``dst`` is
``None`` and the request decompresses.  ``dst`` is a list of writable
buffers, one per unit, or ``None`` (outputs allocated); ``req.seg_dlens``
gets one int per unit.  A driver that opts in
(``Feature.REQ_SEG``) gets the units through its batch hook, ``batch_size``
at a time — the same hook chaining uses, so a driver implements batching once
and serves both API generations.  Other drivers get the trivial wrapper: one
unit at a time through the one-buffer op.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from acomp.driver import Feature, Op, Result
from acomp.errors import AcompError, InvalidArgument
from acomp.request import MAX_SRC_SIZE, BufferLike

if TYPE_CHECKING:
    from acomp.request import Request
    from acomp.transform import Transform

__all__ = ["run_segmented", "split_units"]

#: Most units one segmented request may carry (bounds the per-request lists).
MAX_UNITS = 4096


def split_units(src: object, unit_size: int) -> list[memoryview]:
    """Zero-copy views of ``src`` in ``unit_size`` pieces (the last may be short)."""
    if unit_size <= 0:
        raise InvalidArgument(f"unit_size must be > 0, got {unit_size}")
    try:
        view = memoryview(src).cast("B")  # type: ignore[arg-type]
    except TypeError:
        raise InvalidArgument(f"src must be a bytes-like object, got {type(src).__name__}") from None
    return [view[i : i + unit_size] for i in range(0, max(len(view), 1), unit_size)]


def run_segmented(tfm: Transform, req: Request, op: Op) -> int:
    """Run a segmented request; return the number of units that succeeded."""
    if isinstance(req.src, (list, tuple)):
        units = list(req.src)
        total = sum(memoryview(u).nbytes for u in units)
    else:
        units = split_units(req.src, req.unit_size)
        total = sum(len(u) for u in units)
    if len(units) > MAX_UNITS:
        raise InvalidArgument(f"{len(units)} units exceed the maximum of {MAX_UNITS}")
    if total > MAX_SRC_SIZE:
        raise InvalidArgument(f"segmented src of {total} bytes exceeds MAX_SRC_SIZE ({MAX_SRC_SIZE})")
    dsts = req.dst
    if dsts is None:
        # As in the kernel: a unit must fit in unit_size (or dlen) bytes, else -ENOSPC.
        caps = [req.dlen or req.unit_size] * len(units)
    else:
        if not isinstance(dsts, (list, tuple)) or len(dsts) != len(units):
            raise InvalidArgument(f"a segmented request needs a list of {len(units)} dst buffers")
        caps = [len(d) for d in dsts]
    results: list[Result]
    if Feature.REQ_SEG in tfm.record.features:
        results = _through_batch_hook(tfm, units, caps, op)
    else:
        # The trivial wrapper: one unit at a time through the one-buffer op.
        fn = tfm.driver.compress if op == "compress" else tfm.driver.decompress
        results = []
        append = results.append
        for unit, cap in zip(units, caps):
            try:
                append(fn(unit, cap))
            except AcompError as exc:
                append(exc)
            except Exception as exc:
                append(tfm.driver_error(f"raised {exc!r} in {op}"))
    outs: list[object] = [None] * len(units) if dsts is None else list(dsts)
    dlens: list[int] = []
    for i, res in enumerate(results):
        # The same checks as every other path: a unit's output never exceeds its dst.
        res = tfm.checked(res, caps[i], dsts is None)
        if not isinstance(res, AcompError):
            if dsts is None:
                outs[i] = res
            else:
                try:
                    dsts[i][: len(res)] = res
                except Exception:
                    res = InvalidArgument(f"dst {i} must be a writable buffer, got {type(dsts[i]).__name__}")
        dlens.append(-res.errno if isinstance(res, AcompError) else len(res))
    if dsts is None:
        req.dst = outs
    req.seg_dlens = dlens
    req.dlen = sum(d for d in dlens if d > 0)
    req.err = None
    return sum(1 for d in dlens if d >= 0)


def _through_batch_hook(tfm: Transform, units: Sequence[BufferLike], caps: Sequence[int], op: Op) -> list[Result]:
    hook = tfm.driver.batch_compress if op == "compress" else tfm.driver.batch_decompress
    step = max(1, tfm.batch_size)
    results: list[Result] = []
    for start in range(0, len(units), step):
        group = units[start : start + step]
        try:
            part = list(hook(group, caps[start : start + step]))
            if len(part) != len(group):
                raise tfm.driver_error(f"returned {len(part)} results for {len(group)} units")
        except AcompError as exc:
            part = [exc] * len(group)
        except Exception as exc:
            part = [tfm.driver_error(f"raised {exc!r} in {op}")] * len(group)
        results.extend(part)
    return results
