"""Concurrency properties: thread safety and async completion (callback, poll, several in flight, asyncio)."""

from __future__ import annotations

import asyncio
import errno
import threading
import time
import warnings

import acomp.aio
from acomp.driver import Op
from acomp.errors import AcompError
from acomp.request import PAGE_SIZE, Request, RequestFlags
from acomp.testing import strategies as acst
from acomp.testing.conformance._contract import HANG_GUARD
from acomp.testing.conformance._kit import Kit, err_text, sentinel_dst
from acomp.testing.conformance._outcomes import ConformanceFailure
from acomp.testing.conformance._requests import check_planted
from acomp.transform import Transform


def _round_trip_loop(kit: Kit, tfm: Transform, i: int, iterations: int = 12) -> None:
    for j in range(iterations):
        kind = acst.PAGE_KINDS[(i + j) % len(acst.PAGE_KINDS)]
        data = acst.make_page(kind, 1000 * i + j, PAGE_SIZE * (1 + j % 3))
        stream = kit.compress_ok(tfm, data, f"a {len(data)}-byte {kind} input")
        kit.decompress_check(tfm, stream, data, len(data), f"a {len(data)}-byte {kind} input")


def batch_loop(kit: Kit, tfm: Transform, i: int, iterations: int = 4) -> None:
    """Full batches round-tripped through ``tfm.batch_*`` (run from several threads at once)."""
    size = tfm.batch_size
    for j in range(iterations):
        pages = [acst.make_page(acst.PAGE_KINDS[k % len(acst.PAGE_KINDS)], 7919 * i + 31 * j + k) for k in range(size)]
        reqs = [Request(p, dst=bytearray(tfm.driver.compress_bound(PAGE_SIZE))) for p in pages]
        if not tfm.batch_compress(reqs):
            bad = next(r for r in reqs if r.err is not None)
            assert bad.err is not None
            kit.report_err(bad.err, f"concurrent batch_compress of {size} pages", None)
        outs = [Request(r.output(), dst=bytearray(PAGE_SIZE)) for r in reqs]
        if not tfm.batch_decompress(outs):
            bad = next(r for r in outs if r.err is not None)
            assert bad.err is not None
            kit.report_err(bad.err, f"concurrent batch_decompress of {size} streams", None)
        for k, (p, r) in enumerate(zip(pages, outs)):
            if r.output() != p:
                kit.fail(f"concurrent batch of {size}: request {k} round-tripped to other data")


def thread_safety(kit: Kit) -> None:
    shared = kit.tfm()
    own: list[Transform] = [kit.new_tfm() for _ in range(4)]
    try:
        kit.threads("4 threads, one transform each", lambda i: _round_trip_loop(kit, own[i], i))
        kit.threads("4 threads sharing one transform", lambda i: _round_trip_loop(kit, shared, i + 10))
        if shared.batch_size > 1:
            kit.threads("4 threads batching on one shared transform", lambda i: batch_loop(kit, shared, i))
            kit.threads("4 threads batching, one transform each", lambda i: batch_loop(kit, own[i], i + 10))
    finally:
        for t in own:
            t.close()


