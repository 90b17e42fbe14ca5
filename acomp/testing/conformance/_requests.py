"""Request-model properties: batches, chains and segmented requests (many units, one outcome each)."""

from __future__ import annotations

import errno
import functools
import threading
from collections.abc import Sequence

import attrs

import acomp
from acomp.driver import Driver, Op
from acomp.errors import AcompError
from acomp.request import PAGE_SIZE, Request
from acomp.testing import strategies as acst
from acomp.testing.conformance._contract import DECOMPRESS_OVERFLOW_ERRNOS, HANG_GUARD
from acomp.testing.conformance._kit import Kit, err_text, errname, names, sentinel_dst, untouched_past
from acomp.transform import Transform

#: Both directions, in the order the properties run them.
OPS: tuple[Op, ...] = ("compress", "decompress")


@attrs.define(frozen=True, slots=True)
class Got:
    """What one unit of a batch, chain or hook call came back with."""

    err: AcompError | None
    out: bytes
    dlen: int
    #: The dst past ``dlen`` still holds the sentinel fill.
    tail_ok: bool = True


def got_of(req: Request) -> Got:
    ok = req.err is None
    return Got(req.err, req.output() if ok else b"", req.dlen, untouched_past(req.dst, req.dlen))


def make_reqs(planted: Sequence[acst.PlantedRequest]) -> list[Request]:
    return [Request(p.src, dst=sentinel_dst(p.capacity)) for p in planted]


def check_planted(
    kit: Kit, tfm: Transform, op: Op, planted: Sequence[acst.PlantedRequest], reqs: Sequence[Request], how: str
) -> None:
    """Each request completed with its own planted outcome."""
    for i, r in enumerate(reqs):
        if not r.done:
            kit.fail(f"{how}: request {i} of {len(reqs)} ({planted[i].describe()}): not completed")
    check_outcomes(kit, tfm, op, planted, [got_of(r) for r in reqs], how, "request")


def check_outcomes(
    kit: Kit, tfm: Transform, op: Op, planted: Sequence[acst.PlantedRequest], got: Sequence[Got], how: str, unit: str
) -> None:
    n = len(got)
    for i, (p, g) in enumerate(zip(planted, got)):
        what = f"{how}: {unit} {i} of {n} ({p.describe()})"
        err = g.err
        if err is not None and not isinstance(err, AcompError):
            kit.fail(f"{what}: its error is {err!r}, not an AcompError")
        if p.expect == "ok":
            if err is not None:
                kit.report_err(err, what, None)
            if op == "compress":
                back, berr = kit.op(tfm, "decompress", g.out, dst=bytearray(len(p.original)))
                if berr is not None or back.output() != p.original:
                    kit.fail(f"{what}: its output (dlen={g.dlen}) does not decompress to its own source")
            elif g.out != p.original:
                kit.fail(f"{what}: gave {g.dlen} bytes that are not its own source's data")
            if not g.tail_ok:
                kit.fail(f"{what}: bytes past dlen={g.dlen} were written")
            continue
        if p.expect == "nospace":
            allowed = kit.overflow_errnos(tfm) if op == "compress" else DECOMPRESS_OVERFLOW_ERRNOS
            kit.expect_err(err, allowed, what)
        elif err is not None or kit.truncation_detected:
            kit.expect_err(err, kit.corrupt_errnos, what)
        elif g.dlen >= len(p.original):
            kit.fail(f"{what}: a truncated stream decoded to {g.dlen} bytes without an error")
        if err is not None and g.dlen != 0:
            kit.fail(f"{what}: failed with {err.errname} but dlen={g.dlen}")


# -- batch ---------------------------------------------------------------------------------


def run_batch(kit: Kit, tfm: Transform, op: Op, planted: list[acst.PlantedRequest]) -> None:
    """``tfm.batch_<op>`` of the planted requests: per-request outcomes, nothing raised."""
    reqs = make_reqs(planted)
    fn = tfm.batch_compress if op == "compress" else tfm.batch_decompress
    how = f"batch_{op} of {len(reqs)}"
    try:
        ok = fn(reqs)
    except AcompError as exc:
        kit.fail(f"{how} raised {err_text(exc)}; per-request errors belong in req.err")
    except Exception as exc:
        kit.fail(f"{how} raised {err_text(exc)}, not an AcompError")
    check_planted(kit, tfm, op, planted, reqs, how)
    if ok is not all(r.err is None for r in reqs):
        kit.fail(f"{how} returned {ok!r} but {sum(r.err is not None for r in reqs)} request(s) failed")


