"""Round trips of the container format through the CLI, and its structure and checks."""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from pathlib import Path

import pytest
from acomp_cli_helpers import run_process

import acomp
from acomp.cli.compress import compress_stream
from acomp.cli.container import (
    FLAG_END,
    FLAG_STORED,
    MAGIC,
    ContainerError,
    ContainerReader,
)
from acomp.cli.decompress import decompress_stream

ALGS = ["deflate", "deflate-generic", "zstd", "lz4", "lz4hc"]
if any(r.driver_name == "deflate-iaa" for r in acomp.algorithms()):
    ALGS.append("deflate-iaa")


def _data(kind: str, size: int) -> bytes:
    rng = random.Random(size)
    if kind == "random":
        return rng.randbytes(size)
    if kind == "zeros":
        return bytes(size)
    text = b"".join(b"line %d of a text that repeats itself, mostly\n" % (i % 97) for i in range(size // 40 + 1))
    return text[:size]


SIZES = [0, 1, 4095, 4096, 4097, 3 * 4096 + 5]


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("size", SIZES)
def test_roundtrip_sizes(cli, tmp_path: Path, alg: str, size: int) -> None:  # type: ignore[no-untyped-def]
    data = _data("text", size)
    src, packed, back = tmp_path / "in", tmp_path / "in.acz", tmp_path / "out"
    src.write_bytes(data)
    rc, _, err = cli("compress", "-a", alg, str(src), "-o", str(packed))
    assert rc == 0, err
    rc, _, err = cli("decompress", str(packed), "-o", str(back))
    assert rc == 0, err
    assert back.read_bytes() == data


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("kind", ["random", "zeros", "text"])
def test_roundtrip_large(cli, tmp_path: Path, alg: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    data = _data(kind, 300 * 1024 + 17)
    src, packed, back = tmp_path / "in", tmp_path / "in.acz", tmp_path / "out"
    src.write_bytes(data)
    assert cli("compress", "-a", alg, str(src), "-o", str(packed))[0] == 0
    assert cli("decompress", str(packed), "-o", str(back))[0] == 0
    assert back.read_bytes() == data
    if kind == "random":
        # Random units do not shrink: stored as-is, so the container is barely larger.
        assert packed.stat().st_size < len(data) + 2000
    else:
        assert packed.stat().st_size < len(data) // 2


@pytest.mark.parametrize("unit", ["512", "65536"])
def test_unit_sizes(cli, tmp_path: Path, unit: str) -> None:  # type: ignore[no-untyped-def]
    data = _data("text", 200_000)
    src, packed, back = tmp_path / "in", tmp_path / "in.acz", tmp_path / "out"
    src.write_bytes(data)
    assert cli("compress", "-a", "zstd", "--unit-size", unit, str(src), "-o", str(packed))[0] == 0
    assert ContainerReader(io.BytesIO(packed.read_bytes())).header.unit_size == int(unit)
    assert cli("decompress", str(packed), "-o", str(back))[0] == 0
    assert back.read_bytes() == data


def test_stdin_stdout_pipe(tmp_path: Path) -> None:
    data = _data("text", 50_000) + os.urandom(3000)
    r = run_process(["compress", "-a", "lz4", "-", "-o", "-"], stdin=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(MAGIC)
    r2 = run_process(["decompress", "-", "-o", "-"], stdin=r.stdout)
    assert r2.returncode == 0, r2.stderr
    assert r2.stdout == data


def test_other_driver_of_same_wire_format_reads_it(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = _data("text", 40_000)
    src, packed, back = tmp_path / "in", tmp_path / "in.acz", tmp_path / "out"
    src.write_bytes(data)
    assert cli("compress", "-a", "deflate-generic", str(src), "-o", str(packed))[0] == 0
    for reader in {r.driver_name for r in acomp.algorithms() if r.wire_format == "deflate"}:
        rc, _, err = cli("decompress", "-a", reader, str(packed), "-o", str(back))
        assert rc == 0, err
        assert back.read_bytes() == data


def _container(data: bytes, alg: str = "zstd", unit: int = 4096) -> bytes:
    out = io.BytesIO()
    with acomp.alloc(alg) as tfm:
        compress_stream(tfm, io.BytesIO(data), out, unit)
    return out.getvalue()


def test_layout_matches_the_documented_format() -> None:
    data = _data("text", 4096) + os.urandom(4096) + _data("text", 100)
    raw = _container(data, "lz4")
    assert raw[:8] == MAGIC
    version, flags, unit_size = struct.unpack_from("<BBI", raw, 8)
    assert (version, flags, unit_size) == (1, 0, 4096)
    pos = 14
    alg_len = raw[pos]
    assert raw[pos + 1 : pos + 1 + alg_len] == b"lz4"
    pos += 1 + alg_len
    drv_len = raw[pos]
    assert raw[pos + 1 : pos + 1 + drv_len] == b"lz4-generic"
    pos += 1 + drv_len
    (crc,) = struct.unpack_from("<I", raw, pos)
    assert crc == zlib.crc32(raw[:pos])
    pos += 4
    units = []
    while True:
        flags, orig, comp, ucrc = struct.unpack_from("<BIII", raw, pos)
        pos += 13
        if flags == FLAG_END:
            (total,) = struct.unpack_from("<Q", raw, pos)
            assert total == len(data)
            assert ucrc == zlib.crc32(data)
            assert pos + 8 == len(raw)
            break
        units.append((flags, orig, comp))
        payload = raw[pos : pos + comp]
        pos += comp
        if flags & FLAG_STORED:
            assert payload == data[sum(u[1] for u in units[:-1]) :][:orig]
    assert [u[1] for u in units] == [4096, 4096, 100]
    assert units[0][0] == 0 and units[0][2] < 4096  # text shrinks
    assert units[1][0] == FLAG_STORED and units[1][2] == 4096  # random: stored as-is
    assert units[2][0] in (0, FLAG_STORED)


def test_every_truncation_is_detected() -> None:
    data = _data("text", 3 * 4096 + 10)
    raw = _container(data)
    for cut in range(len(raw)):
        with pytest.raises(ContainerError) as info:
            reader = ContainerReader(io.BytesIO(raw[:cut]))
            decompress_stream(None, reader, io.BytesIO(), reader.header.alg_name)
        assert info.value.kind in ("truncated", "foreign"), (cut, info.value)


def test_every_single_byte_corruption_is_detected() -> None:
    data = _data("text", 2 * 4096 + 10)
    raw = _container(data, "lz4")
    rng = random.Random(1)
    for pos in range(len(raw)):
        bad = bytearray(raw)
        bad[pos] ^= 1 << rng.randrange(8)
        with pytest.raises(ContainerError):
            reader = ContainerReader(io.BytesIO(bytes(bad)))
            decompress_stream(None, reader, io.BytesIO(), reader.header.alg_name)


class _Recorder(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.sizes: list[int] = []

    def read(self, n: int | None = -1) -> bytes:
        self.sizes.append(-1 if n is None else n)
        return super().read(n)


def test_compress_is_streamed() -> None:
    data = _data("text", 500_000)
    inp = _Recorder(data)
    with acomp.alloc("zstd") as tfm:
        compress_stream(tfm, inp, io.BytesIO(), 4096)
    assert inp.sizes and max(inp.sizes) <= 4096 and -1 not in inp.sizes


def test_batching_transform_uses_batch_compress() -> None:
    calls: list[int] = []
    with acomp.alloc("deflate-iaa") as tfm:
        assert tfm.batch_size > 1
        out = io.BytesIO()

        class Shim:
            """Transform has __slots__: a stand-in that records batch sizes and delegates."""

            alg_name, driver_name, batch_size = tfm.alg_name, tfm.driver_name, tfm.batch_size

            def batch_compress(self, reqs):  # type: ignore[no-untyped-def]
                calls.append(len(reqs))
                return tfm.batch_compress(reqs)

            def compress(self, req):  # type: ignore[no-untyped-def]
                return tfm.compress(req)

        compress_stream(Shim(), io.BytesIO(_data("text", 20 * 4096)), out, 4096)  # type: ignore[arg-type]
    assert calls and max(calls) == tfm.batch_size


def test_batching_transform_uses_batch_decompress() -> None:
    data = _data("text", 20 * 4096 + 7)
    raw = _container(data, "deflate-iaa")
    calls: list[int] = []
    with acomp.alloc("deflate-iaa") as tfm:
        assert tfm.batch_size > 1

        class Shim:
            """Transform has __slots__: a stand-in that records batch sizes and delegates."""

            alg_name, driver_name, batch_size = tfm.alg_name, tfm.driver_name, tfm.batch_size

            def batch_decompress(self, reqs):  # type: ignore[no-untyped-def]
                calls.append(len(reqs))
                return tfm.batch_decompress(reqs)

        out = io.BytesIO()
        reader = ContainerReader(io.BytesIO(raw))
        decompress_stream(Shim(), reader, out, None)  # type: ignore[arg-type]
    assert out.getvalue() == data
    assert calls and max(calls) == tfm.batch_size
    assert sum(calls) == 20  # the 7-byte tail did not shrink: stored, nothing to decompress
