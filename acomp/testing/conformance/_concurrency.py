"""Concurrency properties: thread safety and async completion (callback, poll, asyncio, async chain)."""

from __future__ import annotations

import asyncio
import errno
import threading
import time
import warnings
from collections.abc import Callable

import acomp
import acomp.aio
from acomp.driver import Op
from acomp.errors import AcompError
from acomp.request import PAGE_SIZE, Request, RequestFlags
from acomp.testing import strategies as acst
from acomp.testing.conformance._base import _err_text
from acomp.testing.conformance._contract import CORRUPT_INPUT_ERRNOS, HANG_GUARD
from acomp.testing.conformance._outcomes import ConformanceFailure
from acomp.testing.conformance._requests import RequestProperties
from acomp.transform import Transform


class ConcurrencyProperties(RequestProperties):
    """thread safety, async; and the thread harness the capabilities property reuses."""

    def _threads(self, P: str, label: str, work: Callable[[int], None], n: int = 4) -> None:
        errors: list[str] = []
        barrier = threading.Barrier(n)

        def body(i: int) -> None:
            try:
                barrier.wait(HANG_GUARD)
                work(i)
            except ConformanceFailure as exc:
                errors.append(f"thread {i}: {exc.detail}")
            except BaseException as exc:
                errors.append(f"thread {i}: {_err_text(exc)}")

        threads = [threading.Thread(target=body, args=(i,), name=f"acomp-kit-{i}", daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + HANG_GUARD
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in threads):
            self.fail(P, f"{label}: threads still running after {HANG_GUARD:.0f} s (deadlock or lost completion?)")
        if errors:
            self.fail(P, f"{label}: {errors[0]}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))

    def _round_trip_loop(self, P: str, tfm: Transform, i: int, iterations: int = 12) -> None:
        for j in range(iterations):
            kind = acst.PAGE_KINDS[(i + j) % len(acst.PAGE_KINDS)]
            data = acst.make_page(kind, 1000 * i + j, PAGE_SIZE * (1 + j % 3))
            stream = self._compress_ok(P, tfm, data, f"a {len(data)}-byte {kind} input")
            self._decompress_check(P, tfm, stream, data, len(data), f"a {len(data)}-byte {kind} input")

    def _batch_loop(self, P: str, tfm: Transform, i: int, iterations: int = 4) -> None:
        size = tfm.batch_size
        for j in range(iterations):
            pages = [
                acst.make_page(acst.PAGE_KINDS[k % len(acst.PAGE_KINDS)], 7919 * i + 31 * j + k) for k in range(size)
            ]
            reqs = [Request(p, dst=bytearray(tfm.driver.compress_bound(PAGE_SIZE))) for p in pages]
            if not tfm.batch_compress(reqs):
                bad = next(r for r in reqs if r.err is not None)
                assert bad.err is not None
                self._report_err(P, bad.err, f"concurrent batch_compress of {size} pages", None)
            outs = [Request(r.output(), dst=bytearray(PAGE_SIZE)) for r in reqs]
            if not tfm.batch_decompress(outs):
                bad = next(r for r in outs if r.err is not None)
                assert bad.err is not None
                self._report_err(P, bad.err, f"concurrent batch_decompress of {size} streams", None)
            for k, (p, r) in enumerate(zip(pages, outs)):
                if r.output() != p:
                    self.fail(P, f"concurrent batch of {size}: request {k} round-tripped to other data")

    def _p_thread_safety(self, P: str) -> None:
        shared = self.tfm(P)
        own: list[Transform] = [self.new_tfm(P) for _ in range(4)]
        try:
            self._threads(P, "4 threads, one transform each", lambda i: self._round_trip_loop(P, own[i], i))
            self._threads(P, "4 threads sharing one transform", lambda i: self._round_trip_loop(P, shared, i + 10))
            if shared.batch_size > 1:
                self._threads(P, "4 threads batching on one shared transform", lambda i: self._batch_loop(P, shared, i))
                self._threads(
                    P, "4 threads batching, one transform each", lambda i: self._batch_loop(P, own[i], i + 10)
                )
        finally:
            for t in own:
                t.close()

    def _wait(self, P: str, req: Request, what: str) -> None:
        if not req.wait(HANG_GUARD):
            self.fail(P, f"{what}: not completed after {HANG_GUARD:.0f} s (lost completion?)")

    def _poll(self, P: str, tfm: Transform, req: Request, what: str) -> int:
        deadline = time.monotonic() + HANG_GUARD
        while True:
            rc = tfm.poll(req)
            if rc != -errno.EAGAIN:
                return rc
            if time.monotonic() > deadline:
                self.fail(P, f"{what}: poll still says EAGAIN after {HANG_GUARD:.0f} s (lost completion?)")
            time.sleep(0.0005)

    def _submit(self, P: str, tfm: Transform, req: Request, op: Op, what: str) -> int:
        try:
            rc = tfm.submit(req, op)
        except AcompError as exc:
            if exc is req.err and req.done:  # completed synchronously with its error (the kernel's -errno)
                return 0
            self.fail(P, f"{what}: submit raised {_err_text(exc)}")
        except Exception as exc:
            self.fail(P, f"{what}: submit raised {_err_text(exc)}, not an AcompError")
        if rc not in (0, errno.EINPROGRESS, errno.EBUSY):
            self.fail(P, f"{what}: submit returned {rc!r}, expected 0, EINPROGRESS or EBUSY")
        return int(rc)

    def _p_async(self, P: str) -> None:
        tfm = self.tfm(P)
        calls: dict[int, int] = {}
        lock = threading.Lock()
        tracked: list[tuple[Request, str]] = []
        # Callbacks each request must see: once after EINPROGRESS/EBUSY; none for a POLL
        # request, a synchronous completion (submit returned 0) or a chain's member.
        expected: dict[int, int] = {}

        def callback(r: Request) -> None:
            with lock:
                calls[id(r)] = calls.get(id(r), 0) + 1

        def track(req: Request, what: str, want: int = 1) -> Request:
            req.callback = callback
            tracked.append((req, what))
            expected[id(req)] = want
            return req

        def submitted(req: Request, rc: int) -> None:
            if rc == 0 or req.flags & RequestFlags.POLL:
                expected[id(req)] = 0

        def recount() -> None:
            # Grace period for late duplicate completions, then exactly once each.
            time.sleep(0.05)
            with lock:
                for r, what in tracked:
                    if calls.get(id(r), 0) != expected[id(r)]:
                        self.fail(
                            P, f"{what}: the callback ran {calls.get(id(r), 0)} times, expected {expected[id(r)]}"
                        )

        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            try:
                self._async_body(P, tfm, track, submitted)
            except ConformanceFailure:
                recount()  # a double completion garbles the request: report the cause
                raise
            recount()
        for w in seen:
            if "completed a request twice" in str(w.message):
                self.fail(P, f"the driver completed a request twice (the core ignored the second): {w.message}")

    def _async_body(
        self,
        P: str,
        tfm: Transform,
        track: Callable[[Request, str, int], Request],
        submitted: Callable[[Request, int], None],
    ) -> None:
        page = acst.make_page("text", 30)
        # callback
        c = track(Request(page), "async compress (callback)", 1)
        submitted(c, self._submit(P, tfm, c, "compress", "async compress"))
        self._wait(P, c, "async compress")
        if c.err is not None:
            self._report_err(P, c.err, "async compress of a text page", None)
        stream = c.output()
        # poll
        d = track(Request(stream, dst=bytearray(PAGE_SIZE), flags=RequestFlags.POLL), "async decompress (poll)", 0)
        submitted(d, self._submit(P, tfm, d, "decompress", "async decompress with POLL"))
        rc = self._poll(P, tfm, d, "async decompress with POLL")
        if rc != 0:
            self.fail(P, f"async decompress with POLL: poll returned {rc} ({d.err!r}), expected 0")
        if d.output() != page:
            self.fail(P, "async decompress with POLL: output differs from the input")
        # failures arrive in req.err, by callback and by poll
        overflow = self._overflow_errnos(tfm)
        f = track(Request(acst.make_page("random", 31), dst=bytearray(PAGE_SIZE // 2)), "async compress (fails)", 1)
        submitted(f, self._submit(P, tfm, f, "compress", "async compress of a random page into 2048 bytes"))
        self._wait(P, f, "async compress of a random page into 2048 bytes")
        self._expect_err(P, f.err, overflow, "async compress of a random page into 2048 bytes", f)
        g = track(
            Request(stream[: len(stream) // 2], dst=bytearray(PAGE_SIZE), flags=RequestFlags.POLL),
            "async decompress (fails)",
            0,
        )
        submitted(g, self._submit(P, tfm, g, "decompress", "async decompress of a truncated stream"))
        rc = self._poll(P, tfm, g, "async decompress of a truncated stream")
        if g.err is not None:
            self._expect_err(P, g.err, CORRUPT_INPUT_ERRNOS, "async decompress of a truncated stream")
            if rc != -g.err.errno:
                self.fail(P, f"async decompress of a truncated stream: poll returned {rc}, req.err is {g.err!r}")
        elif self.truncation_detected:
            self.fail(P, "async decompress of a truncated stream succeeded")
        # an async chain: every request completes with its own outcome
        planted = [
            acst.PlantedRequest(stream, PAGE_SIZE, "ok", page, "text page's stream"),
            acst.PlantedRequest(stream, PAGE_SIZE // 4, "nospace", page, "text page's stream"),
            acst.PlantedRequest(stream, PAGE_SIZE + 1, "ok", page, "text page's stream"),
            acst.PlantedRequest(stream[: len(stream) // 2], PAGE_SIZE, "corrupt", page, "truncated stream"),
        ]
        reqs = self._make_reqs(planted)
        for i, r in enumerate(reqs):
            track(r, f"async chain request {i}", 0)  # a member: no callback; the head: POLL
            if i:
                acomp.request_chain(r, reqs[0])
        reqs[0].flags = RequestFlags.POLL
        submitted(reqs[0], self._submit(P, tfm, reqs[0], "decompress", "async chain of 4"))
        self._poll(P, tfm, reqs[0], "async chain of 4")
        for r in reqs:
            self._wait(P, r, "async chain of 4")
        self._check_planted(P, tfm, "decompress", planted, reqs, "async chain of 4")
        # asyncio
        self._aio(P, tfm, page)

    def _aio(self, P: str, tfm: Transform, page: bytes) -> None:
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
                if exc.errno not in self._overflow_errnos(tfm):
                    return f"await aio.compress into 64 bytes raised {_err_text(exc)}"
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
            self.fail(P, "await acomp.aio.compress did not finish (lost completion?)")
        if errors:
            exc = errors[0]
            if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
                self.fail(P, f"await acomp.aio.* not completed after {HANG_GUARD:.0f} s")
            self.fail(P, f"await acomp.aio.*: {_err_text(exc)}")
        if result and result[0] is not None:
            self.fail(P, result[0])
