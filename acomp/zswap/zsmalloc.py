"""A zsmalloc-like allocator (kernel: ``mm/zsmalloc.c``).

Objects are packed into *zspages* (1 to ``ZS_MAX_PAGES_PER_ZSPAGE`` pages of
``PAGE_SIZE``) of one *size class*; class sizes step by ``ZS_SIZE_CLASS_DELTA``
from ``ZS_MIN_ALLOC_SIZE`` to ``PAGE_SIZE``.  As in the kernel, each class picks
the zspage length that wastes the least, and neighbouring classes with the same
geometry are merged; the classes at the top hold one object per page ("huge").
The pool's footprint is its pages, so fragmentation shows in
:attr:`ZsPool.total_pages`, as it does in zswap's ``pool_total_size``.

A handle is a plain ``int``: ``(zspage_id * objs_per_zspage + slot) << 8 | class``.
No per-object metadata is kept (zswap's entry keeps the length): a stored
object costs nothing beyond its slot, which keeps zswap's per-page overhead low.
Each class has its own lock (the kernel's ``class->lock``); the page count has
another, taken only when a zspage is created or released.
"""

from __future__ import annotations

import threading

import attrs

from acomp import PAGE_SIZE, InvalidArgument

__all__ = [
    "ZS_MAX_PAGES_PER_ZSPAGE",
    "ZS_MIN_ALLOC_SIZE",
    "ZS_SIZE_CLASS_DELTA",
    "ZsPool",
    "ZsSizeClass",
]

ZS_MIN_ALLOC_SIZE = 32
#: kernel: ``PAGE_SIZE >> CLASS_BITS`` (CLASS_BITS = 8).
ZS_SIZE_CLASS_DELTA = PAGE_SIZE >> 8
#: kernel: ``CONFIG_ZSMALLOC_CHAIN_SIZE`` default (8) bounds a zspage's length.
ZS_MAX_PAGES_PER_ZSPAGE = 8

_CLASS_BITS = 8
_CLASS_MASK = (1 << _CLASS_BITS) - 1


def _pages_per_zspage(size: int) -> int:
    """The zspage length in pages that wastes least for ``size`` (kernel: ``calculate_zspage_chain_size``)."""
    best, best_used = 1, -1
    for pages in range(1, ZS_MAX_PAGES_PER_ZSPAGE + 1):
        span = pages * PAGE_SIZE
        used = (span - span % size) * 100 // span
        if used > best_used:
            best, best_used = pages, used
    return best


@attrs.define(slots=True, eq=False)
class ZsSizeClass:
    """One size class (kernel: ``struct size_class``) and its zspages."""

    index: int
    size: int
    pages_per_zspage: int
    objs_per_zspage: int
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    #: zspage id -> its memory, ``None`` once released (the id is then reusable).
    zspages: list[bytearray | None] = attrs.field(factory=list)
    #: zspage id -> free slot numbers (a stack); objects in use = objs_per_zspage - len(free[id]).
    free: list[list[int]] = attrs.field(factory=list)
    #: zspages with at least one free slot, oldest first (kernel: the fullness lists).
    partial: dict[int, None] = attrs.field(factory=dict)
    #: released zspage ids, reused before the lists grow.
    empty_ids: list[int] = attrs.field(factory=list)
    nr_objs: int = 0
    nr_zspages: int = 0

    @property
    def huge(self) -> bool:
        """One object per single page: the object is stored as a whole page."""
        return self.objs_per_zspage == 1 and self.pages_per_zspage == 1


