"""The ``acomp`` container: a file of independently compressed page-sized units.

``acomp compress`` writes it and ``acomp decompress`` reads it.  Any input
round-trips (0 bytes included); the file is written and read one unit at a
time, so neither side holds more than one batch of units in memory.
All integers are little-endian.

File header::

    offset  size  field
    0       8     magic            b"\\x89ACMP\\r\\n\\x1a"  (PNG-style: catches text-mode mangling)
    8       1     version          1
    9       1     flags            0 (reserved; a reader refuses unknown bits)
    10      4     unit_size        bytes per unit, 512 .. 65536 (default 4096 = PAGE_SIZE)
    14      1     alg_len          length of the algorithm name
    15      n     alg_name         ASCII, e.g. "deflate"   (what decompression allocates)
    ..      1     drv_len          length of the driver name
    ..      m     driver_name      ASCII, e.g. "deflate-iaa" (who compressed; informative)
    ..      4     header_crc32     CRC-32 of every header byte before it

Then one record per unit, in order, each a 13-byte unit header and a payload::

    0       1     flags            bit 0 STORED: payload is the unit as-is (it did not shrink)
                                   bit 7 END: the end marker (see below); other bits: 0
    1       4     orig_len         bytes of the unit: unit_size, except the last unit (1..unit_size)
    5       4     comp_len         payload bytes: == orig_len when STORED, else 1 .. orig_len-1
    9       4     crc32            CRC-32 of the unit's original bytes
    13      ...   payload          comp_len bytes: the algorithm's wire format for one unit
                                   (raw deflate, a zstd frame, a raw LZ4 block)

A unit is stored compressed only when its compressed form is strictly smaller
than the unit (the compressor gets a destination of ``orig_len - 1`` bytes, as
zswap gives ``PAGE_SIZE``: ``-ENOSPC`` means "store it as-is", as 6.18's zswap does).

End marker: a unit header with flags ``END`` (0x80), ``orig_len`` 0,
``comp_len`` 0 and ``crc32`` = CRC-32 of the whole original content, followed
by the original length as 8 bytes.  Nothing may follow it.

A reader checks, and reports as one error line: the magic (a foreign file),
the version and flags, the header CRC, each unit header's lengths, each unit's
decompressed length and CRC, the end marker, the total length and whole-file
CRC (a corrupt file), and end-of-file inside any record or before the end
marker (a truncated file).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import IO

import attrs

from acomp.errors import BadMessage

__all__ = [
    "FLAG_END",
    "FLAG_STORED",
    "MAGIC",
    "MAX_UNIT_SIZE",
    "MIN_UNIT_SIZE",
    "VERSION",
    "ContainerError",
    "ContainerHeader",
    "ContainerReader",
    "ContainerWriter",
    "Unit",
    "read_exact",
]

MAGIC = b"\x89ACMP\r\n\x1a"
VERSION = 1
MIN_UNIT_SIZE = 512
MAX_UNIT_SIZE = 65536
FLAG_STORED = 0x01
FLAG_END = 0x80
_UNIT = struct.Struct("<BIII")
_FIXED = struct.Struct("<BBI")  # version, flags, unit_size
_TOTAL = struct.Struct("<Q")
_CRC = struct.Struct("<I")


class ContainerError(BadMessage):
    """The input is not a valid container; ``kind`` is ``foreign``, ``truncated`` or ``corrupt``.

    An :class:`acomp.BadMessage` (``EBADMSG``), like any other corrupt stream.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def read_exact(stream: IO[bytes], n: int) -> bytes:
    """Read up to ``n`` bytes, looping over short reads (pipes); fewer only at end of file."""
    data = stream.read(n)
    if data is None:
        data = b""
    if len(data) == n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        more = stream.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


@attrs.define(frozen=True, slots=True)
class ContainerHeader:
    alg_name: str
    driver_name: str
    unit_size: int
    version: int = VERSION

    def encode(self) -> bytes:
        alg = self.alg_name.encode("ascii")
        drv = self.driver_name.encode("ascii")
        if len(alg) > 255 or len(drv) > 255:
            raise ValueError("algorithm and driver names must be at most 255 bytes")
        body = MAGIC + _FIXED.pack(self.version, 0, self.unit_size) + bytes([len(alg)]) + alg + bytes([len(drv)]) + drv
        return body + _CRC.pack(zlib.crc32(body))


