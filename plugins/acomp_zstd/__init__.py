"""zstd-generic: zstd frames at the kernel's default level 3 (kernel: crypto/zstd.c).

python-zstandard's compressor and decompressor objects are not thread-safe,
so each transform keeps one pair per thread, as the kernel keeps per-CPU
workspaces.

Batching: the batch hook compresses a whole batch in one call into
python-zstandard's ``multi_compress_to_buffer`` (one C call, no per-page
Python dispatch).  It is *not* advertised as async batching: measured here
on 2 cores with 8-page batches, the library's ``threads=2`` mode spawns
threads per call and ran 20x slower than a loop, while ``threads=1`` runs at
the loop's speed.  So zswap, which batches only async-batching compressors,
compresses zstd pages one by one, as the kernel does.  ``batch_threads`` > 1
turns the library's threads on for callers with large batches.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import zstandard

import acomp
from acomp.driver import RegisterDriver

__all__ = ["ZstdGeneric", "acomp_register_drivers"]

ZSTD_DEF_LEVEL = 3
ZSTD_BATCH_SIZE = 8


class ZstdGeneric(acomp.driver.Driver):
    """Software zstd (kernel: ``zstd-generic``)."""

    alg_name = "zstd"
    driver_name = "zstd-generic"
    priority = 100
    batch_size = ZSTD_BATCH_SIZE
    async_batching = False
    features = acomp.driver.Feature.REQ_CHAIN | acomp.driver.Feature.REQ_SEG
    params = {"level": ZSTD_DEF_LEVEL, "batch_threads": 1}

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._level = self.int_param("level", -7, 22)
        self._threads = self.int_param("batch_threads", 1, 64)
        self._local = threading.local()

    def _ctx(self) -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
        try:
            return self._local.ctx  # type: ignore[no-any-return]
        except AttributeError:
            ctx = (zstandard.ZstdCompressor(level=self._level), zstandard.ZstdDecompressor())
            self._local.ctx = ctx
            return ctx

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        out: bytes = self._ctx()[0].compress(src)
        # fit() only when it does not fit: a call per page shows at 16 µs/page.
        return out if len(out) <= capacity else self.fit(out, capacity)

    def decompress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        dctx = self._ctx()[1]
        try:
            size = zstandard.frame_content_size(src)
        except zstandard.ZstdError as exc:
            raise acomp.InvalidData(f"corrupt zstd frame: {exc}") from None
        if size > capacity:
            raise acomp.NoSpace(f"zstd frame holds {size} bytes, dst capacity is {capacity}")
        try:
            if size >= 0:
                out = dctx.decompress(src)
            else:
                out = dctx.decompress(src, max_output_size=capacity)
        except zstandard.ZstdError as exc:
            if size < 0 and self._exceeds(src, capacity):
                raise acomp.NoSpace(f"zstd output exceeds dst capacity {capacity}") from None
            raise acomp.InvalidData(f"corrupt zstd frame: {exc}") from None
        if len(out) > capacity:
            raise acomp.NoSpace(f"zstd output exceeds dst capacity {capacity}")
        return out

    def _exceeds(self, src: acomp.driver.BufferLike, capacity: int) -> bool:
        """True when a frame without a content size inflates past ``capacity``."""
        try:
            reader = self._ctx()[1].stream_reader(src)
            return len(reader.read(capacity + 1)) > capacity
        except zstandard.ZstdError:
            return False

    def compress_bound(self, slen: int) -> int:
        # ZSTD_COMPRESSBOUND
        margin = ((128 << 10) - slen) >> 11 if slen < (128 << 10) else 0
        return slen + (slen >> 8) + margin

    def batch_compress(
        self, srcs: Sequence[acomp.driver.BufferLike], capacities: Sequence[int]
    ) -> list[acomp.driver.Result]:
        # The batch API rejects empty sources; those (rare) batches take the loop.
        if len(srcs) < 2 or not all(len(memoryview(src)) for src in srcs):
            return super().batch_compress(srcs, capacities)
        try:
            outs = self._ctx()[0].multi_compress_to_buffer(list(srcs), threads=self._threads)
        except (zstandard.ZstdError, TypeError, ValueError):
            return super().batch_compress(srcs, capacities)
        if len(outs) != len(srcs):
            return super().batch_compress(srcs, capacities)
        results: list[acomp.driver.Result] = []
        for i, cap in enumerate(capacities):
            try:
                results.append(self.fit(outs[i].tobytes(), cap))
            except acomp.NoSpace as exc:
                results.append(exc)
        return results


@acomp.driver.hookimpl
def acomp_register_drivers(register: RegisterDriver) -> None:
    register(ZstdGeneric)
