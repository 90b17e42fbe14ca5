"""Drivers for testing the conformance kit: two good ones, and one broken per property.

All speak raw deflate through zlib, under the algorithm name ``kitdeflate``
(wire format ``kitdeflate``: the good ones cross-check each other, and nothing
here is read by, or reads, the shipped deflate drivers).
"""

from __future__ import annotations

import mmap
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import acomp
from acomp.driver import Op
from acomp.request import BufferLike

#: zlib's ``wbits``: raw deflate (no header) with a 4 KiB window; reading accepts any window.
RAW_WRITE, RAW_READ = -12, -15
#: ... and the zlib format (a 2-byte header and an adler32 trailer): not what ``kitdeflate`` is.
ZLIB_WRITE, ZLIB_READ = 12, 15


def inflate(src: BufferLike, capacity: int, wbits: int = RAW_READ) -> bytes:
    """Inflate producing at most ``capacity`` bytes (capacity 0 included)."""
    d = zlib.decompressobj(wbits)
    try:
        # zlib reads max_length=0 as "no limit": ask for one byte and refuse it instead.
        out = d.decompress(src, max(capacity, 1))
        if len(out) > capacity:
            raise acomp.NoSpace(f"output exceeds dst capacity {capacity}")
        if not d.eof:
            # Full dst with input (or pending output) left: one more byte tells
            # "too big" from "only the end-of-block code was left".
            if d.decompress(d.unconsumed_tail, 1):
                raise acomp.NoSpace(f"output exceeds dst capacity {capacity}")
            if not d.eof:
                raise acomp.InvalidData("truncated deflate stream")
    except zlib.error as exc:
        raise acomp.InvalidData(f"corrupt deflate stream: {exc}") from None
    return out


def deflate(src: BufferLike, wbits: int = RAW_WRITE) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return c.compress(src) + c.flush()


class GoodDeflate(acomp.driver.Driver):
    """A correct one-buffer driver."""

    alg_name = "kitdeflate"
    driver_name = "kitdeflate-good"
    priority = 100

    def compress(self, src: BufferLike, capacity: int) -> bytes:
        out = deflate(src)
        if len(out) > capacity:
            raise acomp.NoSpace(f"output {len(out)} bytes exceeds dst capacity {capacity}")
        return out

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        return inflate(src, capacity)


class GoodBatchingDeflate(GoodDeflate):
    """A correct batching driver: batches run on a small thread pool (async batching)."""

    driver_name = "kitdeflate-batching"
    priority = 90
    batch_size = 4
    async_batching = True
    features = acomp.driver.Feature.REQ_CHAIN | acomp.driver.Feature.REQ_SEG

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kitdeflate")

    def _run(
        self, fn: Callable[[BufferLike, int], bytes], srcs: Sequence[BufferLike], caps: Sequence[int]
    ) -> list[acomp.driver.Result]:
        def one(src: BufferLike, cap: int) -> acomp.driver.Result:
            try:
                return fn(src, cap)
            except acomp.AcompError as exc:
                return exc

        return list(self._pool.map(one, srcs, caps))

    def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        return self._run(self.compress, srcs, capacities)

    def batch_decompress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        return self._run(self.decompress, srcs, capacities)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class WrongDlen(GoodDeflate):
    """Returns its output one byte short: dlen is not the stream's length."""

    driver_name = "kitdeflate-wrongdlen"

    def compress(self, src: BufferLike, capacity: int) -> bytes:
        return super().compress(src, capacity)[:-1]


class PaddedDlen(GoodDeflate):
    """Returns its output with a junk byte appended (inflate ignores it): dlen overstated."""

    driver_name = "kitdeflate-padded"

    def compress(self, src: BufferLike, capacity: int) -> bytes:
        out = super().compress(src, capacity)
        if len(out) + 1 > capacity:
            raise acomp.NoSpace("no room")
        return out + b"\x00"


