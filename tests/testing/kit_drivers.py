"""Drivers for testing the conformance kit: two good ones, and one broken per property.

All speak raw deflate through zlib, under the algorithm name ``kitdeflate``
(wire format ``kitdeflate``: the good ones cross-check each other, and nothing
here is read by, or reads, the shipped deflate drivers).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import acomp
from acomp.driver import Op
from acomp.request import BufferLike


def inflate(src: BufferLike, capacity: int) -> bytes:
    """Raw inflate producing at most ``capacity`` bytes (capacity 0 included)."""
    d = zlib.decompressobj(-15)
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


def deflate(src: BufferLike) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -12)
    return c.compress(src) + c.flush()


class GoodDeflate(acomp.Driver):
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
    features = acomp.Feature.REQ_CHAIN | acomp.Feature.REQ_SEG

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kitdeflate")

    def _run(
        self, fn: Callable[[BufferLike, int], bytes], srcs: Sequence[BufferLike], caps: Sequence[int]
    ) -> list[acomp.Result]:
        def one(src: BufferLike, cap: int) -> acomp.Result:
            try:
                return fn(src, cap)
            except acomp.AcompError as exc:
                return exc

        return list(self._pool.map(one, srcs, caps))

    def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[acomp.Result]:
        return self._run(self.compress, srcs, capacities)

    def batch_decompress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[acomp.Result]:
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

    def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[acomp.Result]:
        return super().batch_compress(srcs[:1], capacities[:1])


class BatchSameResult(GoodDeflate):
    """A batch hook that compresses the first source and returns that for every request."""

    driver_name = "kitdeflate-sameresult"
    batch_size = 8

    def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[acomp.Result]:
        first = super().batch_compress(srcs[:1], capacities[:1])[0]
        return [first] * len(srcs)


class AsyncBatchingWithoutBatch(GoodDeflate):
    """Claims async batching with batch_size 1: nothing to run in parallel."""

    driver_name = "kitdeflate-fakeasyncbatch"
    async_batching = True


class DoubleCompletion(GoodDeflate):
    """A native async path that calls its completion twice."""

    driver_name = "kitdeflate-doublecb"
    features = acomp.Feature.ASYNC

    def submit(self, op: Op, src: BufferLike, capacity: int, done: Callable[[acomp.Result], None]) -> bool:
        fn = self.compress if op == "compress" else self.decompress

        def work() -> None:
            try:
                res: acomp.Result = fn(src, capacity)
            except acomp.AcompError as exc:
                res = exc
            done(res)
            done(res)

        threading.Thread(target=work, daemon=True).start()
        return True


class KitPlugin:
    """A plugin object registering the given driver classes."""

    def __init__(self, *drivers: type[acomp.Driver]) -> None:
        self.drivers = drivers

    @acomp.hookimpl
    def acomp_register_drivers(self, register: Callable[[type[acomp.Driver]], None]) -> None:
        for cls in self.drivers:
            register(cls)
