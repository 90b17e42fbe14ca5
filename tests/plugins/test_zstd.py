"""zstd-generic's frame handling (issue 14 items 4 and 9).

Kernel fact: crypto/zstd.c decompresses with ``zstd_decompress_dctx``
(``ZSTD_decompressDCtx``), which decodes every frame of the source, skippable
frames included, into the destination's capacity, and fails on bytes that are
not a frame (``-EINVAL``).
"""

from __future__ import annotations

import struct

import pytest
import zstandard

import acomp

A = b"hello " * 100
B = b"world " * 100


def frame(data: bytes, **kw: object) -> bytes:
    return zstandard.ZstdCompressor(level=3, **kw).compress(data)  # type: ignore[arg-type]


def skippable(payload: bytes, nibble: int = 0) -> bytes:
    return struct.pack("<II", 0x184D2A50 | nibble, len(payload)) + payload


def decompress(src: bytes, capacity: int = 4096) -> bytes:
    with acomp.alloc("zstd-generic") as tfm:
        req = acomp.Request(src, bytearray(capacity))
        n = tfm.decompress(req)
        return bytes(req.dst[:n])  # type: ignore[index]


@pytest.mark.parametrize(
    ("src", "want"),
    [
        (frame(A) + frame(B), A + B),
        (frame(A) + skippable(b"meta") + frame(B), A + B),
        (skippable(b"", 15) + frame(A), A),
        (frame(A, write_checksum=True) + frame(B, write_content_size=False), A + B),
        (frame(A) + frame(b""), A),
        (skippable(b"only"), b""),
    ],
)
def test_every_frame_is_decoded(src: bytes, want: bytes) -> None:
    assert decompress(src) == want


@pytest.mark.parametrize(
    "src",
    [
        frame(A) + b"junk",
        frame(A) + b"\x00" * 12,
        frame(A) + frame(B)[:-2],  # truncated second frame
        frame(A) + frame(B)[:6],
        frame(A) + skippable(b"meta")[:-1],
        frame(A)[:-1],
        b"",
        b"\x28\xb5\x2f",
    ],
)
def test_bytes_that_are_not_a_frame_are_einval(src: bytes) -> None:
    with pytest.raises(acomp.InvalidData) as info:
        decompress(src)
    assert info.value.errno == 22  # EINVAL


@pytest.mark.parametrize("second", [frame(B), frame(B, write_content_size=False)])
def test_frames_share_one_capacity(second: bytes) -> None:
    src = frame(A) + second
    assert decompress(src, len(A) + len(B)) == A + B
    with pytest.raises(acomp.NoSpace):
        decompress(src, len(A) + len(B) - 1)


def test_many_decompress_refuses_trailing_bytes_too() -> None:
    srcs = [frame(A), frame(A) + b"junk", frame(A) + frame(B), frame(B)]
    outs = acomp.decompress_many(srcs, "zstd-generic", max_size=4096)
    assert bytes(outs[0]) == A and bytes(outs[3]) == B  # type: ignore[arg-type]
    assert isinstance(outs[1], acomp.InvalidData)
    assert bytes(outs[2]) == A + B  # type: ignore[arg-type]
    with acomp.alloc("zstd-generic") as tfm:
        hook = tfm.driver.decompress_many(srcs, [4096] * 4)
    assert hook is not None
    assert [bytes(r) if not isinstance(r, acomp.AcompError) else type(r) for r in hook] == [
        A,
        acomp.InvalidData,
        A + B,
        B,
    ]


def test_hooks_size_sources_in_bytes() -> None:
    page = bytes(range(256)) * 16
    typed = memoryview(bytearray(page)).cast("Q")  # len() 512, nbytes 4096
    grid = memoryview(bytearray(page)).cast("B", (64, 64))  # len() 64
    hollow = memoryview(bytearray(0)).cast("Q")
    want = [frame(page), frame(page), frame(b"")]
    with acomp.alloc("zstd-generic") as tfm:
        batch = tfm.driver.batch_compress([typed, grid, hollow], [8192] * 3)
        many = tfm.driver.compress_many([typed, grid, page], [8192] * 3)
    assert [bytes(r) for r in batch] == want  # type: ignore[arg-type]
    assert many is not None and [bytes(r) for r in many] == [want[0], want[1], want[0]]  # type: ignore[arg-type]