def run_hook(kit: Kit, tfm: Transform, op: Op, planted: list[acst.PlantedRequest]) -> None:
    """The driver's batch hook itself: one result per source, in order, within its capacity, never raised.

    Chains (``REQ_CHAIN``), segments (``REQ_SEG``) and the many-buffer calls reach
    the hook even when ``tfm.batch_<op>`` takes one request (no async batching).
    """
    hook = tfm.driver.batch_compress if op == "compress" else tfm.driver.batch_decompress
    n = len(planted)
    how = f"the batch_{op} hook with {n} source(s)"
    try:
        results = hook([p.src for p in planted], [p.capacity for p in planted])
    except AcompError as exc:
        kit.fail(f"{how} raised {err_text(exc)}; one source's error is its result, never raised")
    except Exception as exc:
        kit.fail(f"{how} raised {err_text(exc)}")
    try:
        count = len(results)
    except TypeError:
        kit.fail(f"{how} returned {type(results).__name__}, not a list of results")
    if count != n:
        kit.fail(f"{how} returned {count} results for a batch of {n}")
    got: list[Got] = []
    for i, (p, res) in enumerate(zip(planted, results)):
        if isinstance(res, AcompError):
            got.append(Got(res, b"", 0))
            continue
        try:
            out = memoryview(res).cast("B").tobytes()
        except TypeError:
            kit.fail(f"{how}: result {i} is a {type(res).__name__}, neither a byte buffer nor an AcompError")
        if len(out) > p.capacity:
            kit.fail(f"{how}: result {i} ({p.describe()}): returned {len(out)} bytes into a {p.capacity}-byte dst")
        got.append(Got(None, out, len(out)))
    check_outcomes(kit, tfm, op, planted, got, how, "source")


def _check_batch_limits(kit: Kit, tfm: Transform, op: Op) -> None:
    """batch_size + 1 requests raise EINVAL (nothing processed); 0 requests succeed."""
    size = tfm.batch_size
    fn = tfm.batch_compress if op == "compress" else tfm.batch_decompress
    page = acst.make_page("text", 4)
    src = page if op == "compress" else kit.compress_ok(tfm, page)
    over = [Request(src, dst=bytearray(2 * PAGE_SIZE)) for _ in range(size + 1)]
    try:
        fn(over)
    except AcompError as exc:
        if exc.errno != errno.EINVAL:
            kit.fail(f"batch_{op} of batch_size+1={size + 1} failed with {err_text(exc)}, expected EINVAL")
    except Exception as exc:
        kit.fail(f"batch_{op} of batch_size+1={size + 1} raised {err_text(exc)}, expected EINVAL")
    else:
        kit.fail(f"batch_{op} of batch_size+1={size + 1} requests was accepted (must raise EINVAL)")
    try:
        empty_ok = fn([])
    except Exception as exc:
        kit.fail(f"batch_{op} of 0 requests raised {err_text(exc)}")
    if empty_ok is not True:
        kit.fail(f"batch_{op} of 0 requests returned {empty_ok!r}, expected True")


def batch(kit: Kit) -> None:
    tfm = kit.tfm()
    hook_size = type(tfm.driver).batch_size
    has_hook = type(tfm.driver).batch_compress is not Driver.batch_compress
    for op in OPS:
        strategy = acst.planted_batches(tfm, op, min_size=1, max_size=tfm.batch_size)
        kit.given(strategy, functools.partial(run_batch, kit, tfm, op))
        _check_batch_limits(kit, tfm, op)
        if has_hook and hook_size > 1:
            strategy = acst.planted_batches(tfm, op, min_size=1, max_size=hook_size)
            kit.given(strategy, functools.partial(run_hook, kit, tfm, op))


# -- chain ---------------------------------------------------------------------------------


def _chain(reqs: Sequence[Request]) -> Request:
    head = reqs[0]
    for r in reqs[1:]:
        acomp.request_chain(r, head)
    return head


def run_chain(kit: Kit, tfm: Transform, op: Op, planted: list[acst.PlantedRequest]) -> None:
    reqs = make_reqs(planted)
    head = _chain(reqs)
    how = f"sync chain of {len(reqs)} ({op})"
    try:
        (tfm.compress if op == "compress" else tfm.decompress)(head)
    except AcompError as exc:
        kit.fail(f"{how}: submitting the head raised {err_text(exc)}; a chain sets each req.err")
    except Exception as exc:
        kit.fail(f"{how}: submitting the head raised {err_text(exc)}, not an AcompError")
    check_planted(kit, tfm, op, planted, reqs, how)