class IgnoresDstBound(GoodDeflate):
    """Decompresses everything, whatever the dst capacity."""

    driver_name = "kitdeflate-unbounded"

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        try:
            return zlib.decompress(src, -15)
        except zlib.error as exc:
            raise acomp.InvalidData(str(exc)) from None


class InflatesFirst(GoodDeflate):
    """Reports overflow correctly, but only after inflating all of it (a bomb costs memory)."""

    driver_name = "kitdeflate-inflatesfirst"

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        try:
            out = zlib.decompress(src, -15)
        except zlib.error as exc:
            raise acomp.InvalidData(str(exc)) from None
        if len(out) > capacity:
            raise acomp.NoSpace(f"output {len(out)} exceeds capacity {capacity}")
        return out


class InflatesNatively(GoodDeflate):
    """Inflates all of it into native memory first, then reports overflow (a C codec's own buffer).

    The output goes into an anonymous mmap, as a C or Rust library's malloc'd
    buffer would: the Python heap (tracemalloc) never sees it, the process does.
    """

    driver_name = "kitdeflate-inflatesnatively"

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        d = zlib.decompressobj(RAW_READ)
        size = 1 << 20
        buf = mmap.mmap(-1, size)
        pos = 0
        try:
            data: bytes = bytes(src)
            while True:
                chunk = d.decompress(data, 64 * 1024)
                data = d.unconsumed_tail
                if not chunk:
                    break
                if pos + len(chunk) > size:  # grow like realloc: a new mapping, the old copied in
                    bigger = mmap.mmap(-1, 2 * size)
                    with memoryview(buf) as old, old[:pos] as part:
                        bigger[:pos] = part
                    buf.close()
                    buf, size = bigger, 2 * size
                buf[pos : pos + len(chunk)] = chunk
                pos += len(chunk)
            if not d.eof:
                raise acomp.InvalidData("truncated deflate stream")
            if pos > capacity:
                raise acomp.NoSpace(f"output {pos} exceeds capacity {capacity}")
            return buf[:pos]
        except zlib.error as exc:
            raise acomp.InvalidData(f"corrupt deflate stream: {exc}") from None
        finally:
            buf.close()


class LargeDecoderState(GoodDeflate):
    """Bounded, with 8 MiB of native decoder state per call (a zstd window): honest, must pass."""

    driver_name = "kitdeflate-largestate"

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        with mmap.mmap(-1, 8 << 20) as state:
            for off in range(0, len(state), mmap.PAGESIZE):
                state[off] = 1  # touched, so resident, as a decoder's window would be
            return inflate(src, capacity)


class CorruptAsNoSpace(GoodDeflate):
    """Answers corrupt and truncated input with NoSpace instead of InvalidData."""

    driver_name = "kitdeflate-corruptnospace"

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        try:
            return inflate(src, capacity)
        except acomp.InvalidData as exc:
            raise acomp.NoSpace(f"cannot decompress: {exc}") from None


class RaisesValueError(GoodDeflate):
    """Lets a bare ValueError out on corrupt input instead of an AcompError."""

    driver_name = "kitdeflate-valueerror"

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        try:
            return inflate(src, capacity)
        except acomp.InvalidData:
            raise ValueError("bad deflate data") from None


class ClaimsBatchWithoutHook(GoodDeflate):
    """batch_size 8 without a batch path: the registry refuses it."""

    driver_name = "kitdeflate-nohook"
    batch_size = 8


class BatchFirstOnly(GoodDeflate):
    """A batch hook that processes only the first request and returns one result."""

    driver_name = "kitdeflate-firstonly"
    batch_size = 8
    async_batching = True  # crypto_acomp_batch_size() is 1 without it (v5)

    def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        return super().batch_compress(srcs[:1], capacities[:1])


class BatchSameResult(GoodDeflate):
    """A batch hook that compresses the first source and returns that for every request."""

    driver_name = "kitdeflate-sameresult"
    batch_size = 8
    async_batching = True

    def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        first = super().batch_compress(srcs[:1], capacities[:1])[0]
        return [first] * len(srcs)


