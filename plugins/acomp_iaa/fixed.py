"""The IAA fixed-Huffman deflate codec (``iaa_fixed_deflate``'s output format).

IAA's ``deflate`` mode writes raw RFC 1951 deflate as a single fixed-Huffman
block (BFINAL=1, BTYPE=01) and matches only within a 4 KiB history window, so
any inflate reads it.  Two engines can produce exactly that:

* zlib with ``Z_FIXED`` and ``wbits=-12`` (window 4096, usable distance 3834).
  zlib still switches to a *stored* block when that is smaller, which IAA
  never does; such (incompressible) inputs are re-encoded here as literals in
  one fixed block.  zlib also ends a block every ``lit_bufsize - 1`` symbols, so inputs above
  :data:`ZLIB_ONE_BLOCK_MAX` are compressed per segment and the segments'
  symbols spliced into one fixed block (fixed Huffman codes need no table):
  one header and one EOB at any size, as IAA writes (``FIXED_HDR | bfinal``,
  ``IAA_COMP_APPEND_EOB``).
* python-isal (optional) at level 0 with ``Z_FIXED`` and ``hist_bits=12``:
  about six times faster.  It always ends with an empty final fixed block
  (one block with BFINAL=0, then ``BFINAL=1, BTYPE=01, EOB``); we drop that
  trailer and set BFINAL on the first block, after checking the exact bit
  pattern.  If anything looks different the zlib path is used instead.

Decompression (the device's reader) is zlib's raw inflate bounded by the
destination capacity: the output never grows past ``capacity`` (a
decompression bomb costs at most ``capacity + 1`` bytes of memory).  It is
stricter than the core's :func:`acomp.driver.inflate_bounded` (the software
fallback, ``deflate_generic_decompress``): bytes after the final block are an
error here, and its overflow is the device's ``OutputOverflow`` (EOVERFLOW),
not ``NoSpace``.
"""

from __future__ import annotations

import zlib
from types import ModuleType
from typing import Literal

from acomp.errors import InvalidData, OutputOverflow

_isal_zlib: ModuleType | None
try:  # python-isal is optional (CI may not have it)
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - depends on the environment
    _isal_zlib = None

__all__ = [
    "HAVE_ISAL",
    "HISTORY_WINDOW",
    "ZLIB_ONE_BLOCK_MAX",
    "CodecName",
    "deflate_fixed",
    "inflate_bounded",
    "literal_fixed_block",
    "resolve_codec",
]

CodecName = Literal["auto", "zlib", "isal"]

#: IAA's history window for compression (bytes).
HISTORY_WINDOW = 4096
HAVE_ISAL = _isal_zlib is not None
#: Inputs up to this size are one zlib block (memLevel 9: a block ends after
#: lit_bufsize - 1 = 32767 symbols, one symbol per input byte at most; we keep
#: a wide margin).  Larger inputs are compressed in segments of this size.
ZLIB_ONE_BLOCK_MAX = 16384

_ZLIB_LEVEL = 1  # deflate_fast: IAA does a greedy hash search too
_WBITS = -12  # raw deflate, 4 KiB window


def resolve_codec(name: CodecName) -> Literal["zlib", "isal"]:
    """``auto`` means isal when importable; asking for isal without it is an error."""
    if name == "auto":
        return "isal" if HAVE_ISAL else "zlib"
    if name == "isal" and not HAVE_ISAL:
        raise ValueError("python-isal is not installed")
    if name not in ("zlib", "isal"):
        raise ValueError(f"unknown codec {name!r}")
    return name


# -- literal-only fixed block (for inputs zlib would store) ----------------------


def _lsb_first(code: int, nbits: int) -> str:
    # Huffman codes are packed most significant bit first; we build the
    # stream as a string of bits in stream order (bit k = k-th bit written).
    return format(code, f"0{nbits}b")


_LITERAL_BITS: tuple[str, ...] = tuple(
    _lsb_first(0x30 + b, 8) if b < 144 else _lsb_first(0x190 + b - 144, 9) for b in range(256)
)


def literal_fixed_block(src: bytes) -> bytes:
    """One final fixed-Huffman block holding ``src`` as literals only."""
    # Header bits in stream order: BFINAL=1, then BTYPE=01 least significant bit first.
    bits = "110" + "".join([_LITERAL_BITS[b] for b in src]) + "0000000"
    nbits = len(bits)
    value = int(bits[::-1], 2)
    return value.to_bytes((nbits + 7) >> 3, "little")


# -- zlib path ----------------------------------------------------------------------


def _zlib_stream(src: bytes, zdict: bytes = b"") -> bytes:
    if zdict:
        c = zlib.compressobj(_ZLIB_LEVEL, zlib.DEFLATED, _WBITS, 9, zlib.Z_FIXED, zdict)
    else:
        c = zlib.compressobj(_ZLIB_LEVEL, zlib.DEFLATED, _WBITS, 9, zlib.Z_FIXED)
    out = c.compress(src) + c.flush()
    # Bits 1-2 of the first byte are the block's BTYPE; 00 = stored, which IAA never emits.
    if (out[0] >> 1) & 3 == 0:
        return literal_fixed_block(src)
    return out