def run_async_chain(kit: Kit, tfm: Transform, op: Op, planted: list[acst.PlantedRequest]) -> None:
    """``tfm.submit`` of a chain: every request its own outcome; the head's callback once unless submit said 0."""
    reqs = make_reqs(planted)
    head = _chain(reqs)
    how = f"async chain of {len(reqs)} ({op})"
    calls: list[Request] = []
    fired = threading.Event()

    def on_head(req: Request) -> None:
        calls.append(req)
        fired.set()

    head.callback = on_head
    rc = kit.submit(tfm, head, op, how)
    if rc != 0 and not fired.wait(HANG_GUARD):
        kit.fail(f"{how}: submit returned {errname(rc)} but the head's callback did not run")
    for r in reqs:
        kit.wait(r, how)
    want = 0 if rc == 0 else 1
    if len(calls) != want:
        kit.fail(f"{how}: the head's callback ran {len(calls)} times, expected {want} (submit returned {rc})")
    check_planted(kit, tfm, op, planted, reqs, how)


def chains_in_flight(kit: Kit, tfm: Transform, chains: int = 4, length: int = 3) -> None:
    """Several chains submitted before any completes: each request gets its own source's result."""
    how = f"{chains} async chains of {length} in flight at once (compress)"
    pages = [
        [acst.make_page(acst.PAGE_KINDS[(c + k) % len(acst.PAGE_KINDS)], 300 + 10 * c + k) for k in range(length)]
        for c in range(chains)
    ]
    bound = tfm.driver.compress_bound(PAGE_SIZE)
    all_reqs = [[Request(p, dst=sentinel_dst(bound)) for p in row] for row in pages]
    for row in all_reqs:
        kit.submit(tfm, _chain(row), "compress", how)
    for row in all_reqs:
        for r in row:
            kit.wait(r, how)
    for c, (row, srcs) in enumerate(zip(all_reqs, pages)):
        planted = [acst.PlantedRequest(p, bound, "ok", p, f"chain {c}: page") for p in srcs]
        check_planted(kit, tfm, "compress", planted, row, how)


def chain(kit: Kit) -> None:
    tfm = kit.tfm()
    # Several of the hook's calls per chain on a REQ_CHAIN driver.
    top = max(3, 2 * type(tfm.driver).batch_size + 1)
    for op in OPS:
        strategy = acst.planted_batches(tfm, op, min_size=2, max_size=top)
        kit.given(strategy, functools.partial(run_chain, kit, tfm, op))
    for op in OPS:
        strategy = acst.planted_batches(tfm, op, min_size=2, max_size=top)
        kit.given(strategy, functools.partial(run_async_chain, kit, tfm, op))
    chains_in_flight(kit, tfm)


# -- segmentation --------------------------------------------------------------------------


def segmentation(kit: Kit) -> None:
    tfm = kit.tfm()
    overflow = kit.overflow_errnos(tfm)
    layouts = [
        ["text"],
        ["random"],
        ["zero", "random", "text", "binary"],
        ["mixed", "random"] * (type(tfm.driver).batch_size // 2 + 1),
    ]
    for li, kinds in enumerate(layouts):
        pages = [acst.make_page(k, 20 + i + 10 * li) for i, k in enumerate(kinds)]
        caps = [PAGE_SIZE // 2 if k == "random" else tfm.driver.compress_bound(PAGE_SIZE) for k in kinds]
        dsts = [bytearray(c) for c in caps]
        req = Request(b"".join(pages), dst=dsts, unit_size=PAGE_SIZE)
        how = f"segmented compress of a {len(pages)}-page folio ({', '.join(kinds)})"
        try:
            tfm.compress(req)
        except Exception as exc:
            kit.fail(f"{how} raised {err_text(exc)}; units report errors in seg_dlens")
        dlens = req.seg_dlens
        if dlens is None or len(dlens) != len(pages):
            kit.fail(f"{how}: seg_dlens={dlens!r}, expected {len(pages)} entries")
        for i, (kind, page, d, dst) in enumerate(zip(kinds, pages, dlens, dsts)):
            what = f"{how}: unit {i} ({kind} page, {len(dst)}-byte dst)"
            if kind == "random":
                if d >= 0 or -d not in overflow:
                    kit.fail(f"{what}: seg_dlen={d}, expected -errno with errno in {names(overflow)}")
                continue
            if d < 0:
                kit.fail(f"{what}: failed with -{errname(-d)}")
            kit.decompress_check(tfm, bytes(dst[:d]), page, PAGE_SIZE, what)
