"""deflate-isal: raw deflate through Intel ISA-L (python-isal), when it is installed.

Same wire format as deflate-generic (raw RFC 1951), so either reads the
other's streams; measured 2-6x faster than zlib on 4 KiB pages here.  Its
priority sits between deflate-generic (100) and the IAA driver (300).  When
``isal`` is not importable the plugin registers nothing.
"""

from __future__ import annotations

from types import ModuleType

import acomp
from acomp.driver import RegisterDriver
from acomp.lib import inflate_bounded

isal_zlib: ModuleType | None
try:
    from isal import isal_zlib
except ImportError:  # optional extra: pip install acomp[isal]
    isal_zlib = None

__all__ = ["DeflateIsal", "acomp_register_drivers"]

ISAL_DEF_LEVEL = 1


class DeflateIsal(acomp.driver.Driver):
    """ISA-L raw deflate (levels 0-3)."""

    alg_name = "deflate"
    driver_name = "deflate-isal"
    priority = 200
    params = {"level": ISAL_DEF_LEVEL}
    #: python-isal releases the GIL in isal_deflate; the inflate is zlib's, which does too,
    #: so acomp.many may spread sources over threads.
    releases_gil = True

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._level = self.int_param("level", 0, 3)

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        assert isal_zlib is not None
        return self.fit(isal_zlib.compress(src, self._level, -15), capacity)

    def decompress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        # zlib's bounded inflate: isal's decompressobj lacks a reliable max_length.
        return inflate_bounded(src, capacity)

    def compress_bound(self, slen: int) -> int:
        return slen + (slen >> 12) + (slen >> 14) + 128


@acomp.driver.hookimpl
def acomp_register_drivers(register: RegisterDriver) -> None:
    if isal_zlib is not None:
        register(DeflateIsal)