@attrs.define(slots=True)
class Unit:
    """One unit record as read: ``payload`` is compressed unless ``stored``."""

    index: int
    orig_len: int
    stored: bool
    crc32: int
    payload: bytes


class ContainerWriter:
    """Writes a container to a binary stream, unit by unit."""

    def __init__(self, stream: IO[bytes], header: ContainerHeader) -> None:
        if not MIN_UNIT_SIZE <= header.unit_size <= MAX_UNIT_SIZE:
            raise ValueError(f"unit size must be in {MIN_UNIT_SIZE}..{MAX_UNIT_SIZE}")
        self.stream = stream
        self.header = header
        self.units = 0
        self.stored_units = 0
        self.total_in = 0
        self.total_out = 0
        self._crc = 0
        self._finished = False
        raw = header.encode()
        stream.write(raw)
        self.total_out += len(raw)

    def write_unit(self, data: bytes | bytearray | memoryview, payload: bytes | memoryview | None) -> None:
        """Write one unit: ``payload`` is its compressed form, or None to store ``data`` as-is.

        A payload that is not strictly smaller than the unit is stored as-is.
        """
        orig_len = len(data)
        if not 0 < orig_len <= self.header.unit_size:
            raise ValueError(f"unit of {orig_len} bytes for unit size {self.header.unit_size}")
        crc = zlib.crc32(data)
        self._crc = zlib.crc32(data, self._crc)
        if payload is None or len(payload) >= orig_len or len(payload) == 0:
            flags, body = FLAG_STORED, data
            self.stored_units += 1
        else:
            flags, body = 0, payload
        self.stream.write(_UNIT.pack(flags, orig_len, len(body), crc))
        self.stream.write(body)
        self.units += 1
        self.total_in += orig_len
        self.total_out += _UNIT.size + len(body)

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self.stream.write(_UNIT.pack(FLAG_END, 0, 0, self._crc))
        self.stream.write(_TOTAL.pack(self.total_in))
        self.total_out += _UNIT.size + _TOTAL.size


