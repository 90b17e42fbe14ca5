"""An independent raw-deflate reader for the tests (no zlib inside).

It decodes a raw RFC 1951 stream bit by bit and reports every block's type
and every back-reference distance, so a test can assert what IAA promises:
one fixed-Huffman block (BFINAL=1, BTYPE=01), history window <= 4 KiB.
Only fixed-Huffman and stored blocks are decoded; a dynamic block (BTYPE=10)
is reported and parsing stops, which is enough to reject it.
"""

from __future__ import annotations

import attrs

# RFC 1951 section 3.2.5: base lengths / extra bits for codes 257..285.
_LEN_BASE = (
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    13,
    15,
    17,
    19,
    23,
    27,
    31,
    35,
    43,
    51,
    59,
    67,
    83,
    99,
    115,
    131,
    163,
    195,
    227,
    258,
)
_LEN_EXTRA = (0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0)
_DIST_BASE = (
    1,
    2,
    3,
    4,
    5,
    7,
    9,
    13,
    17,
    25,
    33,
    49,
    65,
    97,
    129,
    193,
    257,
    385,
    513,
    769,
    1025,
    1537,
    2049,
    3073,
    4097,
    6145,
    8193,
    12289,
    16385,
    24577,
)
_DIST_EXTRA = (0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13)


class DeflateFormatError(Exception):
    """The stream is not valid raw deflate (or uses a block type we refuse)."""


@attrs.define(slots=True)
class Report:
    """What the reader saw."""

    blocks: list[tuple[int, int]] = attrs.field(factory=list)  # (bfinal, btype)
    max_distance: int = 0
    n_matches: int = 0
    output: bytes = b""
    consumed_bytes: int = 0


class _Bits:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0  # in bits

    def bit(self) -> int:
        byte = self.pos >> 3
        if byte >= len(self.data):
            raise DeflateFormatError("truncated stream")
        b = (self.data[byte] >> (self.pos & 7)) & 1
        self.pos += 1
        return b

    def bits(self, n: int) -> int:
        """n bits, least significant first (header fields, extra bits)."""
        v = 0
        for i in range(n):
            v |= self.bit() << i
        return v

    def huff(self, n: int) -> int:
        """n bits, most significant first (Huffman codes)."""
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v


def _fixed_litlen(r: _Bits) -> int:
    # Fixed code (RFC 1951 3.2.6): 7-bit 256-279, 8-bit 0-143 and 280-287, 9-bit 144-255.
    code = r.huff(7)
    if code <= 0b0010111:
        return 256 + code
    code = (code << 1) | r.bit()
    if 0b00110000 <= code <= 0b10111111:
        return code - 0b00110000
    if 0b11000000 <= code <= 0b11000111:
        return 280 + code - 0b11000000
    code = (code << 1) | r.bit()
    if 0b110010000 <= code <= 0b111111111:
        return 144 + code - 0b110010000
    raise DeflateFormatError("bad fixed literal/length code")


def read_raw_deflate(data: bytes, *, limit: int = 1 << 20) -> Report:
    """Decode ``data``; raise :class:`DeflateFormatError` on anything invalid."""
    r = _Bits(bytes(data))
    out = bytearray()
    rep = Report()
    while True:
        bfinal = r.bits(1)
        btype = r.bits(2)
        rep.blocks.append((bfinal, btype))
        if btype == 0:
            r.pos = (r.pos + 7) & ~7
            ln, nln = r.bits(16), r.bits(16)
            if ln != (~nln & 0xFFFF):
                raise DeflateFormatError("stored block length check")
            for _ in range(ln):
                out.append(r.bits(8))
        elif btype == 1:
            while True:
                sym = _fixed_litlen(r)
                if sym < 256:
                    out.append(sym)
                elif sym == 256:
                    break
                else:
                    if sym > 285:
                        raise DeflateFormatError("bad length symbol")
                    i = sym - 257
                    length = _LEN_BASE[i] + r.bits(_LEN_EXTRA[i])
                    dsym = r.huff(5)
                    if dsym >= 30:
                        raise DeflateFormatError("bad distance symbol")
                    dist = _DIST_BASE[dsym] + r.bits(_DIST_EXTRA[dsym])
                    if dist > len(out):
                        raise DeflateFormatError("distance beyond output")
                    rep.max_distance = max(rep.max_distance, dist)
                    rep.n_matches += 1
                    for _ in range(length):
                        out.append(out[-dist])
                if len(out) > limit:
                    raise DeflateFormatError("output over limit")
        elif btype == 2:
            # Dynamic blocks are not IAA fixed output; stop here, the report says why.
            break
        else:
            raise DeflateFormatError("reserved block type 3")
        if bfinal:
            break
    rep.output = bytes(out)
    rep.consumed_bytes = (r.pos + 7) >> 3
    return rep


def check_iaa_fixed(stream: bytes, original: bytes | None = None) -> Report:
    """Assert IAA's promise for one stream; return the report for further checks."""
    rep = read_raw_deflate(stream)
    assert rep.blocks == [(1, 1)], f"expected one final fixed block, got {rep.blocks}"
    assert rep.max_distance <= 4096, f"distance {rep.max_distance} beyond the 4 KiB window"
    assert rep.consumed_bytes == len(stream), "trailing bytes after the final block"
    if original is not None:
        assert rep.output == bytes(original), "decoded bytes differ from the original"
    return rep
