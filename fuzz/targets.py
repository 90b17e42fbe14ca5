"""Fuzz targets: each takes arbitrary bytes and must only ever raise an AcompError.

Shared by the atheris runner (``fuzz/run.py``, coverage-guided, for long
campaigns) and the hypothesis tests (``tests/fuzz``, bounded, in CI).  A
target fails by raising anything that is not an :class:`acomp.AcompError`,
or by an output that exceeds the capacity it was given.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import acomp

#: Every decompress path we ship (the IAA one only when its plugin loads).
DECOMPRESS_DRIVERS = ["deflate-generic", "deflate-isal", "zstd-generic", "lz4-generic", "lz4hc-generic", "deflate-iaa"]

_tfms: dict[str, acomp.Transform] = {}


def _tfm(driver: str) -> acomp.Transform | None:
    if driver not in _tfms:
        try:
            _tfms[driver] = acomp.alloc(driver)
        except acomp.AlgorithmNotFound:
            return None
    return _tfms[driver]


def _seeded(driver: str, data: bytes) -> bytes:
    """Half the inputs start from a valid stream, so mutations reach deep states."""
    if data[:1] == b"\x00" or len(data) < 2:
        return data
    tfm = _tfm(driver)
    assert tfm is not None
    req = acomp.Request(data[1:] * (1 + data[0] % 64))
    try:
        tfm.compress(req)
    except acomp.AcompError:
        return data
    blob = bytearray(req.output())
    if blob:
        # flip one byte chosen by the input: a corrupt but almost valid stream
        pos = zlib.crc32(data) % len(blob)
        blob[pos] ^= data[0] or 1
        cut = data[-1] % 4
        return bytes(blob[: len(blob) - cut])
    return bytes(blob)


def decompress_target(data: bytes) -> None:
    """Decompress ``data`` (mutated from a real stream) with a driver and capacity it picks."""
    if len(data) < 3:
        return
    driver = DECOMPRESS_DRIVERS[data[0] % len(DECOMPRESS_DRIVERS)]
    tfm = _tfm(driver)
    if tfm is None:
        return
    capacity = 1 + (data[1] << 5)  # 1 .. ~8 KiB
    src = _seeded(driver, data[2:])
    req = acomp.Request(src, bytearray(capacity))
    try:
        n = tfm.decompress(req)
    except acomp.AcompError as exc:
        assert req.err is exc and req.dlen == 0
        return
    assert 0 <= n <= capacity and req.err is None


TARGETS: dict[str, Callable[[bytes], None]] = {"decompress": decompress_target}
