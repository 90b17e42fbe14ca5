"""Data properties: what a driver does with bytes (round trip, dlen, dst bounds, corrupt input,
decompression bomb, empty input)."""

from __future__ import annotations

import tracemalloc

import acomp
from acomp.errors import AcompError
from acomp.query import query
from acomp.request import PAGE_SIZE, Request
from acomp.testing import strategies as acst
from acomp.testing.conformance._base import KitBase, _describe, _err_text, _names, sentinel_dst, untouched_past
from acomp.testing.conformance._contract import (
    BOMB_SIZE,
    BOMB_SLACK,
    CORRUPT_INPUT_ERRNOS,
    DECOMPRESS_OVERFLOW_ERRNOS,
    EMPTY_COMPRESS_ERRNOS,
)
from acomp.testing.conformance._outcomes import PropertySkipped
from acomp.transform import Transform


class DataProperties(KitBase):
    """round trip, dlen, dst bounds, corrupt input, decompression bomb, empty input."""

    def _p_round_trip(self, P: str) -> None:
        tfm = self.tfm(P)

        def one(data: bytes) -> None:
            req, err = self._op(P, tfm, "compress", data)
            if err is not None:
                if not data and err.errno in EMPTY_COMPRESS_ERRNOS:
                    return  # refusing an empty source is allowed ('empty input' checks it)
                bound = tfm.driver.compress_bound(len(data))
                self._report_err(
                    P, err, f"compress of {_describe(data)} into a compress_bound({len(data)})={bound}-byte dst", None
                )
            stream = req.output()
            self._decompress_check(P, tfm, stream, data, len(data), _describe(data))
            if len(data) <= acomp.DST_MAX:
                dreq, derr = self._op(P, tfm, "decompress", stream)
                if derr is not None:
                    self._report_err(P, derr, f"decompress of the stream of {_describe(data)} with dst=None", None)
                if dreq.output() != data:
                    self.fail(P, f"decompress with dst=None of the stream of {_describe(data)} gave other bytes")

        big_rand = acst.make_page("random", 7, 16 * PAGE_SIZE)
        examples = [
            b"",
            b"x",
            bytes(PAGE_SIZE),
            acst.make_page("random", 1),
            acst.make_page("text", 1),
            acst.make_page("binary", 1),
            bytes(16 * PAGE_SIZE),
            big_rand,
            b"".join(acst.make_page(k, 3) for k in acst.PAGE_KINDS * 3)[: 16 * PAGE_SIZE],
        ]
        self._given(acst.payloads(max_pages=16), one, *examples)
        # Any buffer type is a source.
        page = acst.make_page("text", 2)
        for src in (bytearray(page), memoryview(page)):
            req, err = self._op(P, tfm, "compress", src)
            if err is not None:
                self._report_err(P, err, f"compress of a page given as {type(src).__name__}", None)
            self._decompress_check(P, tfm, req.output(), page, PAGE_SIZE, f"a page given as {type(src).__name__}")

    def _p_dlen(self, P: str) -> None:
        tfm = self.tfm(P)
        inputs = [acst.make_page(k, 11) for k in acst.PAGE_KINDS]
        inputs += [b"y", acst.make_page("mixed", 12, 16 * PAGE_SIZE)]
        for data in inputs:
            what = _describe(data)
            cap = tfm.driver.compress_bound(len(data)) + 64
            dst = sentinel_dst(cap)
            req, err = self._op(P, tfm, "compress", data, dst=dst)
            if err is not None:
                self._report_err(P, err, f"compress of {what} into a {cap}-byte dst", None)
            n = req.dlen
            if n > cap:
                self.fail(P, f"compress of {what}: dlen={n} exceeds the {cap}-byte dst")
            if not untouched_past(dst, n):
                self.fail(P, f"compress of {what}: bytes past dlen={n} of the dst were written")
            stream = bytes(dst[:n])
            dreq, derr = self._op(P, tfm, "decompress", stream, dst=sentinel_dst(len(data) + 64))
            if derr is not None:
                self.fail(
                    P,
                    f"compress of {what} reported dlen={n}, but those {n} bytes do not decompress: {_err_text(derr)}",
                )
            if dreq.dlen != len(data) or bytes(dreq.dst[: dreq.dlen]) != data:
                self.fail(
                    P,
                    f"compress of {what} reported dlen={n}; those bytes decompress to {dreq.dlen} bytes "
                    f"{'that differ from' if dreq.dlen == len(data) else 'instead of'} the {len(data)} input bytes",
                )
            if not untouched_past(dreq.dst, dreq.dlen):
                self.fail(P, f"decompress of the stream of {what}: bytes past dlen={dreq.dlen} were written")
            if self.truncation_detected and n > 0:
                sreq, serr = self._op(P, tfm, "decompress", stream[: n - 1], dst=bytearray(len(data) + 64))
                if serr is None and sreq.output() == data:
                    self.fail(
                        P,
                        f"compress of {what} reported dlen={n}, but its first {n - 1} bytes already "
                        "decompress to the input: dlen is larger than the stream",
                    )

    def _p_dst_bounds(self, P: str) -> None:
        tfm = self.tfm(P)
        overflow = self._overflow_errnos(tfm)
        for seed in (1, 2, 3):
            page = acst.make_page("random", seed)
            for cap in (PAGE_SIZE // 2, 16):
                req, err = self._op(P, tfm, "compress", page, dst=bytearray(cap))
                self._expect_err(P, err, overflow, f"compress of a random page into a {cap}-byte dst", req)
                dreq, derr = self._op(P, tfm, "compress", page, dlen=cap)
                self._expect_err(P, derr, overflow, f"compress of a random page with dst=None, dlen={cap}", dreq)
        for kind in ("text", "binary", "mixed"):
            page = acst.make_page(kind, 5)
            stream = self._compress_ok(P, tfm, page, f"a {kind} page")
            if len(stream) > 1:
                # A driver may fit a smaller dst another way, but never by truncating.
                req, err = self._op(P, tfm, "compress", page, dst=bytearray(len(stream) - 1))
                if err is None:
                    self._decompress_check(P, tfm, req.output(), page, PAGE_SIZE, f"a {kind} page (smaller dst)")
                else:
                    self._expect_err(
                        P,
                        err,
                        overflow,
                        f"compress of a {kind} page into {len(stream) - 1} bytes (needs {len(stream)})",
                    )
            for cap in (PAGE_SIZE - 1, PAGE_SIZE // 2, 1, 0):
                req, err = self._op(P, tfm, "decompress", stream, dst=bytearray(cap))
                self._expect_err(
                    P,
                    err,
                    DECOMPRESS_OVERFLOW_ERRNOS,
                    f"decompress of a {kind} page's stream into a {cap}-byte dst",
                    req,
                )
            req, err = self._op(P, tfm, "decompress", stream, dlen=PAGE_SIZE // 2)
            self._expect_err(
                P,
                err,
                DECOMPRESS_OVERFLOW_ERRNOS,
                f"decompress of a {kind} page's stream with dst=None, dlen=2048",
                req,
            )
            self._decompress_check(P, tfm, stream, page, PAGE_SIZE, f"a {kind} page (exact dst)")

    def _p_corrupt_input(self, P: str) -> None:
        tfm = self.tfm(P)

        def one(cs: acst.CorruptStream) -> None:
            for cap in (len(cs.original), len(cs.original) + PAGE_SIZE):
                _, err = self._op(P, tfm, "decompress", cs.stream, dst=bytearray(cap))
                if err is not None:
                    self._expect_err(
                        P, err, CORRUPT_INPUT_ERRNOS, f"decompress of a corrupt stream ({cs.how}) into {cap} bytes"
                    )

        garbage = [b"\x00" * 16, b"\xff" * 64, acst.make_page("random", 9), bytes(range(256))]
        for junk in garbage:
            one(acst.CorruptStream(b"", junk, f"{len(junk)} junk bytes"))
        self._given(acst.corrupt_streams(tfm), one)

        def truncated(cs: acst.CorruptStream) -> None:
            req, err = self._op(P, tfm, "decompress", cs.stream, dst=bytearray(len(cs.original)))
            what = f"decompress of a stream {cs.how} (input {len(cs.original)} bytes)"
            if err is not None:
                self._expect_err(P, err, CORRUPT_INPUT_ERRNOS, what)
                return
            out = req.output()
            if out == cs.original:
                return  # only redundant bytes were cut
            if self.truncation_detected:
                self.fail(
                    P,
                    f"{what}: succeeded with {req.dlen} bytes; a truncated stream must fail with errno in "
                    f"{_names(CORRUPT_INPUT_ERRNOS)} (declare truncation_detected=False for a format "
                    "without an end marker)",
                )
            if req.dlen == len(cs.original):
                self.fail(P, f"{what}: succeeded with {req.dlen} bytes of the input's length but other content")

        # A sweep over cut points: a format that misses some truncations misses few.
        for kind in ("text", "binary", "mixed", "zero"):
            page = acst.make_page(kind, 60, 2 * PAGE_SIZE)
            stream = self._compress_ok(P, tfm, page, f"a 2-page {kind} input")
            n = len(stream)
            cuts = sorted(set(range(0, n, max(1, n // 256))) | set(range(max(0, n - 32), n)))
            for cut in cuts:
                truncated(acst.CorruptStream(page, stream[:cut], f"truncated to {cut} of {n} bytes"))
        self._given(acst.truncated_streams(tfm), truncated)

    def _bomb_stream(self, P: str, tfm: Transform) -> bytes:
        bomb = bytes(BOMB_SIZE)
        req, err = self._op(P, tfm, "compress", bomb)
        if err is None:
            return req.output()
        for rec in query(wire_format=tfm.record.wire_format, exclude=frozenset({self.driver})):
            try:
                return acomp.compress(bomb, rec.driver_name)
            except AcompError:
                continue
        raise PropertySkipped(f"cannot build a {BOMB_SIZE}-byte bomb: compress failed with {_err_text(err)}")

    def _p_decompression_bomb(self, P: str) -> None:
        tfm = self.tfm(P)
        stream = self._bomb_stream(P, tfm)
        page_stream = self._compress_ok(P, tfm, bytes(PAGE_SIZE), "a zero page")
        what = f"decompress of {BOMB_SIZE} zero bytes ({len(stream)}-byte stream) into a {PAGE_SIZE}-byte dst"

        def traced(src: bytes) -> tuple[Request, AcompError | None, int]:
            was_tracing = tracemalloc.is_tracing()
            if not was_tracing:
                tracemalloc.start()
            try:
                tracemalloc.reset_peak()
                before = tracemalloc.get_traced_memory()[0]
                req, err = self._op(P, tfm, "decompress", src, dst=bytearray(PAGE_SIZE))
                peak = tracemalloc.get_traced_memory()[1] - before
            finally:
                if not was_tracing:
                    tracemalloc.stop()
            return req, err, peak

        # tracemalloc sees every thread: take the least of 3 runs, so another thread's
        # allocations cannot fake a bomb (a real one allocates its output every time).
        baseline = min(traced(page_stream)[2] for _ in range(3))
        req, err, peak = traced(stream)
        self._expect_err(P, err, DECOMPRESS_OVERFLOW_ERRNOS, what, req)
        for _ in range(2):
            if peak - baseline < BOMB_SLACK:
                break
            peak = min(peak, traced(stream)[2])
        if peak - baseline >= BOMB_SLACK:
            self.fail(
                P,
                f"{what}: the Python heap peaked at {peak // 1024} KiB during the call, {baseline // 1024} KiB "
                f"for a one-page decompression: output must be bounded by the dst, not inflated first",
            )
        req2, err2 = self._op(P, tfm, "decompress", stream, dlen=PAGE_SIZE)
        self._expect_err(P, err2, DECOMPRESS_OVERFLOW_ERRNOS, f"{what} (dst=None, dlen={PAGE_SIZE})", req2)

    def _p_empty_input(self, P: str) -> None:
        tfm = self.tfm(P)
        for src in (b"", bytearray(), memoryview(b"")):
            kind = type(src).__name__
            req, err = self._op(P, tfm, "compress", src)
            if err is not None:
                self._expect_err(P, err, EMPTY_COMPRESS_ERRNOS, f"compress of an empty {kind}")
                continue
            stream = req.output()
            for cap in (0, PAGE_SIZE):
                dreq, derr = self._op(P, tfm, "decompress", stream, dst=bytearray(cap))
                if derr is not None:
                    self._report_err(
                        P,
                        derr,
                        f"decompress of the {len(stream)}-byte stream of an empty {kind} into {cap} bytes",
                        None,
                    )
                if dreq.dlen != 0:
                    self.fail(P, f"the stream of an empty {kind} decompressed to {dreq.dlen} bytes")
            creq, cerr = self._op(P, tfm, "compress", src, dst=bytearray(0))
            if cerr is not None:
                self._expect_err(
                    P,
                    cerr,
                    self._overflow_errnos(tfm) | EMPTY_COMPRESS_ERRNOS,
                    f"compress of an empty {kind} into 0 bytes",
                )
            elif creq.dlen != 0:
                self.fail(P, f"compress of an empty {kind} into a 0-byte dst reported dlen={creq.dlen}")
        for cap in (0, PAGE_SIZE):
            dreq, derr = self._op(P, tfm, "decompress", b"", dst=bytearray(cap))
            if derr is not None:
                self._expect_err(P, derr, CORRUPT_INPUT_ERRNOS, f"decompress of an empty stream into {cap} bytes")
            elif dreq.dlen != 0:
                self.fail(P, f"decompress of an empty stream produced {dreq.dlen} bytes")
