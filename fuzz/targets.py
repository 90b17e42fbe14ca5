"""Fuzz targets: each takes arbitrary bytes and may only raise its documented error type.

Shared by the atheris runner (``fuzz/run.py``, coverage-guided, for long
campaigns) and the hypothesis tests (``tests/fuzz``, bounded, in CI).

* ``decompress``: every driver's decompress path; only :class:`acomp.AcompError`,
  and never more output than the capacity it was given.
* ``container``: the CLI's container reader and decompress path
  (``acomp decompress``); only :class:`~acomp.cli.container.ContainerError`
  (or the CLI's one-line :class:`~acomp.cli.output.CliError` when the header
  names an algorithm nobody implements), and nothing is written that failed a check.
* ``zswap_load``: a page stored in zswap whose compressed bytes are then
  corrupted in the zsmalloc pool; the load raises an :class:`acomp.AcompError`,
  counts ``decompress_fail`` and keeps the entry, or returns a full page.  A
  corruption that still inflates to exactly ``PAGE_SIZE`` bytes of *other*
  data cannot be detected (zswap keeps no checksum, as in the kernel): such
  loads are counted in :data:`SILENT_CORRUPTIONS`, not failed.
"""

from __future__ import annotations

import io
import zlib
from collections import Counter
from collections.abc import Callable

import acomp
from acomp.cli.compress import compress_stream
from acomp.cli.container import MAGIC, ContainerError, ContainerReader
from acomp.cli.decompress import _alloc_for, decompress_stream
from acomp.cli.output import CliError
from acomp.zswap import Zswap

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


# -- the CLI container reader -------------------------------------------------------------

#: Algorithms a seeded container is written with (``deflate`` is deflate-iaa when it loads).
CONTAINER_ALGS = ["deflate-generic", "zstd-generic", "lz4-generic", "deflate"]
_HEADER_FIXED = len(MAGIC) + 6  # magic, version, flags, unit_size


def _container_seed(data: bytes) -> tuple[bytes, bytes | None]:
    """A real container of ``data[2:]`` (512-byte units) mutated as ``data[0..1]`` say, and its content.

    The content is None for raw fuzzer bytes (nothing known to compare with).
    """
    mode, knob, body = data[0], data[1], data[2:]
    if mode % 5 == 0:
        return body, None  # raw bytes: the header checks
    alg = CONTAINER_ALGS[(mode >> 3) % len(CONTAINER_ALGS)]
    tfm = _tfm(alg)
    if tfm is None:
        return body, None
    plain = body * (1 + knob % 8)
    out = io.BytesIO()
    compress_stream(tfm, io.BytesIO(plain), out, 512)
    blob = bytearray(out.getvalue())
    pos = zlib.crc32(data) % len(blob)
    if mode % 5 == 1:  # flip one byte anywhere (mostly payload)
        blob[pos] ^= knob or 1
    elif mode % 5 == 2:  # truncate
        del blob[pos:]
    elif mode % 5 == 3:  # flip one byte past the file header, in a unit header or payload
        hdr = _HEADER_FIXED + 2 + blob[_HEADER_FIXED] + blob[_HEADER_FIXED + 1 + blob[_HEADER_FIXED]] + 4
        if len(blob) > hdr:
            blob[hdr + pos % (len(blob) - hdr)] ^= knob or 1
    else:  # rewrite a header byte and fix the header CRC, so the reader acts on it
        hdr_end = _HEADER_FIXED + 2 + blob[_HEADER_FIXED] + blob[_HEADER_FIXED + 1 + blob[_HEADER_FIXED]]
        where = len(MAGIC) + pos % (hdr_end - len(MAGIC))
        blob[where] = knob
        end = min(len(blob), hdr_end)
        blob[end : end + 4] = zlib.crc32(bytes(blob[:end])).to_bytes(4, "little")
    return bytes(blob), plain


