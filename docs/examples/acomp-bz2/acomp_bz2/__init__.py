"""bz2-generic: bzip2 streams as an acomp driver (a sample third-party plugin).

The whole contract of a driver is here: class attributes that form its record,
``compress(src, capacity)`` and ``decompress(src, capacity)`` returning bytes
or raising an :class:`acomp.AcompError`, and one hook that registers it.

* A full dst is ``acomp.NoSpace`` (ENOSPC), never a truncated stream.
* Decompression never produces, or allocates, more than ``capacity`` bytes:
  ``BZ2Decompressor.decompress(max_length=...)`` stops there, and one more
  byte tells "does not fit" (ENOSPC) from "complete" — a decompression bomb
  costs one page, not its full size.
* Corrupt or truncated input is ``acomp.InvalidData`` (EINVAL); no exception
  of the codec library escapes (the core would report it as a driver bug).

The default level is 1: bzip2's level only sets the block size (100-900 KB),
which changes nothing for 4 KiB pages but the decoder's memory (the stream
records the block size, and the decoder allocates 4 bytes per block byte).
"""

from __future__ import annotations

import bz2
from collections.abc import Callable

import acomp
from acomp.request import BufferLike

__all__ = ["BZ2_DEF_LEVEL", "Bz2Generic", "acomp_register_drivers"]

__version__ = "0.1.0"

BZ2_DEF_LEVEL = 1


class Bz2Generic(acomp.driver.Driver):
    """Software bzip2 (whole ``.bz2`` streams: magic, blocks, CRCs)."""

    alg_name = "bz2"
    driver_name = "bz2-generic"
    priority = 100
    params = {"level": BZ2_DEF_LEVEL}

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        level = self.config["level"]
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 9:
            raise acomp.InvalidArgument(f"bz2 level must be an int in 1..9, got {level!r}")
        self._level = level

    def compress(self, src: BufferLike, capacity: int) -> bytes:
        # bz2.compress keeps no state between calls: safe from any number of threads.
        out = bz2.compress(src, self._level)
        if len(out) > capacity:
            raise acomp.NoSpace(f"bz2 output {len(out)} bytes exceeds dst capacity {capacity}")
        return out

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        d = bz2.BZ2Decompressor()
        try:
            # max_length=0 would return nothing at all: ask for one byte and refuse it.
            out = d.decompress(src, max(capacity, 1))
            if len(out) > capacity:
                raise acomp.NoSpace(f"bz2 output exceeds dst capacity {capacity}")
            if not d.eof:
                if not d.needs_input and d.decompress(b"", 1):
                    raise acomp.NoSpace(f"bz2 output exceeds dst capacity {capacity}")
                if not d.eof:
                    raise acomp.InvalidData("truncated bz2 stream")
        except (OSError, ValueError, EOFError) as exc:  # the codec's "invalid data stream"
            raise acomp.InvalidData(f"corrupt bz2 stream: {exc}") from None
        if d.unused_data:
            raise acomp.InvalidData(f"{len(d.unused_data)} bytes of junk after the bz2 stream")
        return out

    def compress_bound(self, slen: int) -> int:
        # bzip2's documented worst case: 1% larger than the input, plus 600 bytes.
        return slen + slen // 100 + 600


@acomp.driver.hookimpl
def acomp_register_drivers(register: Callable[[type[acomp.driver.Driver]], None]) -> None:
    register(Bz2Generic)
