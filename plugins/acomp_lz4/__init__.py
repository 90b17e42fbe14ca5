"""lz4-generic and lz4hc-generic: raw LZ4 blocks (kernel: crypto/lz4.c, crypto/lz4hc.c).

The wire format is a raw LZ4 block: no size prefix, no frame.  Decompression
is ``LZ4_decompress_safe`` into a buffer of the destination's capacity, so
it can never write or allocate past it.  Like the kernel, a failed decode is
``-EINVAL``: LZ4 cannot tell a corrupt block from one that does not fit.
"""

from __future__ import annotations

import lz4.block

import acomp
from acomp.driver import RegisterDriver

__all__ = ["Lz4Generic", "Lz4hcGeneric", "acomp_register_drivers"]

LZ4HC_DEFAULT_CLEVEL = 9


class Lz4Generic(acomp.driver.Driver):
    """Software LZ4 (kernel: ``lz4-generic``)."""

    alg_name = "lz4"
    driver_name = "lz4-generic"
    priority = 100
    #: python-lz4 releases the GIL around LZ4_compress/decompress,
    #: so acomp.many may spread sources over threads.
    releases_gil = True

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        out: bytes = lz4.block.compress(src, store_size=False)
        # fit() only when it does not fit: a call per page shows at 6 µs/page.
        return out if len(out) <= capacity else self.fit(out, capacity)

    def decompress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        try:
            out: bytes = lz4.block.decompress(src, uncompressed_size=capacity)
        except lz4.block.LZ4BlockError:
            raise acomp.InvalidData(f"corrupt lz4 block, or its output exceeds dst capacity {capacity}") from None
        return out

    def compress_bound(self, slen: int) -> int:
        # LZ4_COMPRESSBOUND
        return slen + slen // 255 + 16


class Lz4hcGeneric(Lz4Generic):
    """Software LZ4HC at level 9 (kernel: ``lz4hc-generic``); lz4's decoder reads it."""

    alg_name = "lz4hc"
    driver_name = "lz4hc-generic"
    wire_format = "lz4"
    params = {"level": LZ4HC_DEFAULT_CLEVEL}

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self._level = self.int_param("level", 1, 12)

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        return self.fit(
            lz4.block.compress(src, store_size=False, mode="high_compression", compression=self._level), capacity
        )


@acomp.driver.hookimpl
def acomp_register_drivers(register: RegisterDriver) -> None:
    register(Lz4Generic)
    register(Lz4hcGeneric)
