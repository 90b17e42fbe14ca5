"""The zsmalloc-like allocator: size classes, zspages, page accounting."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acomp
from acomp import PAGE_SIZE
from acomp.zswap.zsmalloc import (
    SHRINK_STOP,
    ZS_HANDLE_SIZE,
    ZS_MAX_PAGES_PER_ZSPAGE,
    ZS_MIN_ALLOC_SIZE,
    ZS_SIZE_CLASS_DELTA,
    ZsPool,
    calculate_zspage_chain_size,
)


def test_class_geometry() -> None:
    zs = ZsPool()
    sizes = [c.size for c in zs.classes]
    assert max(sizes) == PAGE_SIZE
    assert all(s % ZS_SIZE_CLASS_DELTA == 0 and s >= ZS_MIN_ALLOC_SIZE for s in sizes)
    for size in (1, 32, 33, 100, 1000, 2047, 3000, 4000, PAGE_SIZE):
        cls = zs.class_for(size)
        assert cls.size >= size
        assert cls.objs_per_zspage * cls.size <= cls.pages_per_zspage * PAGE_SIZE
    # Near a page, an object has a page to itself (the kernel's huge class).
    assert zs.class_for(4000).huge and zs.class_for(PAGE_SIZE).huge
    assert not zs.class_for(100).huge
    # Merged classes: fewer classes than size steps, as in zs_create_pool.
    assert len(zs.classes) < (PAGE_SIZE - ZS_MIN_ALLOC_SIZE) // ZS_SIZE_CLASS_DELTA + 1


def test_pages_not_bytes() -> None:
    zs = ZsPool()
    h = zs.store(b"x" * 40)
    cls = zs.class_for(40)
    assert zs.total_pages == cls.pages_per_zspage  # one tiny object holds a whole zspage
    more = [zs.store(b"y" * 40) for _ in range(cls.objs_per_zspage - 1)]
    assert zs.total_pages == cls.pages_per_zspage  # packed into the same zspage
    extra = zs.store(b"z" * 40)
    assert zs.total_pages == 2 * cls.pages_per_zspage
    for handle in [h, *more, extra]:
        zs.free(handle)
    assert zs.total_pages == 0 and zs.nr_objs == 0
    zs.check()


def test_view_and_bad_sizes() -> None:
    zs = ZsPool()
    h = zs.store(b"hello world")
    assert bytes(zs.view(h, 11)) == b"hello world"
    with pytest.raises(acomp.InvalidArgument):
        zs.store(b"")
    with pytest.raises(acomp.NoSpace):  # kernel: zs_malloc -ENOSPC above ZS_MAX_ALLOC_SIZE (zswap: compress_poor)
        zs.store(b"x" * (PAGE_SIZE + 1))
    zs.free(h)
    with pytest.raises(acomp.InvalidArgument):  # freed: stale
        zs.view(h, 11)
    with pytest.raises(acomp.InvalidArgument):
        zs.free(h)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, PAGE_SIZE), min_size=1, max_size=200), st.randoms(use_true_random=False))
def test_random_alloc_free_keeps_contents(sizes: list[int], rnd: random.Random) -> None:
    zs = ZsPool()
    live: dict[int, bytes] = {}
    for i, n in enumerate(sizes):
        data = bytes([i % 251]) * n
        live[zs.store(data)] = data
        if rnd.random() < 0.4:
            victim = rnd.choice(list(live))
            zs.free(victim)
            del live[victim]
    for h, data in live.items():
        assert bytes(zs.view(h, len(data))) == data
    zs.check()
    assert zs.nr_objs == len(live)
    for h in live:
        zs.free(h)
    assert zs.total_pages == 0
    zs.check()


def test_malloc_reserves_like_store() -> None:
    zs = ZsPool()
    handles = [zs.malloc(100) for _ in range(3)]
    assert len(set(handles)) == 3 and zs.nr_objs == 3
    assert zs.class_for(100).nr_objs == 3
    for bad in (0, -1):
        with pytest.raises(acomp.InvalidArgument):
            zs.malloc(bad)
    with pytest.raises(acomp.NoSpace):  # kernel: -ENOSPC, the "too big" zswap counts as compress_poor
        zs.malloc(PAGE_SIZE + 1)
    h = zs.store(b"a" * 100)  # store takes the next slot of the same zspage
    assert h not in handles and zs.total_pages == zs.class_for(100).pages_per_zspage
    zs.check()
    for handle in [*handles, h]:
        zs.free(handle)
    assert zs.total_pages == 0 and zs.nr_objs == 0
    zs.check()


def test_emptied_zspage_id_is_reused() -> None:
    zs = ZsPool()
    cls = zs.class_for(PAGE_SIZE)  # huge: one object per zspage
    a, b = zs.store(b"a" * PAGE_SIZE), zs.store(b"b" * PAGE_SIZE)
    zs.free(a)
    assert cls.nr_zspages == 1 and zs.total_pages == 1
    c = zs.store(b"c" * PAGE_SIZE)
    assert c == a and len(cls.free) == 2  # the released id came back, the lists did not grow
    assert bytes(zs.view(b, PAGE_SIZE)) == b"b" * PAGE_SIZE and bytes(zs.view(c, PAGE_SIZE)) == b"c" * PAGE_SIZE
    zs.check()


# -- the kernel's geometry and policies (Z8) ---------------------------------------------------


def test_handle_size_is_added_before_the_class_is_chosen() -> None:
    """zs_malloc: ``size += ZS_HANDLE_SIZE`` before get_size_class_index."""
    zs = ZsPool()
    assert zs.class_for(4088).size == PAGE_SIZE and zs.class_for(4088).huge
    assert zs.class_for(2040).size == 2048  # 2040 + 8 fits the 2048 class exactly
    assert zs.class_for(2041).size > 2048  # 2049 does not (without the handle: 2048)
    assert zs.class_for(24).size == 32 and zs.class_for(25).size == 48
    assert zs.class_for(2041) is not zs.class_for(2040)
    a, b = zs.store(b"a" * 2041), zs.store(b"b" * 2041)
    assert zs.class_for(2041).nr_objs == 2 and zs.class_for(2040).nr_objs == 0
    assert bytes(zs.view(a, 2041)) == b"a" * 2041 and bytes(zs.view(b, 2041)) == b"b" * 2041
    assert ZS_HANDLE_SIZE == 8


def test_chain_size_is_the_least_waste_and_one_page_for_a_power_of_two() -> None:
    """calculate_zspage_chain_size (6.3+), not the older "most used %" rule (differs for e.g. 144)."""
    for size in range(ZS_MIN_ALLOC_SIZE, PAGE_SIZE + 1, ZS_SIZE_CLASS_DELTA):
        pages = calculate_zspage_chain_size(size)
        if size & (size - 1) == 0:
            assert pages == 1, size
        else:
            wastes = [i * PAGE_SIZE % size for i in range(1, ZS_MAX_PAGES_PER_ZSPAGE + 1)]
            assert pages == wastes.index(min(wastes)) + 1, size
    assert calculate_zspage_chain_size(144) == 7  # 28672 % 144 == 16; the % rule took 3
    zs = ZsPool()
    for c in zs.classes:
        assert c.pages_per_zspage == calculate_zspage_chain_size(c.size)


def test_allocation_fills_the_fullest_zspage_first() -> None:
    """find_get_zspage: the fullest partial zspage, not the oldest one."""
    zs = ZsPool()
    cls = zs.class_for(1000)  # the 1024 class: 4 objects per 1-page zspage
    assert cls.objs_per_zspage == 4 and cls.pages_per_zspage == 1
    first = [zs.store(b"1" * 1000) for _ in range(4)]
    second = [zs.store(b"2" * 1000) for _ in range(4)]
    zs.free(second[0])  # the second zspage goes partial first (oldest partial) ...
    zs.free(second[1])  # ... at 50 %
    zs.free(first[0])  # the first one: 75 %, the fullest
    h = zs.store(b"x" * 1000)
    full = {zid for zid, free in enumerate(cls.free) if cls.fullness[zid] >= 0 and not free}
    assert len(full) == 1  # the 75 % one is full again ...
    assert cls.nr_objs == 6 and sorted(len(f) for f in cls.free if f) == [2]  # ... the 50 % one untouched
    assert bytes(zs.view(h, 1000)) == b"x" * 1000
    zs.check()


def test_compaction_frees_pages_and_keeps_every_object() -> None:
    zs = ZsPool()
    data = {zs.store(bytes([i % 256]) * 300): bytes([i % 256]) * 300 for i in range(400)}
    handles = list(data)
    for h in handles[::3] + handles[1::3]:  # two thirds freed, spread over every zspage
        zs.free(h)
        del data[h]
    before = zs.total_pages
    can = zs.shrinker_count()
    assert can > 0
    freed = zs.shrinker_scan()
    assert freed == before - zs.total_pages and freed >= can // 2 > 0
    for h, d in data.items():  # handles survive the move (the handle table was rewritten)
        assert bytes(zs.view(h, len(d))) == d
    zs.check()
    assert zs.shrinker_count() == 0 and zs.shrinker_scan() == SHRINK_STOP
    for h in data:
        zs.free(h)
    assert zs.total_pages == 0
    zs.check()
