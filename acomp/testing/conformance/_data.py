"""Data properties: what a driver does with bytes (round trip, dlen, dst bounds, corrupt input, empty input)."""

from __future__ import annotations

import errno

import acomp
from acomp.request import PAGE_SIZE
from acomp.testing import strategies as acst
from acomp.testing.conformance._contract import (
    DAMAGED_RETRY_CAPACITY,
    DECOMPRESS_OVERFLOW_ERRNOS,
    EMPTY_COMPRESS_ERRNOS,
)
from acomp.testing.conformance._kit import Kit, describe, err_text, names, sentinel_dst, untouched_past

#: Errnos that say "the output does not fit" on decompression (not "the input is corrupt").
_DOES_NOT_FIT = frozenset({errno.ENOSPC, errno.EOVERFLOW})


def round_trip(kit: Kit) -> None:
    tfm = kit.tfm()

    def one(data: bytes) -> None:
        req, err = kit.op(tfm, "compress", data)
        if err is not None:
            if not data and err.errno in EMPTY_COMPRESS_ERRNOS:
                return  # refusing an empty source is allowed ('empty input' checks it)
            bound = tfm.driver.compress_bound(len(data))
            kit.report_err(
                err, f"compress of {describe(data)} into a compress_bound({len(data)})={bound}-byte dst", None
            )
        stream = req.output()
        kit.decompress_check(tfm, stream, data, len(data), describe(data))
        if len(data) <= acomp.DST_MAX:
            dreq, derr = kit.op(tfm, "decompress", stream)
            if derr is not None:
                kit.report_err(derr, f"decompress of the stream of {describe(data)} with dst=None", None)
            if dreq.output() != data:
                kit.fail(f"decompress with dst=None of the stream of {describe(data)} gave other bytes")

    examples = [
        b"",
        b"x",
        bytes(PAGE_SIZE),
        acst.make_page("random", 1),
        acst.make_page("text", 1),
        acst.make_page("binary", 1),
        bytes(16 * PAGE_SIZE),
        acst.make_page("random", 7, 16 * PAGE_SIZE),
        b"".join(acst.make_page(k, 3) for k in acst.PAGE_KINDS * 3)[: 16 * PAGE_SIZE],
    ]
    kit.given(acst.payloads(max_pages=16), one, *examples)
    # Any buffer type is a source.
    page = acst.make_page("text", 2)
    for src in (bytearray(page), memoryview(page)):
        req, err = kit.op(tfm, "compress", src)
        if err is not None:
            kit.report_err(err, f"compress of a page given as {type(src).__name__}", None)
        kit.decompress_check(tfm, req.output(), page, PAGE_SIZE, f"a page given as {type(src).__name__}")


def dlen(kit: Kit) -> None:
    tfm = kit.tfm()
    inputs = [acst.make_page(k, 11) for k in acst.PAGE_KINDS]
    inputs += [b"y", acst.make_page("mixed", 12, 16 * PAGE_SIZE)]
    for data in inputs:
        what = describe(data)
        cap = tfm.driver.compress_bound(len(data)) + 64
        dst = sentinel_dst(cap)
        req, err = kit.op(tfm, "compress", data, dst=dst)
        if err is not None:
            kit.report_err(err, f"compress of {what} into a {cap}-byte dst", None)
        n = req.dlen
        if n > cap:
            kit.fail(f"compress of {what}: dlen={n} exceeds the {cap}-byte dst")
        if not untouched_past(dst, n):
            kit.fail(f"compress of {what}: bytes past dlen={n} of the dst were written")
        stream = bytes(dst[:n])
        dreq, derr = kit.op(tfm, "decompress", stream, dst=sentinel_dst(len(data) + 64))
        if derr is not None:
            kit.fail(f"compress of {what} reported dlen={n}, but those {n} bytes do not decompress: {err_text(derr)}")
        if dreq.dlen != len(data) or bytes(dreq.dst[: dreq.dlen]) != data:
            kit.fail(
                f"compress of {what} reported dlen={n}; those bytes decompress to {dreq.dlen} bytes "
                f"{'that differ from' if dreq.dlen == len(data) else 'instead of'} the {len(data)} input bytes"
            )
        if not untouched_past(dreq.dst, dreq.dlen):
            kit.fail(f"decompress of the stream of {what}: bytes past dlen={dreq.dlen} were written")
        if kit.truncation_detected and n > 0:
            sreq, serr = kit.op(tfm, "decompress", stream[: n - 1], dst=bytearray(len(data) + 64))
            if serr is None and sreq.output() == data:
                kit.fail(
                    f"compress of {what} reported dlen={n}, but its first {n - 1} bytes already "
                    "decompress to the input: dlen is larger than the stream"
                )


