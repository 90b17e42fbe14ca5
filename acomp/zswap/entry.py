"""The zswap entry (kernel: ``struct zswap_entry``): one stored page.

The kernel's entry holds the swap slot, the ``referenced`` bit of the
second-chance LRU, the object's ``length``, its ``pool`` and its zsmalloc
``handle`` (plus the objcg and the LRU links).  Here the swap slot is the key
the entry is stored under (:class:`~acomp.zswap.tree.ZswapTree`), the LRU
links are the tree's order, and there is no memcg: the rest is this class.

An entry is an identity, as a kernel pointer is: a load or a writeback that
read an entry without the tree lock compares it by ``is`` with what the tree
holds before it frees anything, so a slot that was invalidated and stored
again meanwhile (even into the same handle) is never mistaken for it.

A plain slotted class, not attrs: one is created per stored page and its
fields are read on every load (measured: 0.13 µs to create, 0.015 µs to read
three fields, against 0.08 µs to pack and 0.08 µs to unpack the bit-packed
``int`` it replaces).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acomp.zswap.pool import ZswapPool

__all__ = ["ZswapEntry"]


class ZswapEntry:
    """One compressed (or, with ``store_incompressible``, raw) page in zswap."""

    __slots__ = ("handle", "length", "pool", "referenced")

    def __init__(self, pool: ZswapPool, handle: int, length: int) -> None:
        #: The pool whose zsmalloc holds the object (kernel: ``entry->pool``).
        self.pool = pool
        #: zsmalloc handle of the object (kernel: ``entry->handle``).
        self.handle = handle
        #: Bytes of the stored object (kernel: ``entry->length``).
        self.length = length
        #: Second chance on the LRU: set by a store, cleared by the shrinker
        #: before it rotates the entry (kernel: ``entry->referenced``).
        self.referenced = True

    def __repr__(self) -> str:
        return f"<ZswapEntry pool={self.pool.id} handle={self.handle:#x} length={self.length}>"