class AsyncBatchingWithoutBatch(GoodDeflate):
    """Claims async batching with batch_size 1: nothing to run in parallel."""

    driver_name = "kitdeflate-fakeasyncbatch"
    async_batching = True

    def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        return super().batch_compress(srcs, capacities)  # a hook, so the registry accepts the claim


class DoubleCompletion(GoodDeflate):
    """A native async path that calls its completion twice."""

    driver_name = "kitdeflate-doublecb"
    features = acomp.driver.Feature.ASYNC

    def submit(self, op: Op, req: acomp.Request, capacity: int, done: Callable[[acomp.driver.Result], None]) -> bool:
        src = req.src
        fn = self.compress if op == "compress" else self.decompress

        def work() -> None:
            try:
                res: acomp.driver.Result = fn(src, capacity)
            except acomp.AcompError as exc:
                res = exc
            done(res)
            done(res)

        threading.Thread(target=work, daemon=True).start()
        return True


class PeeksHeader(GoodDeflate):
    """Reads the first block header before inflating, without checking there is one."""

    driver_name = "kitdeflate-peeksheader"

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        if memoryview(src)[0] & 0x06 == 0x06:  # BTYPE=11 is reserved; an empty src raises IndexError
            raise acomp.InvalidData("reserved deflate block type")
        return inflate(src, capacity)


class SharedDescriptor(GoodDeflate):
    """A native async path with one compress descriptor: a submit before the last completes overwrites it.

    One request at a time (sync calls, one async submit, a chain run request
    by request) is right; several requests in flight at once (independent
    submits, or several chains) get one source for all.
    """

    driver_name = "kitdeflate-onedescriptor"
    features = acomp.driver.Feature.ASYNC

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._descriptor_src: BufferLike = b""

    def submit(self, op: Op, req: acomp.Request, capacity: int, done: Callable[[acomp.driver.Result], None]) -> bool:
        src = req.src
        if op == "compress":
            self._descriptor_src = src

        def work() -> None:
            time.sleep(0.002)  # the device's latency
            try:
                if op == "compress":
                    res: acomp.driver.Result = self.compress(self._descriptor_src, capacity)
                else:
                    res = self.decompress(src, capacity)
            except acomp.AcompError as exc:
                res = exc
            done(res)

        threading.Thread(target=work, daemon=True).start()
        return True


class ZeroCopyView(GoodDeflate):
    """Compresses a memoryview's underlying object (``src.obj``): a slice of a folio becomes the folio."""

    driver_name = "kitdeflate-zerocopy"

    def compress(self, src: BufferLike, capacity: int) -> bytes:
        whole = src.obj if isinstance(src, memoryview) else src
        return super().compress(whole, capacity)


class SharedScratch(GoodDeflate):
    """Stages each source in one scratch buffer per transform, without a lock."""

    driver_name = "kitdeflate-scratch"

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._scratch = b""

    def compress(self, src: BufferLike, capacity: int) -> bytes:
        self._scratch = bytes(src)
        time.sleep(0.0002)  # another thread's call lands here
        return super().compress(self._scratch, capacity)


class ZlibWrapped(GoodDeflate):
    """Round-trips its own streams, but writes the zlib format under the raw ``kitdeflate`` wire format."""

    driver_name = "kitdeflate-zlib"
    priority = 80

    def compress(self, src: BufferLike, capacity: int) -> bytes:
        out = deflate(src, ZLIB_WRITE)
        if len(out) > capacity:
            raise acomp.NoSpace(f"output {len(out)} bytes exceeds dst capacity {capacity}")
        return out

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        return inflate(src, capacity, ZLIB_READ)


class KitPlugin:
    """A plugin object registering the given driver classes."""

    def __init__(self, *drivers: type[acomp.driver.Driver]) -> None:
        self.drivers = drivers

    @acomp.driver.hookimpl
    def acomp_register_drivers(self, register: acomp.driver.RegisterDriver) -> None:
        for cls in self.drivers:
            register(cls)