def dst_bounds(kit: Kit) -> None:
    tfm = kit.tfm()
    overflow = kit.overflow_errnos(tfm)
    for seed in (1, 2, 3):
        page = acst.make_page("random", seed)
        for cap in (PAGE_SIZE // 2, 16):
            req, err = kit.op(tfm, "compress", page, dst=bytearray(cap))
            kit.expect_err(err, overflow, f"compress of a random page into a {cap}-byte dst", req)
            dreq, derr = kit.op(tfm, "compress", page, dlen=cap)
            kit.expect_err(derr, overflow, f"compress of a random page with dst=None, dlen={cap}", dreq)
    for kind in ("text", "binary", "mixed"):
        page = acst.make_page(kind, 5)
        stream = kit.compress_ok(tfm, page, f"a {kind} page")
        if len(stream) > 1:
            # A driver may fit a smaller dst another way, but never by truncating.
            req, err = kit.op(tfm, "compress", page, dst=bytearray(len(stream) - 1))
            if err is None:
                kit.decompress_check(tfm, req.output(), page, PAGE_SIZE, f"a {kind} page (smaller dst)")
            else:
                kit.expect_err(
                    err, overflow, f"compress of a {kind} page into {len(stream) - 1} bytes (needs {len(stream)})"
                )
        for cap in (PAGE_SIZE - 1, PAGE_SIZE // 2, 1, 0):
            req, err = kit.op(tfm, "decompress", stream, dst=bytearray(cap))
            what = f"decompress of a {kind} page's stream into a {cap}-byte dst"
            kit.expect_err(err, DECOMPRESS_OVERFLOW_ERRNOS, what, req)
        req, err = kit.op(tfm, "decompress", stream, dlen=PAGE_SIZE // 2)
        what = f"decompress of a {kind} page's stream with dst=None, dlen=2048"
        kit.expect_err(err, DECOMPRESS_OVERFLOW_ERRNOS, what, req)
        kit.decompress_check(tfm, stream, page, PAGE_SIZE, f"a {kind} page (exact dst)")


def corrupt_input(kit: Kit) -> None:
    """Damaged streams decode within the dst or fail as corrupt; truncated ones fail as corrupt.

    A damaged stream may be a valid stream of a longer output, so "does not fit"
    is a fair answer for it, once confirmed: decoded again into
    DAMAGED_RETRY_CAPACITY bytes it must decode, fail as corrupt, or still not fit.
    A strict prefix never needs more room than the whole input: "does not fit" is
    the wrong answer for it (``strict_corrupt_errors=False`` accepts it).
    """
    tfm = kit.tfm()
    allowed = kit.corrupt_errnos
    relax = "" if kit.strict_corrupt_errors else " (strict_corrupt_errors=False)"

    def confirm_too_big(cs: acst.CorruptStream, cap: int, what: str) -> None:
        big = max(DAMAGED_RETRY_CAPACITY, 16 * cap)
        req, err = kit.op(tfm, "decompress", cs.stream, dst=bytearray(big))
        if err is None and req.dlen <= cap:
            kit.fail(f"{what}: failed with ENOSPC/EOVERFLOW, but into {big} bytes it decodes to {req.dlen}, which fit")
        if err is not None and err.errno not in allowed | _DOES_NOT_FIT:
            kit.report_err(err, f"{what}, decoded again into {big} bytes", allowed)

    def damaged(cs: acst.CorruptStream) -> None:
        if cs.truncated:
            truncated(cs)
            return
        for cap in (len(cs.original), len(cs.original) + PAGE_SIZE):
            what = f"decompress of a corrupt stream ({cs.how}) into {cap} bytes"
            _, err = kit.op(tfm, "decompress", cs.stream, dst=bytearray(cap))
            if err is None or err.errno in allowed:
                continue
            if err.errno not in _DOES_NOT_FIT:
                kit.expect_err(err, allowed, what)
            confirm_too_big(cs, cap, what)

    def truncated(cs: acst.CorruptStream) -> None:
        req, err = kit.op(tfm, "decompress", cs.stream, dst=bytearray(len(cs.original)))
        what = f"decompress of a stream {cs.how} (input {len(cs.original)} bytes)"
        if err is not None:
            if err.errno not in allowed:
                hint = " (a prefix needs no more room than the whole input)" if err.errno in _DOES_NOT_FIT else ""
                kit.report_err(err, what + hint, allowed)
            return
        if req.output() == cs.original:
            return  # only redundant bytes were cut
        if kit.truncation_detected:
            kit.fail(
                f"{what}: succeeded with {req.dlen} bytes; a truncated stream must fail with errno in "
                f"{names(allowed)} (declare truncation_detected=False for a format without an end marker)"
            )
        if req.dlen == len(cs.original):
            kit.fail(f"{what}: succeeded with {req.dlen} bytes of the input's length but other content")

    garbage = [b"\x00" * 16, b"\xff" * 64, acst.make_page("random", 9), bytes(range(256))]
    for junk in garbage:
        damaged(acst.CorruptStream(b"", junk, f"{len(junk)} junk bytes"))
    kit.given(acst.corrupt_streams(tfm), damaged)
    # A sweep over cut points: a format that misses some truncations misses few.
    for kind in ("text", "binary", "mixed", "zero"):
        page = acst.make_page(kind, 60, 2 * PAGE_SIZE)
        stream = kit.compress_ok(tfm, page, f"a 2-page {kind} input")
        n = len(stream)
        cuts = sorted(set(range(0, n, max(1, n // 256))) | set(range(max(0, n - 32), n)))
        for cut in cuts:
            truncated(acst.CorruptStream(page, stream[:cut], f"truncated to {cut} of {n} bytes"))
    kit.given(acst.truncated_streams(tfm), truncated)
    if relax:
        kit.note(f"{kit.driver}: corrupt input: ENOSPC/EOVERFLOW accepted for corrupt input{relax}")


def empty_input(kit: Kit) -> None:
    tfm = kit.tfm()
    for src in (b"", bytearray(), memoryview(b"")):
        kind = type(src).__name__
        req, err = kit.op(tfm, "compress", src)
        if err is not None:
            kit.expect_err(err, EMPTY_COMPRESS_ERRNOS, f"compress of an empty {kind}")
            continue
        stream = req.output()
        for cap in (0, PAGE_SIZE):
            dreq, derr = kit.op(tfm, "decompress", stream, dst=bytearray(cap))
            if derr is not None:
                what = f"decompress of the {len(stream)}-byte stream of an empty {kind} into {cap} bytes"
                kit.report_err(derr, what, None)
            if dreq.dlen != 0:
                kit.fail(f"the stream of an empty {kind} decompressed to {dreq.dlen} bytes")
        creq, cerr = kit.op(tfm, "compress", src, dst=bytearray(0))
        if cerr is not None:
            allowed = kit.overflow_errnos(tfm) | EMPTY_COMPRESS_ERRNOS
            kit.expect_err(cerr, allowed, f"compress of an empty {kind} into 0 bytes")
        elif creq.dlen != 0:
            kit.fail(f"compress of an empty {kind} into a 0-byte dst reported dlen={creq.dlen}")
    for cap in (0, PAGE_SIZE):
        dreq, derr = kit.op(tfm, "decompress", b"", dst=bytearray(cap))
        if derr is not None:
            kit.expect_err(derr, kit.corrupt_errnos, f"decompress of an empty stream into {cap} bytes")
        elif dreq.dlen != 0:
            kit.fail(f"decompress of an empty stream produced {dreq.dlen} bytes")
