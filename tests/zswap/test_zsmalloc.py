"""The zsmalloc-like allocator: size classes, zspages, page accounting."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import acomp
from acomp import PAGE_SIZE
from acomp.zswap.zsmalloc import ZS_MIN_ALLOC_SIZE, ZS_SIZE_CLASS_DELTA, ZsPool


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
    with pytest.raises(acomp.InvalidArgument):
        zs.store(b"x" * (PAGE_SIZE + 1))


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
    for bad in (0, -1, PAGE_SIZE + 1):
        with pytest.raises(acomp.InvalidArgument):
            zs.malloc(bad)
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
    assert c == a and len(cls.zspages) == 2  # the released id came back, the lists did not grow
    assert bytes(zs.view(b, PAGE_SIZE)) == b"b" * PAGE_SIZE and bytes(zs.view(c, PAGE_SIZE)) == b"c" * PAGE_SIZE
    zs.check()
