"""zsmalloc's placements against a plain, eager model of the kernel's policies.

``ZsPool`` keeps its fullness lists lazily (the one zspage a class is working
on moves between lists only when another zspage or a reader needs them) and
caches ``find_get_zspage``'s pick.  This model does neither: every allocation
searches the lists, every change of a zspage's fullness group moves it at
once, as ``mm/zsmalloc.c`` does.  After every operation of a random sequence
(allocations, frees, compactions) the two must agree on the handle returned,
where every live object sits (zspage and slot), the order of every fullness
list and ``total_pages``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from acomp import PAGE_SIZE
from acomp.zswap.zsmalloc import ZS_INUSE_RATIO_0, ZS_INUSE_RATIO_99, ZS_INUSE_RATIO_100, ZsPool, ZsSizeClass


class ModelClass:
    """One size class, eagerly: lists in insertion order (the kernel's first is the last here)."""

    def __init__(self, real: ZsSizeClass) -> None:
        self.geometry = real  # size, objs_per_zspage, pages_per_zspage, group_of: tested elsewhere
        self.free: dict[int, list[int]] = {}
        self.lists: list[list[int]] = [[] for _ in range(ZS_INUSE_RATIO_100 + 1)]
        self.released: list[int] = []
        self.next_zid = 0
        self.table: list[tuple[int, int] | None] = []
        self.free_handles: list[int] = []

    def group(self, zid: int) -> int:
        return self.geometry.group_of[self.geometry.objs_per_zspage - len(self.free[zid])]

    def listed(self, zid: int) -> int:
        return next(g for g, lst in enumerate(self.lists) if zid in lst)

    def fix(self, zid: int) -> None:
        """fix_fullness_group: a zspage whose group changed goes first in its new list."""
        old, new = self.listed(zid), self.group(zid)
        if old != new:
            self.lists[old].remove(zid)
            self.lists[new].append(zid)

    def can_compact(self) -> int:
        objs = self.geometry.objs_per_zspage
        wasted = len(self.free) * objs - sum(1 for t in self.table if t is not None)
        return wasted // objs * self.geometry.pages_per_zspage if wasted > 0 else 0


class ModelPool:
    def __init__(self, real: ZsPool) -> None:
        self.real = real
        self.classes = {c.index: ModelClass(c) for c in real.classes}
        self.total_pages = 0

    def alloc(self, n: int) -> int:
        c = self.classes[self.real.class_for(n).index]
        zid = next((lst[-1] for lst in reversed(c.lists[1 : ZS_INUSE_RATIO_99 + 1]) if lst), None)  # find_get_zspage
        if zid is None:  # alloc_zspage
            zid = c.released.pop() if c.released else c.next_zid
            c.next_zid = max(c.next_zid, zid + 1)
            c.free[zid] = list(range(c.geometry.objs_per_zspage - 1, -1, -1))
            c.lists[ZS_INUSE_RATIO_0].append(zid)
            self.total_pages += c.geometry.pages_per_zspage
        slot = c.free[zid].pop()
        c.fix(zid)
        idx = c.free_handles.pop() if c.free_handles else len(c.table)
        if idx == len(c.table):
            c.table.append(None)
        c.table[idx] = (zid, slot)
        return idx << 8 | c.geometry.index

    def free(self, handle: int) -> None:
        c = self.classes[handle & 0xFF]
        idx = handle >> 8
        loc = c.table[idx]
        assert loc is not None
        zid, slot = loc
        c.table[idx] = None
        c.free_handles.append(idx)
        c.free[zid].append(slot)
        if len(c.free[zid]) == c.geometry.objs_per_zspage:  # free_zspage
            c.lists[c.listed(zid)].remove(zid)
            del c.free[zid]
            c.released.append(zid)
            self.total_pages -= c.geometry.pages_per_zspage
        else:
            c.fix(zid)

    def compact(self) -> int:
        freed = 0
        for c in sorted(self.classes.values(), key=lambda c: -c.geometry.size):  # biggest first
            dst = None
            while c.can_compact():
                if dst is None:
                    dst = next((lst.pop() for lst in reversed(c.lists[1 : ZS_INUSE_RATIO_99 + 1]) if lst), None)
                    if dst is None:
                        break
                src = next((lst.pop() for lst in c.lists[1 : ZS_INUSE_RATIO_99 + 1] if lst), None)
                if src is None:
                    break
                used = sorted(set(range(c.geometry.objs_per_zspage)) - set(c.free[src]))
                for slot in used:  # find_alloced_obj, in slot order
                    if not c.free[dst]:
                        break
                    new = c.free[dst].pop()
                    idx = c.table.index((src, slot))
                    c.table[idx] = (dst, new)
                    c.free[src].append(slot)
                if len(c.free[src]) == c.geometry.objs_per_zspage:
                    del c.free[src]
                    c.released.append(src)
                    self.total_pages -= c.geometry.pages_per_zspage
                    freed += c.geometry.pages_per_zspage
                else:
                    c.lists[c.group(src)].append(src)
                if not c.free[dst]:
                    c.lists[ZS_INUSE_RATIO_100].append(dst)
                    dst = None
            if dst is not None:
                c.lists[c.group(dst)].append(dst)
        return freed


def assert_same(real: ZsPool, model: ModelPool) -> None:
    real.check()  # brings the lazy lists up to date, then checks them
    assert real.total_pages == model.total_pages
    for c in real.classes:
        m = model.classes[c.index]
        assert [list(lst) for lst in c.lists] == m.lists, c.size
        where = [None if not v else ((v - 1) >> 16, (v - 1) & 0xFFFF) for v in c.objs]
        assert where == m.table[: len(where)] and all(t is None for t in m.table[len(where) :]), c.size


# Sizes from a few classes of very different geometry (256, 4, 23, 2, 3 and 1 objects a zspage),
# so zspages fill, empty and sit partly full in every group; mostly allocations and frees (a
# compaction empties the partial groups the allocations must choose among).
SIZES = st.sampled_from([40, 1000, 1400, 2000, 2600, 4000])
OPS = st.lists(st.tuples(st.integers(0, 99), SIZES, st.integers(0, 10_000)), min_size=50, max_size=400)


@settings(max_examples=30, deadline=None)
@given(OPS)
def test_placements_match_the_eager_model(ops: list[tuple[int, int, int]]) -> None:
    real = ZsPool()
    model = ModelPool(real)
    live: list[int] = []
    for kind, size, pick in ops:
        if kind < 55 or not live:
            h = real.store(bytes([size % 251]) * size)
            assert h == model.alloc(size)
            live.append(h)
        elif kind < 97:
            h = live.pop(pick % len(live))
            real.free(h)
            model.free(h)
        else:
            assert real.compact() == model.compact()
        assert_same(real, model)
    for h in live:
        real.free(h)
        model.free(h)
    assert_same(real, model)
    assert real.total_pages == 0


def test_placements_match_for_a_store_all_then_free_all_run() -> None:
    """zswap's own pattern: stores of every size, frees in the same order; then a refill and compaction."""
    real = ZsPool()
    model = ModelPool(real)
    sizes = [64 + (i * 2654435761) % (PAGE_SIZE - 64) for i in range(800)]

    def alloc(n: int) -> int:
        h = real.store(b"x" * n)
        assert h == model.alloc(n)
        return h

    def free(h: int) -> None:
        real.free(h)
        model.free(h)

    handles = [alloc(n) for n in sizes]
    assert_same(real, model)
    gone = set(handles[::3])
    for h in handles[::3]:  # every zspage partly emptied: many in one group
        free(h)
    assert_same(real, model)
    handles = [h for h in handles if h not in gone] + [alloc(n) for n in sizes[::5]]  # picks among them
    assert_same(real, model)
    for h in handles[1::2]:
        free(h)
    assert_same(real, model)
    assert real.compact() == model.compact()
    assert_same(real, model)
    for h in handles[::2]:
        free(h)
    assert_same(real, model)
    assert real.total_pages == 0
