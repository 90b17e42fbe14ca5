"""A bounded raw-deflate inflate that every deflate driver can share.

The kernel's deflate drivers all end in the same ``zlib_inflate`` library
(the IAA driver's software fallback calls ``deflate_generic_decompress``);
here they share this function.
"""

from __future__ import annotations

import zlib

from acomp.errors import InvalidData, NoSpace
from acomp.request import BufferLike

__all__ = ["inflate_bounded"]


def inflate_bounded(src: BufferLike, capacity: int) -> bytes:
    """Inflate raw deflate (any window up to 32 KiB), producing at most ``capacity`` bytes.

    Output that would exceed ``capacity`` is :class:`~acomp.errors.NoSpace`; a
    corrupt or truncated stream is :class:`~acomp.errors.InvalidData` (EINVAL,
    as the kernel's inflate reports).  zlib never allocates more than
    ``capacity`` here, so a decompression bomb costs at most the capacity.
    """
    d = zlib.decompressobj(-15)
    try:
        # zlib reads max_length=0 as "no limit": a 0-byte dst asks for 1 byte.
        out = d.decompress(src, capacity or 1)
        if len(out) > capacity:
            raise NoSpace(f"inflated output exceeds dst capacity {capacity}")
        if not d.eof and len(out) == capacity:
            # Output stopped at capacity: one more byte (from input left over or
            # from zlib's pending window copy) tells "too big" from "only the
            # end-of-block code was left".
            if d.decompress(d.unconsumed_tail, 1):
                raise NoSpace(f"inflated output exceeds dst capacity {capacity}")
        if not d.eof:
            raise InvalidData("truncated deflate stream")
    except zlib.error as exc:
        raise InvalidData(f"corrupt deflate stream: {exc}") from None
    return out
