"""zstd-generic: zstd frames at the kernel's default level 3 (kernel: crypto/zstd.c).

python-zstandard's compressor and decompressor objects are not thread-safe,
so each transform keeps one pair per thread, as the kernel keeps per-CPU
workspaces.

Decompression follows the kernel's ``zstd_decompress_dctx``
(``ZSTD_decompressDCtx``): every frame of the source is decoded, concatenated
frames (RFC 8878 section 3) and skippable frames included, within the
destination's capacity; bytes after the last frame that are not a frame are
corrupt input (``-EINVAL``).

Batching: the batch hook (for chains and segments, ``REQ_CHAIN``/``REQ_SEG``)
is a loop: python-zstandard's ``multi_compress_to_buffer`` creates its
contexts on every call, about 15 µs, so for a batch of 8 it ran slower; zstd-generic is not async
batching, and zswap compresses zstd pages one by one, as the kernel does.

Many buffers (acomp only): for a share of a call that :mod:`acomp.many`
spreads over threads, the hooks make one C call without the GIL
(``multi_compress_to_buffer`` / ``multi_decompress_to_buffer``, one thread
each; the calls' fixed cost buys nothing on one thread, where the core loops).
(The library's own ``threads=N`` starts threads on every call; the
``batch_threads`` parameter that turned it on is gone.)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import zstandard

import acomp
from acomp.driver import RegisterDriver

__all__ = ["ZstdGeneric", "acomp_register_drivers"]

ZSTD_DEF_LEVEL = 3
ZSTD_BATCH_SIZE = 8
_FRAME_MAGIC = 0xFD2FB528
_SKIPPABLE_MAGIC = 0x184D2A50  # 0x184D2A50..0x184D2A5F, RFC 8878 section 3.1.2


class ZstdGeneric(acomp.driver.Driver):
    """Software zstd (kernel: ``zstd-generic``)."""

    alg_name = "zstd"
    driver_name = "zstd-generic"
    priority = 100
    batch_size = ZSTD_BATCH_SIZE
    async_batching = False
    features = acomp.driver.Feature.REQ_CHAIN | acomp.driver.Feature.REQ_SEG
    params = {"level": ZSTD_DEF_LEVEL}
    releases_gil = True

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._level = self.int_param("level", -7, 22)
        self._local = threading.local()

    def _ctx(self) -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
        try:
            return self._local.ctx  # type: ignore[no-any-return]
        except AttributeError:
            ctx = (zstandard.ZstdCompressor(level=self._level), zstandard.ZstdDecompressor())
            self._local.ctx = ctx
            return ctx

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        # The thread's compressor straight from the thread-local (a _ctx() call measured 70 ns).
        try:
            cctx: zstandard.ZstdCompressor = self._local.ctx[0]
        except AttributeError:
            cctx = self._ctx()[0]
        out: bytes = cctx.compress(src)
        # fit() only when it does not fit: a call per page shows at 16 µs/page.
        return out if len(out) <= capacity else self.fit(out, capacity)

    def decompress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        try:
            size = zstandard.frame_content_size(src)
        except zstandard.ZstdError:
            size = -2  # not one plain frame at the start (corrupt, or a skippable frame): walk the frames
        if size > capacity:
            raise acomp.NoSpace(f"zstd frame holds {size} bytes, dst capacity is {capacity}")
        if size > 0:  # (0: maybe a skippable frame, which the library decodes as if nothing followed)
            try:
                dctx: zstandard.ZstdDecompressor = self._local.ctx[1]
            except AttributeError:
                dctx = self._ctx()[1]
            try:
                out: bytes = dctx.decompress(src, allow_extra_data=False)
            except zstandard.ZstdError:
                pass  # more frames, or a corrupt one: the walk decodes them or says which
            else:
                if len(out) > capacity:
                    raise acomp.NoSpace(f"zstd output exceeds dst capacity {capacity}")
                return out
        return self._decompress_frames(memoryview(src).cast("B"), capacity)

    def _decompress_frames(self, view: memoryview, capacity: int) -> bytes:
        """Every frame of ``view`` within ``capacity`` (``ZSTD_decompressMultiFrame``)."""
        parts: list[bytes] = []
        total = 0
        for start, end, skippable in _frames(view):
            if skippable:
                continue
            frame = view[start:end]
            out = self._decompress_frame(frame, capacity - total)
            total += len(out)
            parts.append(out)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _decompress_frame(self, frame: memoryview, room: int) -> bytes:
        dctx = self._ctx()[1]
        try:
            size = zstandard.frame_content_size(frame)
        except zstandard.ZstdError as exc:
            raise acomp.InvalidData(f"corrupt zstd frame: {exc}") from None
        if size > room:
            raise acomp.NoSpace(f"zstd frames exceed dst capacity ({size} bytes for {room} left)")
        try:
            if size >= 0:
                out: bytes = dctx.decompress(frame, allow_extra_data=False)
            else:  # no content size: bounded (0 would mean unbounded; 1 lets an empty frame pass)
                out = dctx.decompress(frame, max_output_size=max(room, 1), allow_extra_data=False)
        except zstandard.ZstdError as exc:
            if size < 0 and self._exceeds(frame, room):
                raise acomp.NoSpace(f"zstd output exceeds dst capacity ({room} bytes left)") from None
            raise acomp.InvalidData(f"corrupt zstd frame: {exc}") from None
        if len(out) > room:
            raise acomp.NoSpace(f"zstd output exceeds dst capacity ({room} bytes left)")
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
        # The loop: multi_compress_to_buffer's per-call contexts (~15 µs) made 8 pages slower.
        return super().batch_compress(srcs, capacities)

    # -- many buffers (acomp only): one C call per share, without the GIL --------------

    def compress_many(
        self, srcs: Sequence[acomp.driver.BufferLike], capacities: Sequence[int]
    ) -> list[acomp.driver.Result] | None:
        # Sizes are nbytes of a flat byte view, never len() of a typed or 2-D view.
        views = [_flat(src) for src in srcs]
        # The C call rejects empty sources; those (rare) shares take the loop.
        if len(views) < 2 or not all(views):
            return None
        try:
            outs = self._ctx()[0].multi_compress_to_buffer(views, threads=1)
        except (zstandard.ZstdError, TypeError, ValueError):
            return None
        if len(outs) != len(views):
            return None
        results: list[acomp.driver.Result] = []
        for i, cap in enumerate(capacities):
            seg = outs[i]
            if len(seg) <= cap:
                results.append(memoryview(seg))  # type: ignore[arg-type]  # a buffer; the stubs miss it
            else:
                results.append(acomp.NoSpace(f"{self.driver_name}: output of {len(seg)} bytes exceeds {cap}"))
        return results

    def decompress_many(
        self, srcs: Sequence[acomp.driver.BufferLike], capacities: Sequence[int]
    ) -> list[acomp.driver.Result] | None:
        return self._decompress_share(srcs, capacities) if len(srcs) > 1 else None

    def _decompress_share(
        self, srcs: Sequence[acomp.driver.BufferLike], capacities: Sequence[int]
    ) -> list[acomp.driver.Result]:
        # One C call for the sources that are exactly one frame with a content size that fits
        # (the call decodes only a first frame and ignores what follows); the loop for the rest.
        fcs = zstandard.frame_content_size
        native: list[int] = []
        for i, src in enumerate(srcs):
            try:
                size = fcs(src)
            except zstandard.ZstdError:
                continue
            if 0 < size <= capacities[i] and _one_frame(src):
                native.append(i)
        results: list[Any] = [None] * len(srcs)
        if len(native) > 1:
            try:
                outs = self._ctx()[1].multi_decompress_to_buffer([srcs[i] for i in native], threads=1)
            except zstandard.ZstdError:
                outs = None  # one corrupt frame fails the call: each source on its own says which
            if outs is not None and len(outs) == len(native):
                for j, i in enumerate(native):
                    results[i] = memoryview(outs[j])  # type: ignore[arg-type]  # as above
        for i, src in enumerate(srcs):
            if results[i] is None:
                try:
                    results[i] = self.decompress(src, capacities[i])
                except acomp.AcompError as exc:
                    results[i] = exc
        return results


def _flat(src: acomp.driver.BufferLike) -> acomp.driver.BufferLike:
    if type(src) is bytes or type(src) is bytearray:
        return src
    mv = memoryview(src)
    return mv if mv.format == "B" and mv.ndim == 1 else mv.cast("B")


def _one_frame(src: Any) -> bool:
    """True when ``src`` is one zstd frame and nothing else (the common one-block case is fast)."""
    try:
        pos = zstandard.frame_header_size(src)
    except zstandard.ZstdError:
        return False
    n = len(src)
    while True:
        if pos + 3 > n:
            return False
        bh = src[pos] | src[pos + 1] << 8 | src[pos + 2] << 16
        btype = (bh >> 1) & 3
        if btype == 3:
            return False
        pos += 3 + (1 if btype == 1 else bh >> 3)
        if bh & 1:
            break
    if src[4] & 4:  # Content_Checksum_flag
        pos += 4
    return pos == n


def _frames(view: memoryview) -> list[tuple[int, int, bool]]:
    """``(start, end, skippable)`` of every frame in ``view``; InvalidData for anything else."""
    frames: list[tuple[int, int, bool]] = []
    n = len(view)
    pos = 0
    if n == 0:
        raise acomp.InvalidData("empty zstd input")
    while pos < n:
        if n - pos < 8:
            if pos == 0:
                raise acomp.InvalidData(f"{n} bytes are too short for a zstd frame")
            raise acomp.InvalidData(f"{n - pos} bytes after the last zstd frame (offset {pos}) are not a frame")
        magic = int.from_bytes(view[pos : pos + 4], "little")
        if magic & 0xFFFFFFF0 == _SKIPPABLE_MAGIC:
            end = pos + 8 + int.from_bytes(view[pos + 4 : pos + 8], "little")
            if end > n:
                raise acomp.InvalidData(f"truncated skippable zstd frame at offset {pos}")
            frames.append((pos, end, True))
            pos = end
            continue
        if magic != _FRAME_MAGIC:
            raise acomp.InvalidData(f"bytes at offset {pos} are not a zstd frame (magic {magic:#010x})")
        end = _frame_end(view, pos)
        frames.append((pos, end, False))
        pos = end
    return frames


def _frame_end(view: memoryview, pos: int) -> int:
    """Where the frame starting at ``pos`` ends (``ZSTD_findFrameCompressedSize``)."""
    n = len(view)
    try:
        p = pos + zstandard.frame_header_size(view[pos:])
    except zstandard.ZstdError as exc:
        raise acomp.InvalidData(f"corrupt zstd frame header at offset {pos}: {exc}") from None
    while True:
        if p + 3 > n:
            raise acomp.InvalidData(f"truncated zstd frame at offset {pos}")
        bh = int.from_bytes(view[p : p + 3], "little")
        btype = (bh >> 1) & 3
        if btype == 3:
            raise acomp.InvalidData(f"reserved zstd block type in the frame at offset {pos}")
        p += 3 + (1 if btype == 1 else bh >> 3)
        if bh & 1:
            break
    if view[pos + 4] & 4:
        p += 4
    if p > n:
        raise acomp.InvalidData(f"truncated zstd frame at offset {pos}")
    return p


@acomp.driver.hookimpl
def acomp_register_drivers(register: RegisterDriver) -> None:
    register(ZstdGeneric)
