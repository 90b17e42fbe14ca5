"""The output is what IAA writes: one fixed-Huffman block, window <= 4 KiB, readable by any inflate."""

from __future__ import annotations

import random
import zlib

import pytest
from acomp_iaa import fixed
from deflate_check import DeflateFormatError, check_iaa_fixed, read_raw_deflate
from hypothesis import given, settings
from hypothesis import strategies as st

from acomp.errors import InvalidData, OutputOverflow

CODECS = ["zlib"] + (["isal"] if fixed.HAVE_ISAL else [])


def _structured(draw_bytes: bytes, n: int) -> bytes:
    # Repeats at distances up to 8 KiB so the window limit is exercised.
    rng = random.Random(draw_bytes)
    out = bytearray(rng.randbytes(min(n, 64)))
    while len(out) < n:
        if rng.random() < 0.3:
            out += rng.randbytes(rng.randint(1, 40))
        else:
            back = rng.randint(1, min(len(out), 8192))
            start = len(out) - back
            out += out[start : start + rng.randint(3, 300)]
    return bytes(out[:n])


@pytest.mark.parametrize("codec", CODECS)
@settings(deadline=None, max_examples=60)
@given(data=st.binary(max_size=6000))
def test_arbitrary_bytes_are_one_fixed_block(codec: str, data: bytes) -> None:
    stream = fixed.deflate_fixed(data, codec)  # type: ignore[arg-type]
    check_iaa_fixed(stream, data)
    assert zlib.decompress(stream, -15) == data


@pytest.mark.parametrize("codec", CODECS)
@settings(deadline=None, max_examples=40)
@given(seed=st.binary(min_size=1, max_size=8), n=st.integers(0, 4096 * 3))
def test_structured_data_keeps_distances_in_window(codec: str, seed: bytes, n: int) -> None:
    data = _structured(seed, n)
    rep = check_iaa_fixed(fixed.deflate_fixed(data, codec), data)  # type: ignore[arg-type]
    assert rep.max_distance <= fixed.HISTORY_WINDOW


@pytest.mark.parametrize("codec", CODECS)
def test_real_pages(codec: str, real_pages: list[bytes]) -> None:
    matched = 0
    for page in real_pages:
        rep = check_iaa_fixed(fixed.deflate_fixed(page, codec), page)  # type: ignore[arg-type]
        matched += rep.n_matches > 0
    assert matched > len(real_pages) // 2  # real data does get LZ77 matches


def test_incompressible_page_is_still_fixed_huffman() -> None:
    page = random.Random(1).randbytes(4096)
    for codec in CODECS:
        stream = fixed.deflate_fixed(page, codec)  # type: ignore[arg-type]
        check_iaa_fixed(stream, page)
        assert len(stream) > 4096  # zswap would store this page as is
    # zlib alone would have chosen a stored block here.
    plain = zlib.compressobj(1, zlib.DEFLATED, -12, 9, zlib.Z_FIXED)
    assert read_raw_deflate(plain.compress(page) + plain.flush()).blocks == [(1, 0)]


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("n", [16384, 16385, 40000, 100_000, 1 << 20])
def test_large_inputs_are_one_fixed_block(codec: str, n: int) -> None:
    """Kernel (I10): one 3-bit header (FIXED_HDR | bfinal) and IAA_COMP_APPEND_EOB, at any size
    (the zlib path wrote one fixed block per 16 KiB segment before)."""
    rng = random.Random(n)
    data = b"".join(rng.randbytes(200) if rng.random() < 0.5 else bytes(200) for _ in range(n // 200 + 1))[:n]
    stream = fixed.deflate_fixed(data, codec)  # type: ignore[arg-type]
    rep = read_raw_deflate(stream, limit=1 << 22)
    assert rep.blocks == [(1, 1)]
    assert rep.max_distance <= 4096 and rep.output == data and rep.consumed_bytes == len(stream)
    assert len(stream) < n  # matches survive the segmenting


def test_literal_block_reader_agrees() -> None:
    data = bytes(range(256)) * 3
    check_iaa_fixed(fixed.literal_fixed_block(data), data)


def test_inflate_bounded_errors() -> None:
    page = bytes(range(256)) * 16
    stream = fixed.deflate_fixed(page)
    assert fixed.inflate_bounded(stream, 4096) == page
    with pytest.raises(OutputOverflow):
        fixed.inflate_bounded(stream, 4095)
    with pytest.raises(OutputOverflow):
        fixed.inflate_bounded(stream, 0)
    for bad in (stream[:-1], stream[:3], b"\xff" * 16, stream + b"\x00", b""):
        with pytest.raises(InvalidData):
            fixed.inflate_bounded(bad, 4096)


def test_bomb_is_bounded() -> None:
    bomb = fixed.deflate_fixed(bytes(1 << 20), "zlib")
    with pytest.raises(OutputOverflow):
        fixed.inflate_bounded(bomb, 4096)


@settings(deadline=None, max_examples=80)
@given(junk=st.binary(max_size=200), cap=st.integers(0, 8192))
def test_inflate_never_raises_foreign_errors(junk: bytes, cap: int) -> None:
    try:
        out = fixed.inflate_bounded(junk, cap)
    except (InvalidData, OutputOverflow):
        return
    assert len(out) <= cap


def test_checker_rejects_dynamic_blocks() -> None:
    dyn = zlib.compressobj(6, zlib.DEFLATED, -15)
    with open(random.__file__, "rb") as f:
        text = f.read(20000)
    stream = dyn.compress(text) + dyn.flush()
    assert read_raw_deflate(stream).blocks[0][1] == 2
    with pytest.raises(AssertionError):
        check_iaa_fixed(stream)
    with pytest.raises(DeflateFormatError):
        read_raw_deflate(b"\x07")  # reserved block type
