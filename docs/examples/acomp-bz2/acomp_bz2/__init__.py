"""bz2-generic: bz2 compression for acomp (plugin "bz2").

Written by ``acomp new-plugin``.  The driver starts with bzip2 (bz2) as its
codec: replace the bodies of ``compress``, ``decompress`` and
``compress_bound`` with your codec's, and keep the three rules they follow:

* a dst that is too small is ``acomp.NoSpace`` (ENOSPC), never a truncated output;
* decompression never produces, or allocates, more than ``capacity`` bytes:
  bound the decoder, do not inflate everything and check afterwards;
* corrupt or truncated input is ``acomp.InvalidData`` (EINVAL) or
  ``acomp.BadMessage`` (EBADMSG); no exception of the codec escapes.

``pytest`` runs acomp's conformance kit on it (tests/test_conformance.py).
"""

from __future__ import annotations

import bz2
from typing import ClassVar

import acomp
from acomp.driver import BufferLike, Driver, RegisterDriver, hookimpl

__all__ = ["DEFAULT_LEVEL", "Bz2Generic", "acomp_register_drivers"]

__version__ = "0.1.0"

#: bzip2's level only sets the block size: for pages, only the decoder's memory changes
DEFAULT_LEVEL = 1


class Bz2Generic(Driver):
    """bz2 in software, on bzip2 (bz2)."""

    alg_name = "bz2"  # what callers allocate (kernel: cra_name)
    driver_name = "bz2-generic"  # unique among all drivers (kernel: cra_driver_name)
    priority = 100  # the best driver of an algorithm is allocated by name (kernel: cra_priority)
    params: ClassVar[dict[str, object]] = {"level": DEFAULT_LEVEL}  # what acomp.alloc("bz2", level=...) accepts

    def __init__(self, **params: object) -> None:
        super().__init__(**params)  # refuses unknown parameters (EINVAL), fills self.config
        self._level = self.int_param("level", 1, 9)

    def compress(self, src: BufferLike, capacity: int) -> bytes:
        # Keeps no state between calls: safe from any number of threads.
        out = bz2.compress(src, self._level)
        return self.fit(out, capacity)  # NoSpace (ENOSPC) when it does not fit

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        d = bz2.BZ2Decompressor()
        try:
            # Never more than capacity: max_length stops the decoder there
            # (0 would return nothing at all, so a 0-byte dst asks for 1 byte).
            out = d.decompress(src, max(capacity, 1))
            if len(out) > capacity:
                raise acomp.NoSpace(f"output exceeds dst capacity {capacity}")
            if not d.eof:
                # Stopped at capacity: one more byte tells "does not fit" from "done".
                if not d.needs_input and d.decompress(b"", 1):
                    raise acomp.NoSpace(f"output exceeds dst capacity {capacity}")
                if not d.eof:
                    raise acomp.InvalidData("truncated stream")
        except (OSError, ValueError, EOFError) as exc:  # the codec's "invalid data": never let it escape
            raise acomp.InvalidData(f"corrupt stream: {exc}") from None
        if d.unused_data:
            raise acomp.InvalidData(f"{len(d.unused_data)} bytes of junk after the stream")
        return out

    def compress_bound(self, slen: int) -> int:
        # The dst acomp gives compress when the caller passes none: bzip2's worst case, 1% more plus 600 bytes.
        return slen + slen // 100 + 600


@hookimpl
def acomp_register_drivers(register: RegisterDriver) -> None:
    register(Bz2Generic)