class ContainerReader:
    """Reads a container from a binary stream: :attr:`header`, then :meth:`units`.

    Iterating :meth:`units` checks each unit header's lengths and, at the end,
    the end marker.  The caller checks each unit's decompressed bytes with
    :meth:`check_unit` (lengths and CRC) so the whole-file CRC is kept too,
    and calls :meth:`verify_end` after the last one.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.header = self._read_header()
        self._crc = 0
        self._total = 0
        self.units_read = 0
        self._end: tuple[int, int, int] | None = None

    def _read_header(self) -> ContainerHeader:
        magic = read_exact(self.stream, len(MAGIC))
        if not magic:
            raise ContainerError("foreign", "empty input: not an acomp container")
        if magic != MAGIC[: len(magic)]:
            raise ContainerError("foreign", "not an acomp container (bad magic)")
        if len(magic) < len(MAGIC):
            raise ContainerError("truncated", "truncated container: file ends inside the header")
        fixed = self._need(_FIXED.size, "the header")
        version, flags, unit_size = _FIXED.unpack(fixed)
        if version != VERSION:
            raise ContainerError("corrupt", f"unsupported container version {version} (this acomp reads {VERSION})")
        if flags != 0:
            raise ContainerError("corrupt", f"corrupt container header: unknown flags 0x{flags:02x}")
        if not MIN_UNIT_SIZE <= unit_size <= MAX_UNIT_SIZE:
            raise ContainerError("corrupt", f"corrupt container header: unit size {unit_size}")
        alg_len = self._need(1, "the header")
        alg = self._need(alg_len[0], "the header")
        drv_len = self._need(1, "the header")
        drv = self._need(drv_len[0], "the header")
        crc = _CRC.unpack(self._need(_CRC.size, "the header"))[0]
        body = MAGIC + fixed + alg_len + alg + drv_len + drv
        if zlib.crc32(body) != crc:
            raise ContainerError("corrupt", "corrupt container header (CRC mismatch)")
        try:
            alg_name, driver_name = alg.decode("ascii"), drv.decode("ascii")
        except UnicodeDecodeError:
            raise ContainerError("corrupt", "corrupt container header: names are not ASCII") from None
        if not alg_name:
            raise ContainerError("corrupt", "corrupt container header: no algorithm name")
        return ContainerHeader(alg_name=alg_name, driver_name=driver_name, unit_size=unit_size, version=version)

    def _need(self, n: int, where: str) -> bytes:
        data = read_exact(self.stream, n)
        if len(data) < n:
            raise ContainerError("truncated", f"truncated container: file ends inside {where}")
        return data

    def units(self) -> Iterator[Unit]:
        unit_size = self.header.unit_size
        index = 0
        short_seen = False
        while True:
            raw = read_exact(self.stream, _UNIT.size)
            if not raw:
                raise ContainerError("truncated", f"truncated container: no end marker after {index} units")
            if len(raw) < _UNIT.size:
                raise ContainerError("truncated", f"truncated container: file ends inside unit {index}")
            flags, orig_len, comp_len, crc = _UNIT.unpack(raw)
            if flags == FLAG_END:
                self._finish(orig_len, comp_len, crc, index)
                return
            where = f"corrupt container: unit {index}"
            if flags & ~FLAG_STORED:
                raise ContainerError("corrupt", f"{where}: unknown flags 0x{flags:02x}")
            if short_seen:
                raise ContainerError("corrupt", f"{where}: follows a short unit")
            if not 0 < orig_len <= unit_size:
                raise ContainerError("corrupt", f"{where}: bad length {orig_len} (unit size {unit_size})")
            stored = bool(flags & FLAG_STORED)
            if (stored and comp_len != orig_len) or (not stored and not 0 < comp_len < orig_len):
                raise ContainerError("corrupt", f"{where}: bad payload length {comp_len} for {orig_len} bytes")
            short_seen = orig_len < unit_size
            payload = read_exact(self.stream, comp_len)
            if len(payload) < comp_len:
                raise ContainerError("truncated", f"truncated container: file ends inside unit {index}")
            yield Unit(index=index, orig_len=orig_len, stored=stored, crc32=crc, payload=payload)
            index += 1

    def check_unit(self, unit: Unit, data: bytes | bytearray | memoryview) -> None:
        """Check one unit's original bytes against its header; raises :class:`ContainerError`."""
        if len(data) != unit.orig_len:
            raise ContainerError(
                "corrupt",
                f"corrupt container: unit {unit.index} decompressed to {len(data)} bytes, expected {unit.orig_len}",
            )
        if zlib.crc32(data) != unit.crc32:
            raise ContainerError("corrupt", f"corrupt container: unit {unit.index} CRC mismatch")
        self._crc = zlib.crc32(data, self._crc)
        self._total += len(data)
        self.units_read += 1

    def _finish(self, orig_len: int, comp_len: int, crc: int, index: int) -> None:
        if orig_len or comp_len:
            raise ContainerError("corrupt", "corrupt container: bad end marker")
        total_raw = read_exact(self.stream, _TOTAL.size)
        if len(total_raw) < _TOTAL.size:
            raise ContainerError("truncated", "truncated container: file ends inside the end marker")
        if read_exact(self.stream, 1):
            raise ContainerError("corrupt", "corrupt container: data after the end marker")
        self._end = (index, crc, _TOTAL.unpack(total_raw)[0])

    def verify_end(self) -> None:
        """After every unit was checked: the end marker's count, length and whole-file CRC."""
        if self._end is None:
            raise ContainerError("truncated", "truncated container: no end marker")
        units, crc, total = self._end
        if self.units_read != units:
            raise ContainerError("corrupt", "corrupt container: not every unit was checked")
        if total != self._total:
            raise ContainerError(
                "corrupt", f"corrupt container: length {self._total} differs from the recorded {total}"
            )
        if crc != self._crc:
            raise ContainerError("corrupt", "corrupt container: whole-file CRC mismatch")
