"""The decompression bomb: what one bounded decompression costs, on the Python heap and in native memory.

Two measurements of the same call, each against a one-page decompression:

* the Python heap peak (``tracemalloc``): catches a driver that inflates into
  Python objects first;
* the process's resident-memory peak: catches a codec that inflates into its
  own C/Rust allocations (invisible to tracemalloc).  Linux: free heap pages
  are returned first (glibc ``malloc_trim(0)``), so memory the call touches is
  counted even when malloc reuses it; the peak (``VmHWM``) is reset to the
  current size (``/proc/self/clear_refs``, "5"), the call runs, and the
  growth is ``VmHWM`` after minus ``VmRSS`` before.  Elsewhere the native
  half is not measured and the report says so.

Both take the least of up to three runs, so another thread's allocations
cannot fake a bomb (a real one allocates its output every time).
"""

from __future__ import annotations

import ctypes
import gc
import sys
import tracemalloc
from collections.abc import Callable
from functools import cache

import acomp
from acomp.errors import AcompError
from acomp.query import query
from acomp.request import PAGE_SIZE
from acomp.testing.conformance._contract import BOMB_SIZE, BOMB_SLACK, DECOMPRESS_OVERFLOW_ERRNOS, NATIVE_BOMB_SLACK
from acomp.testing.conformance._kit import Kit, err_text
from acomp.testing.conformance._outcomes import PropertySkipped
from acomp.transform import Transform

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_bytes(field: str) -> int:
    with open(_STATUS) as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise OSError(f"{field} not in {_STATUS}")


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        fn = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


@cache
def native_memory_unmeasured() -> str:
    """Why the process's memory peak cannot be measured here ("" when it can)."""
    if not sys.platform.startswith("linux"):
        return f"no per-call memory peak on {sys.platform} (Linux only)"
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
        _status_bytes("VmHWM:")
        _status_bytes("VmRSS:")
    except OSError as exc:
        return f"cannot reset the memory peak ({_CLEAR_REFS}: {exc.strerror or exc})"
    return ""


def resident_growth(call: Callable[[], object]) -> int:
    """Bytes by which the process's resident-memory peak exceeds its size before ``call``."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    with open(_CLEAR_REFS, "w") as f:
        f.write("5")  # VmHWM := VmRSS
    before = _status_bytes("VmRSS:")
    call()
    return max(0, _status_bytes("VmHWM:") - before)


def heap_growth(call: Callable[[], object]) -> int:
    """Bytes by which the Python heap (tracemalloc) peaks above its size before ``call``."""
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        call()
        return max(0, tracemalloc.get_traced_memory()[1] - before)
    finally:
        if not was_tracing:
            tracemalloc.stop()


def _least(measure: Callable[[Callable[[], object]], int], call: Callable[[], object], slack: int, base: int) -> int:
    """The least growth of up to three runs, stopping as soon as one is within ``slack`` of ``base``."""
    best = measure(call)
    for _ in range(2):
        if best - base < slack:
            break
        best = min(best, measure(call))
    return best


def _bomb_stream(kit: Kit, tfm: Transform) -> bytes:
    bomb = bytes(BOMB_SIZE)
    req, err = kit.op(tfm, "compress", bomb)
    if err is None:
        return req.output()
    for rec in query(wire_format=tfm.record.wire_format, exclude=frozenset({kit.driver})):
        try:
            return acomp.compress(bomb, rec.driver_name)
        except AcompError:
            continue
    raise PropertySkipped(f"cannot build a {BOMB_SIZE}-byte bomb: compress failed with {err_text(err)}")


def decompression_bomb(kit: Kit) -> None:
    tfm = kit.tfm()
    stream = _bomb_stream(kit, tfm)
    page_stream = kit.compress_ok(tfm, bytes(PAGE_SIZE), "a zero page")
    mib = BOMB_SIZE >> 20
    what = f"decompress of {mib} MiB of zeros ({len(stream)}-byte stream) into a {PAGE_SIZE}-byte dst"

    def page() -> None:
        kit.op(tfm, "decompress", page_stream, dst=bytearray(PAGE_SIZE))

    def bomb() -> None:
        req, err = kit.op(tfm, "decompress", stream, dst=bytearray(PAGE_SIZE))
        kit.expect_err(err, DECOMPRESS_OVERFLOW_ERRNOS, what, req)

    base = min(heap_growth(page) for _ in range(3))
    peak = _least(heap_growth, bomb, BOMB_SLACK, base)
    if peak - base >= BOMB_SLACK:
        kit.fail(
            f"{what}: the Python heap peaked {peak // 1024} KiB above its size before the call "
            f"({base // 1024} KiB for a one-page decompression): output must be bounded by the dst, not inflated first"
        )
    why = native_memory_unmeasured()
    if why:
        kit.note(f"{kit.driver}: decompression bomb: native memory not measured: {why}")
    else:
        base = min(resident_growth(page) for _ in range(3))
        peak = _least(resident_growth, bomb, NATIVE_BOMB_SLACK, base)
        if peak - base >= NATIVE_BOMB_SLACK:
            kit.fail(
                f"{what}: the process's resident memory peaked {peak >> 20} MiB above its size before the call "
                f"({base // 1024} KiB for a one-page decompression): the codec inflated the bomb in native memory; "
                "bound the decoder's output by the dst"
            )
    req, err = kit.op(tfm, "decompress", stream, dlen=PAGE_SIZE)
    kit.expect_err(err, DECOMPRESS_OVERFLOW_ERRNOS, f"{what} (dst=None, dlen={PAGE_SIZE})", req)
