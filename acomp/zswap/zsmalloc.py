"""A zsmalloc model (kernel: ``mm/zsmalloc.c``): the kernel's pages, Python's bytes.

Objects are packed into *zspages* (1 to ``ZS_MAX_PAGES_PER_ZSPAGE`` pages of
``PAGE_SIZE``) of one *size class*; class sizes step by ``ZS_SIZE_CLASS_DELTA``
from ``ZS_MIN_ALLOC_SIZE`` to ``PAGE_SIZE``.  As in the kernel:

* ``zs_malloc`` adds ``ZS_HANDLE_SIZE`` (the handle the object's header keeps)
  before it picks the class, so a 4088-byte object lands in the 4096 class;
  objects of the top ("huge") class keep their handle outside the zspage;
  above ``ZS_MAX_ALLOC_SIZE`` it is ``-ENOSPC``;
* each class's zspage length is ``calculate_zspage_chain_size``: the chain of
  1..8 pages that wastes least, one page for a power-of-two size; classes with
  the same geometry are merged (``zs_create_pool``);
* zspages sit in fullness groups (``get_fullness_group``: empty, 10 %, ..., 99 %,
  full) and an allocation takes the first zspage of the fullest partial group
  (``find_get_zspage``); an emptied zspage is released at once;
* compaction (``zs_compact``, which the kernel runs from zsmalloc's shrinker,
  ``zs_shrinker_count`` / ``zs_shrinker_scan``) moves objects from the
  emptiest zspages into the fullest and releases the emptied ones, so
  :attr:`ZsPool.total_pages` falls.

What is a model here: the zspages are bookkeeping (which slot of which zspage
each object has), exactly as the kernel's, so :attr:`ZsPool.total_pages` and
``pool_total_size`` are the kernel's figures; the bytes of an object are one
exact-size ``bytearray`` (the kernel's memcpy into the zspage is the copy
into it).  A ``bytearray`` zspage per chain of pages, zeroed and faulted in when
created, cost more than the store itself; with objects of their own a
compaction moves bookkeeping, not bytes, and readers need no lock.  The
process holds the objects' bytes plus about 50 bytes each, not
``pool_total_size``.

A handle (kernel: a pointer to a word in the handle slab) is
``index << 8 | class``: ``index`` picks the class's handle table entry (the
object's slot, kept in 8 bytes as the kernel's) and its object.  Compaction
rewrites the slot, never the handle.  Each class has its own lock (the
kernel's ``class->lock``); reading an object takes none.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterator

from acomp import PAGE_SIZE, InvalidArgument, NoSpace

__all__ = [
    "SHRINK_STOP",
    "ZS_HANDLE_SIZE",
    "ZS_MAX_ALLOC_SIZE",
    "ZS_MAX_PAGES_PER_ZSPAGE",
    "ZS_MIN_ALLOC_SIZE",
    "ZS_SIZE_CLASS_DELTA",
    "ZsPool",
    "ZsSizeClass",
    "calculate_zspage_chain_size",
    "get_size_class_index",
]

#: kernel: ``sizeof(unsigned long)``, kept in every object's header.
ZS_HANDLE_SIZE = 8
ZS_MIN_ALLOC_SIZE = 32
ZS_MAX_ALLOC_SIZE = PAGE_SIZE
#: kernel: ``PAGE_SIZE >> CLASS_BITS`` (CLASS_BITS = 8).
ZS_SIZE_CLASS_DELTA = PAGE_SIZE >> 8
#: kernel: ``CONFIG_ZSMALLOC_CHAIN_SIZE`` (default 8) bounds a zspage's length.
ZS_MAX_PAGES_PER_ZSPAGE = 8
ZS_SIZE_CLASSES = (ZS_MAX_ALLOC_SIZE - ZS_MIN_ALLOC_SIZE + ZS_SIZE_CLASS_DELTA - 1) // ZS_SIZE_CLASS_DELTA + 1
#: Fullness groups (kernel: ``enum fullness_group``): 0 = empty, 1..10 = up to 10 %..99 %, 11 = full.
ZS_INUSE_RATIO_0 = 0
ZS_INUSE_RATIO_99 = 10
ZS_INUSE_RATIO_100 = 11
#: What a shrinker's scan returns when it freed nothing (kernel: ``SHRINK_STOP``, ``~0UL``).
SHRINK_STOP = -1

_CLASS_BITS = 8
_CLASS_MASK = (1 << _CLASS_BITS) - 1
_SLOT_BITS = 16  # objects per zspage < 2**16
_SLOT_MASK = (1 << _SLOT_BITS) - 1


def calculate_zspage_chain_size(class_size: int) -> int:
    """Pages per zspage for ``class_size``: the least waste, one page for a power of two."""
    if class_size & (class_size - 1) == 0:
        return 1
    best, min_waste = 1, PAGE_SIZE
    for pages in range(1, ZS_MAX_PAGES_PER_ZSPAGE + 1):
        waste = pages * PAGE_SIZE % class_size
        if waste < min_waste:
            best, min_waste = pages, waste
    return best


def get_size_class_index(size: int) -> int:
    """The class index for an allocation of ``size`` bytes, header included (clamped to the top class)."""
    idx = 0
    if size > ZS_MIN_ALLOC_SIZE:
        idx = (size - ZS_MIN_ALLOC_SIZE + ZS_SIZE_CLASS_DELTA - 1) // ZS_SIZE_CLASS_DELTA
    return min(ZS_SIZE_CLASSES - 1, idx)


def _geometry() -> tuple[list[tuple[int, int]], tuple[int, ...]]:
    """The merged classes, biggest first, as ``zs_create_pool`` builds them: (size, pages) each,
    and for every allocation size (header included) the position of its class."""
    classes: list[tuple[int, int, int]] = []
    by_index: list[int] = []
    # From the top down: a smaller size with the same zspage geometry shares the larger class.
    for i in range(ZS_SIZE_CLASSES - 1, -1, -1):
        size = min(ZS_MIN_ALLOC_SIZE + i * ZS_SIZE_CLASS_DELTA, ZS_MAX_ALLOC_SIZE)
        pages = calculate_zspage_chain_size(size)
        objs = pages * PAGE_SIZE // size
        if not classes or classes[-1][1:] != (pages, objs):
            classes.append((size, pages, objs))
        by_index.append(len(classes) - 1)
    by_index.reverse()
    sizes = range(ZS_MAX_ALLOC_SIZE + ZS_HANDLE_SIZE + 1)
    return [(size, pages) for size, pages, _ in classes], tuple(by_index[get_size_class_index(n)] for n in sizes)


_GEOMETRY, _CLASS_OF = _geometry()


class ZsSizeClass:
    """One size class (kernel: ``struct size_class``), its zspages and its handle table.

    A zspage's fullness group is not stored: it is a function of its free
    slots (``group_of_free[len(free[zid])]``).  The fullness lists are kept
    lazily for the one zspage the class is working on (:attr:`det`): a run
    of allocations from it, or of frees into it, changes its group without
    moving it between lists; it is moved, to the head of the list of the
    group it has reached, before anything else touches a list or reads one
    (:meth:`settle`).  Within such a run its group only rises (allocations)
    or only falls (frees), so it has changed group exactly when its group
    differs from the list it sits in, and since nothing was inserted in any
    list meanwhile, the lists are then those the kernel's eager
    ``fix_fullness_group`` after every object gives (tests/zswap/
    test_zsmalloc_model.py checks placements against that eager model).
    A plain slotted class: every allocation and free reads several fields.
    """

    __slots__ = (
        "cur",
        "data",
        "det",
        "det_listed",
        "free",
        "free_handles",
        "group_of",
        "group_of_free",
        "index",
        "lists",
        "lock",
        "nr_objs",
        "nr_zspages",
        "objs",
        "objs_per_zspage",
        "pages_per_zspage",
        "released",
        "size",
        "slots",
        "top",
    )

    def __init__(self, index: int, size: int, pages_per_zspage: int) -> None:
        self.index = index
        self.size = size
        self.pages_per_zspage = pages_per_zspage
        self.objs_per_zspage = objs = pages_per_zspage * PAGE_SIZE // size
        self.lock = threading.Lock()
        #: zspage id -> its free slots, a stack (kernel: the ``freeobj`` list); None once
        #: released (ids are reused).
        self.free: list[list[int] | None] = []
        #: A new zspage's free slots, slot 0 on top (as ``init_zspage`` links them).
        self.slots: tuple[int, ...] = tuple(range(objs - 1, -1, -1))
        #: kernel: ``fullness_list[]``; group -> zspage ids, the most recently inserted last
        #: (the kernel's ``list_add`` puts it first).
        self.lists: tuple[dict[int, None], ...] = tuple({} for _ in range(ZS_INUSE_RATIO_100 + 1))
        #: Highest group that may hold a partial zspage (lowered lazily).
        self.top = 0
        #: The zspage ``find_get_zspage`` would pick, while known (-1: search): the
        #: zspage allocated from last stays the fullest until it fills, or a free
        #: makes another zspage at least as full (it then becomes the first of its group).
        self.cur = -1
        #: The zspage whose list position is not kept up to date yet: ``zid`` during a run of
        #: allocations from it, ``~zid`` during a run of frees into it, None when there is none.
        self.det: int | None = None
        #: The group whose list holds :attr:`det`.
        self.det_listed = 0
        #: objects in use -> fullness group (kernel: ``get_fullness_group``), precomputed.
        self.group_of: tuple[int, ...] = tuple(
            ZS_INUSE_RATIO_0 if n == 0 else ZS_INUSE_RATIO_100 if n == objs else 100 * n // objs // 10 + 1
            for n in range(objs + 1)
        )
        #: free slots -> fullness group: what the per-object paths read (one index, no subtraction).
        self.group_of_free: tuple[int, ...] = self.group_of[::-1]
        self.released: list[int] = []
        #: handle index -> ``(zspage << 16 | slot) + 1`` (0: a free handle): the handle slab.
        self.objs = array("Q")
        #: handle index -> the object's bytes (None: free).
        self.data: list[bytearray | None] = []
        self.free_handles: list[int] = []
        #: Objects allocated (kernel: the class's ``OBJ_USED`` statistic); one int, so a
        #: reader without the lock (``ZsPool.nr_objs``, ``can_compact``) sees a consistent count.
        self.nr_objs = 0
        self.nr_zspages = 0

    @property
    def fullness(self) -> list[int]:
        """zspage id -> its fullness group (kernel: ``get_fullness_group``); -1 once released."""
        gof = self.group_of_free
        return [-1 if f is None else gof[len(f)] for f in self.free]

    @property
    def huge(self) -> bool:
        """One object per single page: the handle lives outside the zspage."""
        return self.objs_per_zspage == 1 and self.pages_per_zspage == 1

    def can_compact(self) -> int:
        """Pages compaction could free (kernel: ``zs_can_compact``)."""
        wasted = self.nr_zspages * self.objs_per_zspage - self.nr_objs
        return wasted // self.objs_per_zspage * self.pages_per_zspage if wasted > 0 else 0

    def group(self, zid: int) -> int:
        """The fullness group of live zspage ``zid``."""
        return self.group_of_free[len(self.free[zid])]  # type: ignore[arg-type]

    def settle(self) -> None:
        """Move the :attr:`det` zspage to the head of its group's list if its group changed.

        kernel: the ``fix_fullness_group`` its allocations or frees deferred; call under :attr:`lock`.
        """
        det = self.det
        if det is None:
            return
        self.det = None
        zid = det if det >= 0 else ~det
        group = self.group_of_free[len(self.free[zid])]  # type: ignore[arg-type]
        listed = self.det_listed
        if group != listed:
            lists = self.lists
            del lists[listed][zid]
            lists[group][zid] = None
            if ZS_INUSE_RATIO_0 < group <= ZS_INUSE_RATIO_99 and group > self.top:
                self.top = group

    def insert(self, zid: int) -> None:
        """Put an isolated zspage back in the list of its group (kernel: ``putback_zspage``)."""
        group = self.group(zid)
        self.lists[group][zid] = None
        if ZS_INUSE_RATIO_0 < group <= ZS_INUSE_RATIO_99 and group > self.top:
            self.top = group


class ZsPool:
    """A zsmalloc pool (kernel: ``struct zs_pool``); one per zswap pool."""

    __slots__ = ("_compact_lock", "_pages_lock", "class_of", "classes", "name", "total_pages")

    def __init__(self, name: str = "zswap") -> None:
        self.name = name
        self.classes: tuple[ZsSizeClass, ...] = tuple(
            ZsSizeClass(i, size, pages) for i, (size, pages) in enumerate(_GEOMETRY)
        )
        #: allocation size (object + ``ZS_HANDLE_SIZE``) -> its class, for every size a store can ask.
        self.class_of: tuple[ZsSizeClass, ...] = tuple(self.classes[i] for i in _CLASS_OF)
        self._pages_lock = threading.Lock()
        self._compact_lock = threading.Lock()
        #: Pages held by all zspages (kernel: ``zs_get_total_pages``).
        self.total_pages = 0

    def class_for(self, size: int) -> ZsSizeClass:
        """The class an object of ``size`` bytes goes to (its header added)."""
        return self.class_of[min(size, ZS_MAX_ALLOC_SIZE) + ZS_HANDLE_SIZE]

    # -- allocation (kernel: zs_malloc, zs_obj_write, zs_free) -----------------------------

    def malloc(self, size: int) -> int:
        """Reserve an object of ``size`` bytes (zero-filled); return its handle (kernel: ``zs_malloc``).

        ``InvalidArgument`` for 0 bytes, ``NoSpace`` (ENOSPC) above ``ZS_MAX_ALLOC_SIZE``.
        """
        if type(size) is not int or size <= 0:
            raise InvalidArgument(f"zs_malloc: size must be a positive int, got {size!r}")
        if size > ZS_MAX_ALLOC_SIZE:
            raise NoSpace(f"zs_malloc: {size} bytes exceed ZS_MAX_ALLOC_SIZE ({ZS_MAX_ALLOC_SIZE})")
        return self.store_object(bytearray(size))

    def store(self, data: bytes | bytearray | memoryview) -> int:
        """``zs_malloc`` + ``zs_obj_write``: a new object holding a copy of ``data``; return its handle."""
        return self.store_object(bytearray(data))

    def store_object(self, obj: bytearray) -> int:
        """``zs_malloc`` for ``obj``, already the copy (``zs_obj_write``): it becomes the pool's.

        The per-page path of every store: zswap copies the context's buffer
        into an exact-size ``bytearray`` (``buffer[:dlen]``, the kernel's
        memcpy into the zspage) and hands it over; the caller must not keep it.
        """
        n = len(obj)
        if not 0 < n <= ZS_MAX_ALLOC_SIZE:
            if n:
                raise NoSpace(f"zs_malloc: {n} bytes exceed ZS_MAX_ALLOC_SIZE ({ZS_MAX_ALLOC_SIZE})")
            raise InvalidArgument("zs_malloc: size 0")
        cls = self.class_of[n + ZS_HANDLE_SIZE]
        # acquire/release, not ``with``: half the cost on this per-page path (measured 76 vs 165 ns).
        lock = cls.lock
        lock.acquire()
        try:
            zid = cls.cur
            if zid < 0:
                zid = self._find_get_zspage(cls)
            elif zid != cls.det:  # a run of allocations from another zspage than the last run's
                cls.settle()
                cls.det = zid
                cls.det_listed = cls.group_of_free[len(cls.free[zid])]  # type: ignore[arg-type]
            free: list[int] = cls.free[zid]  # type: ignore[assignment]
            slot = free.pop()
            if not free:
                cls.cur = -1  # full: find_get_zspage looks again (it stays listed until settled)
            cls.nr_objs += 1
            handles = cls.free_handles
            if handles:
                idx = handles.pop()
                cls.objs[idx] = (zid << _SLOT_BITS | slot) + 1
                cls.data[idx] = obj
            else:
                idx = len(cls.data)
                cls.objs.append((zid << _SLOT_BITS | slot) + 1)
                cls.data.append(obj)
        finally:
            lock.release()
        return idx << _CLASS_BITS | cls.index

    def write(self, handle: int, data: bytes | bytearray | memoryview) -> None:
        """Replace the bytes of the object of ``handle`` (kernel: ``zs_obj_write``; tests corrupt with it)."""
        cls, idx = self._class(handle)
        data = bytearray(data)
        with cls.lock:
            if not cls.objs[idx]:
                raise InvalidArgument(f"zs_obj_write: handle {handle:#x} is not allocated")
            if len(data) + (0 if cls.huge else ZS_HANDLE_SIZE) > cls.size:
                raise InvalidArgument(f"zs_obj_write: {len(data)} bytes into a {cls.size}-byte object")
            cls.data[idx] = data

    def free(self, handle: int) -> None:
        """Release an object; an emptied zspage gives its pages back (kernel: ``zs_free``)."""
        try:
            cls = self.classes[handle & _CLASS_MASK]
            idx = handle >> _CLASS_BITS
        except (TypeError, IndexError):
            raise InvalidArgument(f"zs_free: bad handle {handle!r}") from None
        lock = cls.lock
        lock.acquire()
        try:
            objs = cls.objs
            try:
                loc = objs[idx] - 1 if idx >= 0 else -1
            except IndexError:
                loc = -1
            if loc < 0:
                raise InvalidArgument(f"zs_free: handle {handle:#x} is not allocated")
            objs[idx] = 0
            cls.data[idx] = None
            cls.free_handles.append(idx)
            cls.nr_objs -= 1
            zid = loc >> _SLOT_BITS
            free: list[int] = cls.free[zid]  # type: ignore[assignment]
            gof = cls.group_of_free
            k = len(free)
            if ~zid != cls.det:  # a run of frees into another zspage than the last run's
                cls.settle()
                cls.det = ~zid
                cls.det_listed = gof[k]
            free.append(loc & _SLOT_MASK)
            group = gof[k + 1]
            if group != gof[k]:
                if group == ZS_INUSE_RATIO_0:
                    cls.det = None
                    self._release_zspage(cls, zid, cls.det_listed)
                else:
                    cur = cls.cur
                    if cur == zid:
                        cls.cur = -1  # emptier now: another may be fuller
                    elif cur >= 0 and group >= gof[len(cls.free[cur])]:  # type: ignore[arg-type]
                        cls.cur = zid  # as full as the pick, and first of its group (once settled)
        finally:
            lock.release()

    # -- reading (kernel: zs_obj_read_begin) -------------------------------------------

    def read(self, handle: int) -> bytearray:
        """The object's bytes, without a copy (the pool's own memory); ``InvalidArgument`` if it is not allocated.

        No lock: a caller racing with ``free`` checks that it still owns the
        handle after reading (zswap compares its entry by identity).
        """
        try:
            obj = self.classes[handle & _CLASS_MASK].data[handle >> _CLASS_BITS]
        except (IndexError, TypeError):
            obj = None
        if obj is None:
            raise InvalidArgument(f"zsmalloc: stale handle {handle!r}")
        return obj

    def view(self, handle: int, length: int) -> memoryview:
        """The object's first ``length`` bytes, as a view of the pool's own (writable) memory."""
        return memoryview(self.read(handle))[:length]

    def _class(self, handle: int) -> tuple[ZsSizeClass, int]:
        if type(handle) is not int or handle < 0 or handle & _CLASS_MASK >= len(self.classes):
            raise InvalidArgument(f"zsmalloc: bad handle {handle!r}")
        cls = self.classes[handle & _CLASS_MASK]
        idx = handle >> _CLASS_BITS
        if idx >= len(cls.data):
            raise InvalidArgument(f"zsmalloc: bad handle {handle:#x}")
        return cls, idx

    # -- zspages -----------------------------------------------------------------------

    def _find_get_zspage(self, cls: ZsSizeClass) -> int:
        """The first zspage of the fullest partial group, or a new one; it becomes ``cls.cur``.

        kernel: ``find_get_zspage`` (and ``alloc_zspage`` when none); call under ``cls.lock``.
        """
        cls.settle()
        lists = cls.lists
        g = cls.top
        while g and not lists[g]:
            g -= 1
        cls.top = g
        zid = next(reversed(lists[g])) if g else self._new_zspage(cls)
        cls.cur = zid
        cls.det = zid  # a run of allocations from it starts
        cls.det_listed = g
        return zid

    def _new_zspage(self, cls: ZsSizeClass) -> int:
        """kernel: ``alloc_zspage`` + ``insert_zspage`` (in the empty group); call under ``cls.lock``."""
        slots = list(cls.slots)
        if cls.released:
            zid = cls.released.pop()
            cls.free[zid] = slots
        else:
            zid = len(cls.free)
            cls.free.append(slots)
        cls.lists[ZS_INUSE_RATIO_0][zid] = None
        cls.nr_zspages += 1
        lock = self._pages_lock
        lock.acquire()  # not ``with``: one zspage in five objects (76 vs 165 ns)
        self.total_pages += cls.pages_per_zspage
        lock.release()
        return zid

    def _release_zspage(self, cls: ZsSizeClass, zid: int, listed: int | None) -> None:
        """kernel: ``free_zspage``; ``listed`` is the group whose list holds it (None: isolated).

        The caller has settled the class, or ``zid`` is the :attr:`~ZsSizeClass.det` it cleared.
        """
        if cls.cur == zid:
            cls.cur = -1
        if listed is not None:
            del cls.lists[listed][zid]
        cls.free[zid] = None
        cls.released.append(zid)
        cls.nr_zspages -= 1
        lock = self._pages_lock
        lock.acquire()
        self.total_pages -= cls.pages_per_zspage
        lock.release()

    # -- compaction (kernel: zs_compact, zs_shrinker_count/scan) ------------------------

    def shrinker_count(self) -> int:
        """Pages a compaction could free (kernel: ``zs_shrinker_count``)."""
        return sum(c.can_compact() for c in self.classes)

    def shrinker_scan(self) -> int:
        """Compact; pages freed, or ``SHRINK_STOP`` if none (kernel: ``zs_shrinker_scan``)."""
        return self.compact() or SHRINK_STOP

    def compact(self) -> int:
        """Move objects out of the emptiest zspages into the fullest; return pages freed."""
        freed = 0
        with self._compact_lock:
            for cls in reversed(self.classes):  # biggest first, as zs_compact
                if cls.can_compact():
                    with cls.lock:
                        freed += self._compact_class(cls)
        return freed

    def _compact_class(self, cls: ZsSizeClass) -> int:
        """kernel: ``__zs_compact``; call under ``cls.lock``."""
        cls.settle()
        cls.cur = -1
        owner = {loc: idx for idx, loc in enumerate(cls.objs) if loc}
        objs = cls.objs_per_zspage
        freed = 0
        dst = -1
        while cls.can_compact():
            if dst < 0:
                dst = self._isolate(cls, range(ZS_INUSE_RATIO_99, ZS_INUSE_RATIO_0, -1))
                if dst < 0:
                    break
            src = self._isolate(cls, range(ZS_INUSE_RATIO_0 + 1, ZS_INUSE_RATIO_99 + 1))
            if src < 0:
                break
            src_free: list[int] = cls.free[src]  # type: ignore[assignment]
            dst_free: list[int] = cls.free[dst]  # type: ignore[assignment]
            for slot in sorted(set(range(objs)) - set(src_free)):  # kernel: find_alloced_obj, in order
                if not dst_free:
                    break
                new = dst_free.pop()
                idx = owner.pop((src << _SLOT_BITS | slot) + 1)
                owner[(dst << _SLOT_BITS | new) + 1] = idx
                cls.objs[idx] = (dst << _SLOT_BITS | new) + 1
                src_free.append(slot)
            if len(src_free) == objs:
                self._release_zspage(cls, src, None)
                freed += cls.pages_per_zspage
            else:
                cls.insert(src)
            if not dst_free:
                cls.insert(dst)  # full
                dst = -1
        if dst >= 0:
            cls.insert(dst)
        return freed

    @staticmethod
    def _isolate(cls: ZsSizeClass, groups: range) -> int:
        """Take the first zspage of the first non-empty group off its list; -1 if none.

        An isolated zspage is in no list (kernel: ``isolate_src_zspage`` /
        ``isolate_dst_zspage``), so nothing allocates from it, until
        :meth:`ZsSizeClass.insert` puts it back by its fullness.
        """
        for g in groups:
            lst = cls.lists[g]
            if lst:
                zid = next(reversed(lst))
                del lst[zid]
                return zid
        return -1

    def destroy(self) -> None:
        """Free every zspage, objects and all (kernel: ``zs_destroy_pool``); handles go stale."""
        for cls in self.classes:
            with cls.lock:
                cls.settle()
                for zid, free in enumerate(cls.free):
                    if free is not None:
                        self._release_zspage(cls, zid, cls.group(zid))
                cls.objs = array("Q")
                cls.data = []
                cls.free_handles.clear()
                cls.nr_objs = 0

    # -- accounting --------------------------------------------------------------------

    @property
    def nr_objs(self) -> int:
        """Objects currently allocated (all classes)."""
        return sum(c.nr_objs for c in self.classes)

    @property
    def total_size(self) -> int:
        """Bytes of memory the pool holds: its pages, fragmentation included."""
        return self.total_pages * PAGE_SIZE

    def handles(self) -> Iterator[int]:
        """Every allocated handle (a snapshot per class; tests and tools)."""
        for c in self.classes:
            with c.lock:
                live = [i for i, loc in enumerate(c.objs) if loc]
            for i in live:
                yield i << _CLASS_BITS | c.index

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
                        "freeable": c.can_compact(),
                    }
                )
        return out

    def check(self) -> None:
        """Verify the internal bookkeeping (tests); raises AssertionError."""
        pages = 0
        for c in self.classes:
            with c.lock:
                c.settle()  # the lists as the kernel's eager moves leave them
                live = [z for z, f in enumerate(c.free) if f is not None]
                assert len(live) == c.nr_zspages, (c.size, len(live), c.nr_zspages)
                assert sorted(c.released) == [z for z, f in enumerate(c.free) if f is None], (c.size, "released")
                used = [loc - 1 for loc in c.objs if loc]
                assert len(used) == len(set(used)) == c.nr_objs, (c.size, "handles")
                assert all((loc == 0) == (d is None) for loc, d in zip(c.objs, c.data)), (c.size, "data")
                assert len(c.data) == len(c.objs), (c.size, "handle table")
                unused = [i for i, loc in enumerate(c.objs) if not loc]
                assert sorted(c.free_handles) == unused, (c.size, "free handles")
                slots = set(range(c.objs_per_zspage))
                for z in live:
                    free = c.free[z]
                    assert free is not None
                    assert len(set(free)) == len(free) and set(free) <= slots, (c.size, z)  # no slot freed twice
                    inuse = {z << _SLOT_BITS | s for s in slots - set(free)}
                    assert inuse == {u for u in used if u >> _SLOT_BITS == z}, (c.size, z)
                    assert inuse, (c.size, z, "empty zspage kept")
                    group = c.group_of[len(inuse)]
                    assert [g for g, lst in enumerate(c.lists) if z in lst] == [group], (c.size, z, group)
                assert all(c.free[u >> _SLOT_BITS] is not None for u in used)
                assert sum(len(lst) for lst in c.lists) == len(live)
                if c.cur >= 0:  # the cached pick is what find_get_zspage would take
                    g = max((g for g in range(ZS_INUSE_RATIO_99, 0, -1) if c.lists[g]), default=0)
                    assert g and c.cur == next(reversed(c.lists[g])), (c.size, c.cur, g)
                pages += c.nr_zspages * c.pages_per_zspage
        assert pages == self.total_pages, (pages, self.total_pages)