def _end_bit(stream: bytes, plain: bytes, zdict: bytes) -> int:
    """Exact bit length of a one-block stream.

    The padding after the final EOB is ignored by inflate but the EOB's own
    (zero) bits are not, so setting a bit in the padding keeps the output and
    setting one inside the block changes it.  At most 7 bits are padding.
    """
    nbits = len(stream) * 8
    value = int.from_bytes(stream, "little")
    for k in range(nbits - 1, nbits - 9, -1):
        flipped = (value | (1 << k)).to_bytes(len(stream), "little")
        d = zlib.decompressobj(-15, zdict) if zdict else zlib.decompressobj(-15)
        try:
            ok = d.decompress(flipped) == plain and d.eof and not d.unused_data
        except zlib.error:
            ok = False
        if not ok:
            return k + 1
    return nbits - 8  # pragma: no cover - a block never ends in 8 zero padding bits


def _deflate_zlib(src: bytes) -> bytes:
    if len(src) <= ZLIB_ONE_BLOCK_MAX:
        return _zlib_stream(src)
    # zlib would end a block every lit_bufsize symbols and may store some of
    # them: compress segments that each fit one block (primed with the last
    # 4 KiB so matches still reach back), then splice their symbols into one
    # block: IAA writes one 3-bit header (BFINAL=1, BTYPE=01) and one EOB.
    acc = 0b011  # BFINAL=1, then BTYPE=01 least significant bit first
    pos = 3
    for start in range(0, len(src), ZLIB_ONE_BLOCK_MAX):
        seg = src[start : start + ZLIB_ONE_BLOCK_MAX]
        zdict = src[max(0, start - HISTORY_WINDOW) : start]
        stream = _zlib_stream(seg, zdict)
        nbits = _end_bit(stream, seg, zdict)
        # Drop the segment's own header (3 bits) and its EOB (code 256: 7 zero bits).
        symbols = (int.from_bytes(stream, "little") >> 3) & ((1 << (nbits - 10)) - 1)
        acc |= symbols << pos
        pos += nbits - 10
    pos += 7  # the one EOB: seven zero bits
    return acc.to_bytes((pos + 7) >> 3, "little")


# -- isal path ------------------------------------------------------------------------


def _deflate_isal(src: bytes) -> bytes | None:
    """isal's stream with its empty trailer block removed; None if it looks unexpected.

    isal ends a Z_FIXED stream with an empty final fixed block: BFINAL=1, BTYPE=01 and the
    EOB code (10 bits), then < 8 zero bits of padding.  Dropping it and setting BFINAL on the
    first block leaves IAA's one block.  On the per-page path: one copy, a handful of integer
    operations (measured 2.1 -> 1.45 us a page over the isal call).
    """
    assert _isal_zlib is not None
    c = _isal_zlib.compressobj(0, _isal_zlib.DEFLATED, _WBITS, 8, _isal_zlib.Z_FIXED)
    out = c.compress(src) + c.flush()
    n = len(out)
    # First block must be BFINAL=0, BTYPE=01: stream bits 0,1,2 = 0,1,0.
    if n < 3 or out[0] & 0b111 != 0b010:
        return None
    # The trailer and its padding fit in the last 3 bytes; its highest set bit is BTYPE's 1,
    # BFINAL's 1 just below it, then 8 zero bits (BTYPE's 0, the EOB) and the padding.
    tail = out[n - 3] | out[n - 2] << 8 | out[n - 1] << 16
    top = tail.bit_length() - 1
    if top < 1 or tail >> (top - 1) != 0b11:
        return None
    body_bits = (n - 3) * 8 + top - 1  # where the first block's EOB ends
    nbytes = (body_bits + 7) >> 3
    body = bytearray(out)
    del body[nbytes:]
    body[0] |= 1  # BFINAL on the first (now only) block
    spare = nbytes * 8 - body_bits
    if spare:
        body[-1] &= 0xFF >> spare
    return bytes(body)


def deflate_fixed(src: bytes, codec: Literal["zlib", "isal"] = "zlib") -> bytes:
    """Compress ``src`` to one fixed-Huffman deflate block with a 4 KiB window."""
    if codec == "isal":
        out = _deflate_isal(src)
        if out is not None:
            return out
    return _deflate_zlib(src)


# -- inflate ----------------------------------------------------------------------------


def inflate_bounded(src: bytes, capacity: int) -> bytes:
    """Raw inflate producing at most ``capacity`` bytes.

    Raises :class:`~acomp.errors.OutputOverflow` (EOVERFLOW) when the stream
    holds more than ``capacity`` bytes and :class:`~acomp.errors.InvalidData`
    (EINVAL) when it is corrupt, truncated or followed by trailing bytes.
    """
    d = zlib.decompressobj(-15)
    try:
        # One byte past the capacity tells overflow from an exact fit.
        out = d.decompress(src, capacity + 1)
    except zlib.error as exc:
        raise InvalidData(f"corrupt deflate stream: {exc}") from None
    if len(out) > capacity:
        raise OutputOverflow(f"decompressed output exceeds capacity {capacity}")
    if not d.eof:
        # Output stopped short of the limit, so all input was consumed.
        raise InvalidData("truncated deflate stream")
    if d.unused_data:
        raise InvalidData("trailing bytes after the final deflate block")
    return out
