"""deflate-generic: raw RFC 1951 deflate with the kernel's parameters (kernel: crypto/deflate.c).

Compression uses level ``Z_DEFAULT_COMPRESSION``, window bits 11, memLevel 9,
as the kernel does.  Decompression accepts any raw deflate window (up to
32 KiB), so it reads every deflate driver's output (deflate-iaa's 4 KiB
window included), and never inflates past the destination capacity.
"""

from __future__ import annotations

import zlib

import acomp
from acomp.driver import RegisterDriver
from acomp.lib import inflate_bounded

__all__ = ["DeflateGeneric", "acomp_register_drivers"]

DEFLATE_DEF_LEVEL = zlib.Z_DEFAULT_COMPRESSION
DEFLATE_DEF_WINBITS = 11
DEFLATE_DEF_MEMLEVEL = 9  # MAX_MEM_LEVEL


class DeflateGeneric(acomp.driver.Driver):
    """Software raw deflate (kernel: ``deflate-generic``)."""

    alg_name = "deflate"
    driver_name = "deflate-generic"
    priority = 100
    params = {"level": DEFLATE_DEF_LEVEL}
    #: CPython's zlib releases the GIL around deflate() and inflate(),
    #: so acomp.many may spread sources over threads.
    releases_gil = True

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._level = self.int_param("level", -1, 9)

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        c = zlib.compressobj(self._level, zlib.DEFLATED, -DEFLATE_DEF_WINBITS, DEFLATE_DEF_MEMLEVEL)
        return self.fit(c.compress(src) + c.flush(), capacity)

    def decompress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        return inflate_bounded(src, capacity)

    def compress_bound(self, slen: int) -> int:
        # zlib's deflateBound for stored blocks, plus slack.
        return slen + (slen >> 12) + (slen >> 14) + (slen >> 25) + 64


@acomp.driver.hookimpl
def acomp_register_drivers(register: RegisterDriver) -> None:
    register(DeflateGeneric)