class ZsPool:
    """A zsmalloc pool (kernel: ``struct zs_pool``); one per zswap pool."""

    __slots__ = ("_by_delta", "_pages_lock", "classes", "name", "total_pages")

    def __init__(self, name: str = "zswap") -> None:
        self.name = name
        sizes = range(ZS_MIN_ALLOC_SIZE, PAGE_SIZE + 1, ZS_SIZE_CLASS_DELTA)
        geometry = [(s, _pages_per_zspage(s)) for s in sizes]
        classes: list[ZsSizeClass] = []
        # Merge from the top, as zs_create_pool does: a smaller size with the
        # same zspage geometry shares the larger class (no benefit in splitting).
        by_size: dict[int, ZsSizeClass] = {}
        prev: ZsSizeClass | None = None
        for size, pages in reversed(geometry):
            objs = pages * PAGE_SIZE // size
            if prev is not None and prev.pages_per_zspage == pages and prev.objs_per_zspage == objs:
                by_size[size] = prev
                continue
            prev = ZsSizeClass(index=len(classes), size=size, pages_per_zspage=pages, objs_per_zspage=objs)
            classes.append(prev)
            by_size[size] = prev
        self.classes: tuple[ZsSizeClass, ...] = tuple(classes)
        # size -> class, indexed by ceil(size / delta); sizes below the minimum use the first.
        smallest = by_size[ZS_MIN_ALLOC_SIZE]
        self._by_delta: tuple[ZsSizeClass, ...] = tuple(
            by_size.get(i * ZS_SIZE_CLASS_DELTA, smallest) for i in range(PAGE_SIZE // ZS_SIZE_CLASS_DELTA + 1)
        )
        self._pages_lock = threading.Lock()
        #: Pages held by all zspages (kernel: ``zs_get_total_pages``).
        self.total_pages = 0

    # -- allocation ----------------------------------------------------------------------

    def class_for(self, size: int) -> ZsSizeClass:
        """The class that holds objects of ``size`` bytes."""
        return self._by_delta[(size + ZS_SIZE_CLASS_DELTA - 1) // ZS_SIZE_CLASS_DELTA]

    def malloc(self, size: int) -> int:
        """Reserve a slot for ``size`` bytes and return its handle (kernel: ``zs_malloc``)."""
        if not 0 < size <= PAGE_SIZE:
            raise InvalidArgument(f"zs_malloc: size {size} out of range 1..{PAGE_SIZE}")
        cls = self._by_delta[(size + ZS_SIZE_CLASS_DELTA - 1) // ZS_SIZE_CLASS_DELTA]
        zid, slot = self._alloc_slot(cls)
        return ((zid * cls.objs_per_zspage + slot) << _CLASS_BITS) | cls.index

    def store(self, data: memoryview | bytes | bytearray) -> int:
        """``zs_malloc`` + ``zs_obj_write``: copy ``data`` into a new object; return its handle.

        Not ``malloc()`` then a write: that would decode the handle it just
        encoded, once per stored page.
        """
        n = len(data)
        if not 0 < n <= PAGE_SIZE:
            raise InvalidArgument(f"zs_malloc: size {n} out of range 1..{PAGE_SIZE}")
        cls = self._by_delta[(n + ZS_SIZE_CLASS_DELTA - 1) // ZS_SIZE_CLASS_DELTA]
        zid, slot = self._alloc_slot(cls)
        # The slot is ours alone and its zspage stays while it is in use: the
        # copy needs no lock.
        start = slot * cls.size
        cls.zspages[zid][start : start + n] = data  # type: ignore[index]
        return ((zid * cls.objs_per_zspage + slot) << _CLASS_BITS) | cls.index

    def _alloc_slot(self, cls: ZsSizeClass) -> tuple[int, int]:
        """Take a free slot of ``cls``, oldest partial zspage first: (zspage id, slot)."""
        with cls.lock:
            if cls.partial:
                zid = next(iter(cls.partial))
            else:
                zid = self._new_zspage(cls)
            free = cls.free[zid]
            slot = free.pop()
            if not free:
                del cls.partial[zid]
            cls.nr_objs += 1
        return zid, slot

    def view(self, handle: int, length: int) -> memoryview:
        """The object's first ``length`` bytes, without a copy (kernel: ``zs_obj_read_begin``)."""
        cls = self.classes[handle & _CLASS_MASK]
        zid, slot = divmod(handle >> _CLASS_BITS, cls.objs_per_zspage)
        page = cls.zspages[zid]
        if page is None:
            raise InvalidArgument(f"zsmalloc: stale handle {handle:#x}")
        start = slot * cls.size
        return memoryview(page)[start : start + length]

    def free(self, handle: int) -> None:
        """Release an object; an emptied zspage gives its pages back (kernel: ``zs_free``)."""
        cls = self.classes[handle & _CLASS_MASK]
        zid, slot = divmod(handle >> _CLASS_BITS, cls.objs_per_zspage)
        with cls.lock:
            free = cls.free[zid]
            free.append(slot)
            cls.nr_objs -= 1
            nr_free = len(free)
            if nr_free == cls.objs_per_zspage:
                self._release_zspage(cls, zid)
            elif nr_free == 1:
                cls.partial[zid] = None

    def _new_zspage(self, cls: ZsSizeClass) -> int:
        mem = bytearray(cls.pages_per_zspage * PAGE_SIZE)
        slots = list(range(cls.objs_per_zspage - 1, -1, -1))
        if cls.empty_ids:
            zid = cls.empty_ids.pop()
            cls.zspages[zid] = mem
            cls.free[zid] = slots
        else:
            zid = len(cls.zspages)
            cls.zspages.append(mem)
            cls.free.append(slots)
        cls.partial[zid] = None
        cls.nr_zspages += 1
        with self._pages_lock:
            self.total_pages += cls.pages_per_zspage
        return zid

    def _release_zspage(self, cls: ZsSizeClass, zid: int) -> None:
        cls.zspages[zid] = None
        cls.free[zid] = []
        cls.partial.pop(zid, None)
        cls.empty_ids.append(zid)
        cls.nr_zspages -= 1
        with self._pages_lock:
            self.total_pages -= cls.pages_per_zspage

    # -- accounting --------------------------------------------------------------------

    @property
    def nr_objs(self) -> int:
        """Objects currently allocated (all classes)."""
        return sum(c.nr_objs for c in self.classes)

    @property
    def total_size(self) -> int:
        """Bytes of memory the pool holds: its pages, fragmentation included."""
        return self.total_pages * PAGE_SIZE

    def class_stats(self) -> list[dict[str, int]]:
        """Per-class occupancy (kernel: ``/sys/kernel/debug/zsmalloc/<pool>/classes``)."""
        out = []
        for c in self.classes:
            if c.nr_zspages:
                out.append(
                    {
                        "size": c.size,
                        "objs_per_zspage": c.objs_per_zspage,
                        "pages_per_zspage": c.pages_per_zspage,
                        "zspages": c.nr_zspages,
                        "inuse": c.nr_objs,
                        "pages_used": c.nr_zspages * c.pages_per_zspage,
                    }
                )
        return out

    def check(self) -> None:
        """Verify the internal bookkeeping (tests); raises AssertionError."""
        pages = 0
        for c in self.classes:
            with c.lock:
                live = [z for z, m in enumerate(c.zspages) if m is not None]
                assert len(live) == c.nr_zspages, (c.size, len(live), c.nr_zspages)
                inuse = {z: c.objs_per_zspage - len(c.free[z]) for z in live}
                assert sum(inuse.values()) == c.nr_objs
                for z in live:
                    assert len(set(c.free[z])) == len(c.free[z]), (c.size, z)  # no slot freed twice
                    assert (z in c.partial) == bool(c.free[z])
                    assert inuse[z] > 0
                pages += c.nr_zspages * c.pages_per_zspage
        assert pages == self.total_pages, (pages, self.total_pages)
