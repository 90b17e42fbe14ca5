"""zswap: the compressed swap cache frontend (kernel: ``mm/zswap.c``) on the acomp API.

``Zswap`` stores swapped-out folios compressed in a zsmalloc-like pool and
loads them back; ``SwapDevice`` is the swap layer around it (zero-page map,
zswap, then a real backing file that also receives zswap's writeback).
zswap picks its transform by algorithm name through :func:`acomp.alloc` and
knows it only by its capabilities (``batch_size``, ``has_async_batching``).
The defaults follow the seed's v5 series; later kernels' behaviour is an
option named after what it does (``store_incompressible``).
"""

from __future__ import annotations

from acomp.zswap.cpu import Cpus
from acomp.zswap.entry import ZswapEntry
from acomp.zswap.pool import ZSWAP_MAX_BATCH_SIZE, ZswapPool
from acomp.zswap.swapdev import SwapDevice
from acomp.zswap.zsmalloc import SHRINK_STOP, ZsPool
from acomp.zswap.zswap import WritebackTarget, Zswap

__all__ = [
    "SHRINK_STOP",
    "ZSWAP_MAX_BATCH_SIZE",
    "Cpus",
    "SwapDevice",
    "WritebackTarget",
    "ZsPool",
    "Zswap",
    "ZswapEntry",
    "ZswapPool",
]