class _Callbacks:
    """Counts each request's callbacks against what its submit's return code promises.

    Kernel: an op that returns 0 completed synchronously and does not call the
    callback; -EINPROGRESS/-EBUSY means the callback runs exactly once.  A
    POLL request gets no callback: it is observed by poll.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[int, int] = {}
        self.expected: list[tuple[Request, int, str]] = []

    def __call__(self, req: Request) -> None:
        with self.lock:
            self.calls[id(req)] = self.calls.get(id(req), 0) + 1

    def submit(self, kit: Kit, tfm: Transform, req: Request, op: Op, what: str) -> int:
        req.callback = self
        rc = kit.submit(tfm, req, op, what)
        self.expected.append((req, 0 if rc == 0 else 1, f"{what} (submit returned {errno.errorcode.get(rc, rc)})"))
        return rc

    def check(self, kit: Kit) -> None:
        time.sleep(0.05)  # grace for a late duplicate completion (it can only add a count)
        with self.lock:
            for req, want, what in self.expected:
                got = self.calls.get(id(req), 0)
                if got != want:
                    kit.fail(f"{what}: the callback ran {got} times, expected {want}")


def in_flight(kit: Kit, tfm: Transform, cb: _Callbacks, n: int = 8) -> None:
    """``n`` requests submitted before any is waited for: each gets its own source's result.

    A driver whose native async path keeps one descriptor (one source, one
    result slot) per transform mixes them up here.
    """
    bound = tfm.driver.compress_bound(PAGE_SIZE)
    pages = [acst.make_page(acst.PAGE_KINDS[k % len(acst.PAGE_KINDS)], 500 + k) for k in range(n)]
    how = f"{n} async compress requests in flight at once"
    reqs = [Request(p, dst=sentinel_dst(bound)) for p in pages]
    for r in reqs:
        cb.submit(kit, tfm, r, "compress", how)
    for r in reqs:
        kit.wait(r, how)
    planted = [acst.PlantedRequest(p, bound, "ok", p, "page") for p in pages]
    check_planted(kit, tfm, "compress", planted, reqs, how)
    how = f"{n} async decompress requests in flight at once"
    dreqs = [Request(r.output(), dst=sentinel_dst(PAGE_SIZE)) for r in reqs]
    for r in dreqs:
        cb.submit(kit, tfm, r, "decompress", how)
    for r in dreqs:
        kit.wait(r, how)
    dplanted = [acst.PlantedRequest(r.output(), PAGE_SIZE, "ok", p, "page's stream") for r, p in zip(reqs, pages)]
    check_planted(kit, tfm, "decompress", dplanted, dreqs, how)


def _async_body(kit: Kit, tfm: Transform, cb: _Callbacks) -> None:
    page = acst.make_page("text", 30)
    # by callback
    c = Request(page)
    cb.submit(kit, tfm, c, "compress", "async compress")
    kit.wait(c, "async compress")
    if c.err is not None:
        kit.report_err(c.err, "async compress of a text page", None)
    stream = c.output()
    # by poll
    d = Request(stream, dst=bytearray(PAGE_SIZE), flags=RequestFlags.POLL)
    kit.submit(tfm, d, "decompress", "async decompress with POLL")
    rc = kit.poll(tfm, d, "async decompress with POLL")
    if rc != 0:
        kit.fail(f"async decompress with POLL: poll returned {rc} ({d.err!r}), expected 0")
    if d.output() != page:
        kit.fail("async decompress with POLL: output differs from the input")
    # failures arrive in req.err, by callback and by poll
    what = "async compress of a random page into 2048 bytes"
    f = Request(acst.make_page("random", 31), dst=bytearray(PAGE_SIZE // 2))
    cb.submit(kit, tfm, f, "compress", what)
    kit.wait(f, what)
    kit.expect_err(f.err, kit.overflow_errnos(tfm), what, f)
    what = "async decompress of a truncated stream"
    g = Request(stream[: len(stream) // 2], dst=bytearray(PAGE_SIZE), flags=RequestFlags.POLL)
    kit.submit(tfm, g, "decompress", what)
    rc = kit.poll(tfm, g, what)
    if g.err is not None:
        kit.expect_err(g.err, kit.corrupt_errnos, what)
        if rc != -g.err.errno:
            kit.fail(f"{what}: poll returned {rc}, req.err is {g.err!r}")
    elif kit.truncation_detected:
        kit.fail(f"{what} succeeded")
    in_flight(kit, tfm, cb)
    _aio(kit, tfm, page)


def async_completion(kit: Kit) -> None:
    tfm = kit.tfm()
    cb = _Callbacks()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            _async_body(kit, tfm, cb)
        except ConformanceFailure:
            cb.check(kit)  # a double completion garbles the request: report the cause
            raise
        cb.check(kit)
    for w in seen:
        if "completed a request twice" in str(w.message):
            kit.fail(f"the driver completed a request twice (the core ignored the second): {w.message}")


def _aio(kit: Kit, tfm: Transform, page: bytes) -> None:
    async def go() -> str | None:
        r1 = Request(page)
        n = await acomp.aio.compress(tfm, r1)
        if n != r1.dlen or r1.err is not None:
            return f"await aio.compress returned {n}, dlen={r1.dlen}, err={r1.err!r}"
        r2 = Request(r1.output(), dst=bytearray(PAGE_SIZE))
        m = await acomp.aio.decompress(tfm, r2)
        if m != PAGE_SIZE or r2.output() != page:
            return f"await aio.decompress returned {m} bytes, not the {PAGE_SIZE}-byte input"
        r3 = Request(acst.make_page("random", 32), dst=bytearray(64))
        try:
            await acomp.aio.compress(tfm, r3)
        except AcompError as exc:
            if exc.errno not in kit.overflow_errnos(tfm):
                return f"await aio.compress into 64 bytes raised {err_text(exc)}"
            return None
        return "await aio.compress of a random page into 64 bytes succeeded"

    async def guarded() -> str | None:
        return await asyncio.wait_for(go(), HANG_GUARD)

    result: list[str | None] = []
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            result.append(asyncio.run(guarded()))
        except BaseException as exc:
            errors.append(exc)

    # A fresh event loop on a thread of its own: works even when called from a running loop.
    t = threading.Thread(target=in_thread, name="acomp-kit-aio", daemon=True)
    t.start()
    t.join(HANG_GUARD + 5)
    if t.is_alive():
        kit.fail("await acomp.aio.compress did not finish (lost completion?)")
    if errors:
        exc = errors[0]
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            kit.fail(f"await acomp.aio.* not completed after {HANG_GUARD:.0f} s")
        kit.fail(f"await acomp.aio.*: {err_text(exc)}")
    if result and result[0] is not None:
        kit.fail(result[0])