def container_target(data: bytes) -> None:
    """Read a (mutated) container as ``acomp decompress`` does: only ContainerError / CliError."""
    if len(data) < 3:
        return
    blob, plain = _container_seed(data)
    out = io.BytesIO()
    try:
        reader = ContainerReader(io.BytesIO(blob))
        tfm = _container_tfms.get(reader.header.alg_name)
        if tfm is None:
            tfm = _alloc_for(reader, None, {})  # CliError when no driver implements it
            _container_tfms[reader.header.alg_name] = tfm
        decompress_stream(tfm, reader, out, reader.header.alg_name)
    except ContainerError as exc:
        assert exc.kind in ("foreign", "truncated", "corrupt"), exc.kind
        return
    except CliError:
        return
    # Accepted: every unit passed its length and CRC checks, and so did the whole file.
    # A mutated real container is only accepted when the mutation did not change
    # the content (e.g. a flipped bit the decoder ignores, or the informative driver name).
    assert plain is None or out.getvalue() == plain


_container_tfms: dict[str, acomp.Transform] = {}


# -- zswap load of a corrupted entry ----------------------------------------------------------

#: zswap compressors under test (skipped when their plugin is absent).
ZSWAP_COMPRESSORS = ["deflate-generic", "zstd-generic", "lz4-generic", "lz4hc-generic", "deflate-iaa"]
#: compressor -> loads that returned a full page of other data (undetectable: no checksum).
SILENT_CORRUPTIONS: Counter[str] = Counter()
#: compressor -> corrupted loads that raised (detected).
DETECTED_CORRUPTIONS: Counter[str] = Counter()
_zswaps: dict[str, Zswap | None] = {}


def _zswap(compressor: str) -> Zswap | None:
    if compressor not in _zswaps:
        try:
            _zswaps[compressor] = Zswap(compressor, total_ram=64 << 20)
        except acomp.AlgorithmNotFound:
            _zswaps[compressor] = None
    return _zswaps[compressor]


def zswap_load_target(data: bytes) -> None:
    """Store a page, corrupt its compressed bytes in zsmalloc, load it: error or a full page."""
    if len(data) < 5:
        return
    z = _zswap(ZSWAP_COMPRESSORS[data[0] % len(ZSWAP_COMPRESSORS)])
    if z is None:
        return
    mode, a, b, body = data[1], data[2], data[3], data[4:]
    unit = body or b"acomp"
    page = (unit * (acomp.PAGE_SIZE // len(unit) + 1))[: acomp.PAGE_SIZE]
    offset = 0
    if not z.store(offset, page):  # v5: a page that does not compress is refused, nothing to corrupt
        return
    entry = z.entry(offset)
    assert entry is not None
    length = entry.length
    obj = entry.pool.zs.view(entry.handle, length)  # the pool's own bytes
    kind = mode % 4
    if kind == 0:  # flip up to 4 bytes
        for k in range(1 + (mode >> 2) % 4):
            obj[(a + 131 * k + b * k * k) % length] ^= ((b + k) & 0xFF) or 1
    elif kind == 1:  # zero a tail (a truncated stream padded with zeros)
        obj[length - 1 - a % length :] = bytes(1 + a % length)
    elif kind == 2:  # overwrite with the fuzzer's bytes
        junk = (body or b"\xff")[:length]
        start = a % length
        n = min(len(junk), length - start)
        obj[start : start + n] = junk[:n]
    else:  # replace the whole object with the fuzzer's bytes
        junk = ((body or b"\x00") * (length // max(1, len(body)) + 1))[:length]
        obj[:] = junk
    fails = z.events.snapshot()["decompress_fail"]
    out = bytearray(acomp.PAGE_SIZE)
    try:
        assert z.load(offset, out)
    except acomp.AcompError:
        assert z.events.snapshot()["decompress_fail"] == fails + 1
        assert offset in z.offsets(), "a failed load must keep the entry"
        DETECTED_CORRUPTIONS[z.pool.driver_name] += 1
        assert z.invalidate(offset)
        return
    assert offset not in z.offsets()
    assert z.events.snapshot()["decompress_fail"] == fails
    if out != page:
        SILENT_CORRUPTIONS[z.pool.driver_name] += 1


TARGETS: dict[str, Callable[[bytes], None]] = {
    "decompress": decompress_target,
    "container": container_target,
    "zswap_load": zswap_load_target,
}
