"""zswap: the compressed swap cache frontend (kernel: ``mm/zswap.c``) on the acomp API.

``Zswap`` stores swapped-out folios compressed in a zsmalloc-like pool and
loads them back; ``SwapDevice`` is the swap layer around it (zero-page map,
zswap, then a real backing file that also receives zswap's writeback).
zswap picks its transform by algorithm name through :func:`acomp.alloc` and
knows it only by its capabilities (``batch_size``, ``has_async_batching``).
"""

from __future__ import annotations

from acomp.zswap.pool import ZSWAP_MAX_BATCH_SIZE, ZswapPool
from acomp.zswap.swapdev import SwapDevice
from acomp.zswap.zsmalloc import ZsPool
from acomp.zswap.zswap import WritebackTarget, Zswap

__all__ = ["ZSWAP_MAX_BATCH_SIZE", "SwapDevice", "WritebackTarget", "ZsPool", "Zswap", "ZswapPool"]
