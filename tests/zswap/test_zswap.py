"""zswap frontend: store/load, all-or-nothing folios, limits, pools, batching, shrinker, counters."""

from __future__ import annotations

import errno
import threading
import types

import pytest
from zswap_helpers import ExactPage, Faults, Zfault, ZtestBatch, ZtestSingle, random_pages, text_pages

import acomp
from acomp import PAGE_SIZE
from acomp.zswap import ZSWAP_MAX_BATCH_SIZE, Zswap
from acomp.zswap.stats import DEBUGFS_COUNTERS, VMSTAT_COUNTERS


def load_page(z: Zswap, offset: int) -> bytes | None:
    out = bytearray(PAGE_SIZE)
    return bytes(out) if z.load(offset, out) else None


@pytest.mark.parametrize("compressor", ["zstd", "deflate", "lz4", "ztest", "ztest1"])
@pytest.mark.parametrize("as_is", [False, True])
def test_round_trip_and_exclusive_load(compressor: str, as_is: bool) -> None:
    """v5: a folio with a random page goes nowhere; 6.18's option stores it as-is."""
    pages = text_pages(20) + random_pages(4)
    with Zswap(compressor, total_ram=1 << 30, store_incompressible=as_is) as z:
        assert z.store(0, b"".join(pages[:16]))
        assert z.store(16, b"".join(pages[16:])) is as_is
        st = z.stats()
        stored = 24 if as_is else 16
        assert st["stored_pages"] == stored
        assert st["stored_incompressible_pages"] == (4 if as_is else 0)
        assert st["zswpout"] == stored
        assert st["zswpout_64kB"] == 1 and st.get("zswpout_32kB", 0) == int(as_is)
        z.verify()
        for i, p in enumerate(pages[:stored]):
            assert load_page(z, i) == p
            assert load_page(z, i) is None  # exclusive: the hit freed it
        st = z.stats()
        assert st["stored_pages"] == 0 and st["zswpin"] == stored
        assert st["pool_total_size"] == 0  # every zspage went back
        z.verify()


def test_stats_has_every_kernel_counter() -> None:
    with Zswap("ztest1") as z:
        st = z.stats()
    for name in (*DEBUGFS_COUNTERS, *VMSTAT_COUNTERS):
        assert isinstance(st[name], int), name
    (pool,) = st["pools"]  # type: ignore[misc]
    assert pool["driver_name"] == "ztest-single" and pool["compressor"] == "ztest1"


def test_pool_total_size_counts_pages_not_bytes() -> None:
    with Zswap("ztest1") as z:
        assert z.store(0, text_pages(1)[0])
        st = z.stats()
        # One small object still holds a whole zspage.
        assert st["pool_total_size"] >= PAGE_SIZE
        assert st["pool_total_size"] % PAGE_SIZE == 0
        (pool,) = z.pools()
        assert st["pool_total_size"] == pool.zs.total_pages * PAGE_SIZE


def test_bad_folio_size_is_einval() -> None:
    with Zswap("ztest1") as z:
        with pytest.raises(acomp.InvalidArgument):
            z.store(0, b"x" * 100)
        with pytest.raises(acomp.InvalidArgument):
            z.store(0, b"")


def test_unknown_compressor() -> None:
    with pytest.raises(acomp.AlgorithmNotFound):
        Zswap("no-such-alg")


# -- batching by capability ---------------------------------------------------------------


def test_batching_driver_gets_batches_of_eight() -> None:
    with Zswap("ztest") as z:
        (pool,) = z.pools()
        assert pool.info()["nr_reqs"] == min(ZSWAP_MAX_BATCH_SIZE, 8)
        assert z.store(0, b"".join(text_pages(16)))
        assert ZtestBatch.batch_calls == [8, 8]
        assert ZtestBatch.single_calls == []
        assert z.store(32, b"".join(text_pages(11, seed=1)))
        assert ZtestBatch.batch_calls == [8, 8, 8, 3]


def test_non_batching_driver_goes_one_by_one() -> None:
    with Zswap("ztest1") as z:
        (pool,) = z.pools()
        assert pool.info()["nr_reqs"] == 1
        assert z.store(0, b"".join(text_pages(16)))
        assert len(ZtestSingle.calls) == 16


def test_real_batching_driver_uses_batches() -> None:
    """zstd-generic advertises async batching: zswap sizes its contexts from that."""
    with Zswap("zstd") as z:
        (pool,) = z.pools()
        tfm = pool.tfm
        expect = min(ZSWAP_MAX_BATCH_SIZE, tfm.batch_size) if tfm.has_async_batching else 1
        assert pool.info()["nr_reqs"] == expect
        pages = text_pages(16)
        assert z.store(0, b"".join(pages))
        assert [load_page(z, i) for i in range(16)] == pages


# -- incompressible pages, rejects, all-or-nothing -----------------------------------------


def test_one_random_page_rejects_the_folio_whole_by_default() -> None:
    """v5: the compressor gets PAGE_SIZE; a page that does not fit fails its request (ENOSPC),
    the folio is refused whole and counted per errno (was: stored as-is, the 6.18 rule)."""
    with Zswap("ztest1") as z:
        folio = text_pages(3) + random_pages(1)
        assert not z.store(0, b"".join(folio))
        st = z.stats()
        assert st["reject_compress_poor"] == 1 and st["reject_compress_fail"] == 0
        assert st["stored_pages"] == 0 and st["stored_incompressible_pages"] == 0
        assert st["rejected_folios"] == 1 and st["pool_total_size"] == 0
        z.verify()


def test_incompressible_stored_as_is_with_store_incompressible() -> None:
    with Zswap("ztest1", store_incompressible=True) as z:
        pages = random_pages(3)
        assert z.store(0, b"".join(pages))
        st = z.stats()
        assert st["stored_incompressible_pages"] == 3
        assert st["reject_compress_poor"] == 0
        assert [load_page(z, i) for i in range(3)] == pages


def test_compress_error_rejects_by_default_and_stores_as_is_with_store_incompressible() -> None:
    with Zswap("zfault") as z:
        Faults.compress = 1
        assert not z.store(0, b"".join(text_pages(4)))
        assert z.stats()["reject_compress_fail"] == 1  # EIO: compress_fail
    with Zswap("zfault", store_incompressible=True) as z:
        Faults.compress = 1
        pages = text_pages(4)
        assert z.store(0, b"".join(pages))
        st = z.stats()
        assert st["stored_incompressible_pages"] == 1 and st["reject_compress_fail"] == 0
        assert [load_page(z, i) for i in range(4)] == pages


def test_store_incompressible_without_writeback_rejects_with_6_18_counters() -> None:
    """6.18: writeback off, a no-gain page is -EINVAL (compress_fail), an ENOSPC one compress_poor."""
    with Zswap("ztest1", store_incompressible=True, writeback_enabled=False) as z:
        assert not z.store(0, b"".join(text_pages(1) + random_pages(1)))
        assert z.stats()["reject_compress_poor"] == 1  # ztest1 says ENOSPC
    with Zswap("exact-page", store_incompressible=True, writeback_enabled=False) as z:
        assert not z.store(0, b"".join(text_pages(2)))
        st = z.stats()
        assert st["reject_compress_fail"] == 1 and st["reject_compress_poor"] == 0


@pytest.mark.parametrize("nbytes", [PAGE_SIZE - 1, PAGE_SIZE])
def test_an_output_that_fits_is_stored_compressed_even_without_gain(nbytes: int) -> None:
    """v5 stores what the compressor returned within PAGE_SIZE, however big (6.18 would store
    a PAGE_SIZE output as-is)."""
    ExactPage.size = nbytes
    with Zswap("exact-page") as z:
        pages = text_pages(2)
        assert z.store(0, b"".join(pages))
        st = z.stats()
        assert st["stored_pages"] == 2 and st["stored_incompressible_pages"] == 0
        assert {e.length for _, e in z.tree.snapshot()} == {nbytes}
        assert [load_page(z, i) for i in range(2)] == pages
    with Zswap("exact-page", store_incompressible=True) as z:
        assert z.store(0, b"".join(pages))
        assert z.stats()["stored_incompressible_pages"] == (2 if nbytes == PAGE_SIZE else 0)
        assert [load_page(z, i) for i in range(2)] == pages


def test_folio_all_or_nothing_erases_old_entries() -> None:
    """An incompressible page rejects its folio; old entries there go too."""
    with Zswap("ztest1") as z:
        old = text_pages(4, seed=9)
        assert z.store(0, b"".join(old))
        assert z.store(100, text_pages(1)[0])
        folio = text_pages(3) + random_pages(1)
        assert not z.store(0, b"".join(folio))
        st = z.stats()
        assert st["reject_compress_poor"] == 1
        assert st["stored_pages"] == 1  # only the unrelated entry at 100
        assert all(load_page(z, i) is None for i in range(4))
        assert st["pool_total_size"] == z.pools()[0].zs.total_pages * PAGE_SIZE
        z.verify()


def test_compress_fail_counter_per_errno() -> None:
    with Zswap("zfault") as z:
        Faults.compress = 1
        Faults.compress_errno = errno.EIO
        assert not z.store(0, b"".join(text_pages(2)))
        assert z.stats()["reject_compress_fail"] == 1
        Faults.compress = 1
        Faults.compress_errno = errno.ENOSPC
        assert not z.store(0, b"".join(text_pages(2)))
        assert z.stats()["reject_compress_poor"] == 1
        Faults.compress_errno = errno.EIO
        z.verify()


def test_disabled_rejects_and_erases() -> None:
    with Zswap("ztest1") as z:
        assert z.store(0, text_pages(1)[0])
        z.enabled = False
        assert not z.store(0, text_pages(1, seed=2)[0])
        assert z.stats()["stored_pages"] == 0


def test_overwrite_replaces_entry() -> None:
    with Zswap("ztest1") as z:
        a, b = text_pages(1, seed=1)[0], text_pages(1, seed=2)[0]
        assert z.store(5, a) and z.store(5, b)
        assert z.stats()["stored_pages"] == 1
        assert load_page(z, 5) == b
        z.verify()


def test_decompress_failure_is_saved_by_another_reader_of_the_wire_format() -> None:
    with Zswap("zfault") as z:  # zfault writes raw deflate: every deflate driver reads it
        page = text_pages(1)[0]
        assert z.store(7, page)
        Faults.decompress = 1
        assert load_page(z, 7) == page
        st = z.stats()
        assert st["decompress_failover"] == 1 and st["decompress_fail"] == 0 and st["stored_pages"] == 0


class ZfaultOwnFormat(Zfault):
    """Same faults, a wire format nobody else reads: a failure has no way round."""

    driver_name = "zfault-ownformat"
    wire_format = "zfault-own"


def test_decompress_failure_surfaces_and_keeps_entry() -> None:
    reg = acomp.registry.get_registry()
    plugin = types.SimpleNamespace(
        acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(ZfaultOwnFormat))
    )
    reg.register_plugin(plugin, name="zfault-own")
    try:
        with Zswap("zfault-ownformat") as z:
            page = text_pages(1)[0]
            assert z.store(7, page)
            Faults.decompress = 1
            with pytest.raises(acomp.AcompError):
                z.load(7, bytearray(PAGE_SIZE))
            st = z.stats()
            assert st["decompress_fail"] == 1 and st["stored_pages"] == 1
            assert load_page(z, 7) == page
    finally:
        reg.unregister_plugin("zfault-own")


def test_invalidate() -> None:
    with Zswap("ztest1") as z:
        assert z.store(0, b"".join(text_pages(2)))
        assert z.invalidate(1)
        assert not z.invalidate(1)
        assert z.stats()["stored_pages"] == 1
        assert load_page(z, 1) is None
        z.verify()


# -- pool limit with hysteresis ----------------------------------------------------------------


def test_pool_limit_hysteresis() -> None:
    # 100 pages of RAM, 20% -> 20 pool pages; accept again at 90% of that (18).
    with Zswap("ztest1", total_ram=100 * PAGE_SIZE, store_incompressible=True) as z:
        assert z.max_pages() == 20 and z.accept_thr_pages() == 18
        pages = random_pages(40)  # as-is: one pool page each
        stored = 0
        for i, p in enumerate(pages):
            if not z.store(i, p):
                break
            stored += 1
        assert stored == 20
        st = z.stats()
        assert st["pool_limit_hit"] == 1 and st["pool_reached_full"]
        # Dropping to 19 pages is not enough: still refused, limit not hit again.
        z.invalidate(0)
        assert not z.store(100, pages[-1])
        assert z.stats()["pool_limit_hit"] == 1
        z.invalidate(1)  # 18 pages = the accept threshold
        assert z.store(100, pages[-1])
        assert not z.stats()["pool_reached_full"]
        z.verify()


# -- pools and set_compressor -----------------------------------------------------------------


def test_set_compressor_keeps_old_entries_readable() -> None:
    with Zswap("ztest1") as z:
        a = text_pages(4, seed=1)
        assert z.store(0, b"".join(a))
        z.set_compressor("zstd")
        assert z.compressor == "zstd"
        b = text_pages(4, seed=2)
        assert z.store(4, b"".join(b))
        names = [p["driver_name"] for p in z.stats()["pools"]]  # type: ignore[attr-defined, index]
        assert names[0] == acomp.alloc("zstd").driver_name and names[1] == "ztest-single"
        old = z.pools()[1]
        for i in range(3):
            assert load_page(z, i) == a[i]
        assert len(z.pools()) == 2
        assert load_page(z, 3) == a[3]  # last entry of the old pool: it goes away
        assert len(z.pools()) == 1 and old.dead
        assert [load_page(z, 4 + i) for i in range(4)] == b
        z.verify()


def test_set_compressor_unknown_keeps_current() -> None:
    with Zswap("ztest1") as z:
        with pytest.raises(acomp.AlgorithmNotFound):
            z.set_compressor("nope")
        assert z.compressor == "ztest1"


def test_set_compressor_empty_old_pool_goes_at_once() -> None:
    with Zswap("ztest1") as z:
        z.set_compressor("ztest")
        assert [p.compressor for p in z.pools()] == ["ztest"]
        z.set_compressor("ztest")  # same name: nothing new
        assert len(z.pools()) == 1


# -- shrinker, second chance -------------------------------------------------------------------


class FakeSwap:
    """A WritebackTarget that keeps written pages in a dict."""

    def __init__(self) -> None:

        self.pages: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def slot_lock(self, offset: int):  # type: ignore[no-untyped-def]
        return self._lock

    def write_slot(self, offset: int, page: bytearray) -> None:
        self.pages[offset] = bytes(page)


def test_shrink_second_chance_and_writeback() -> None:
    swap = FakeSwap()
    with Zswap("ztest1", swap=swap, shrinker_enabled=False) as z:
        pages = text_pages(6)
        for i, p in enumerate(pages):
            assert z.store(i, p)
        # All referenced: the first pass only clears the bits and rotates.
        assert z.shrink(2) == 2
        assert sorted(swap.pages) == [0, 1]  # oldest first after one rotation
        assert swap.pages[0] == pages[0] and swap.pages[1] == pages[1]
        st = z.stats()
        assert st["written_back_pages"] == 2 and st["zswpwb"] == 2 and st["stored_pages"] == 4
        # A new store is referenced again: entries 2..5 (not referenced) go first.
        assert z.store(0, pages[0])
        assert z.shrink(4) == 4
        assert sorted(swap.pages) == [0, 1, 2, 3, 4, 5]
        assert load_page(z, 0) == pages[0]
        z.verify()


def test_shrink_without_swap_counts_reclaim_fail() -> None:
    with Zswap("ztest1", shrinker_enabled=False) as z:
        for i, p in enumerate(text_pages(4)):
            z.store(i, p)
        assert z.shrink(2) == 0
        st = z.stats()
        assert st["reject_reclaim_fail"] > 0 and st["stored_pages"] == 4


def test_automatic_shrinker_sync() -> None:
    swap = FakeSwap()
    with Zswap("ztest1", swap=swap, total_ram=100 * PAGE_SIZE, shrink_async=False, store_incompressible=True) as z:
        assert not z.shrinker_enabled  # the kernel's default: the limit-driven worker runs anyway
        pages = random_pages(30)
        results = [z.store(i, p) for i, p in enumerate(pages)]
        assert not all(results)  # the limit was hit at least once
        st = z.stats()
        assert st["pool_limit_hit"] >= 1 and st["written_back_pages"] > 0
        assert z.total_pages() <= z.max_pages()
        # Every page is somewhere: zswap or written back, byte-identical.
        for i, p in enumerate(pages):
            if results[i]:
                got = load_page(z, i)
                assert (got if got is not None else swap.pages[i]) == p
        z.verify()


def test_automatic_shrinker_background() -> None:
    swap = FakeSwap()
    with Zswap("ztest1", swap=swap, total_ram=100 * PAGE_SIZE, store_incompressible=True) as z:
        for i, p in enumerate(random_pages(25)):
            z.store(i, p)
        assert z.drain()
        st = z.stats()
        assert st["written_back_pages"] > 0
        assert z.total_pages() <= z.accept_thr_pages()
        z.verify()


class CountingTfm:
    """Wraps a real transform and records the size of every batch_compress call."""

    def __init__(self, tfm: acomp.Transform, log: list[int]) -> None:
        self._tfm = tfm
        self._log = log

    def __getattr__(self, name: str) -> object:
        return getattr(self._tfm, name)

    def batch_compress(self, reqs: list[acomp.Request]) -> bool:
        self._log.append(len(reqs))
        return self._tfm.batch_compress(reqs)


@pytest.mark.parametrize("name", ["deflate-iaa", "zstd", "deflate", "lz4"])
def test_real_driver_batches_by_capability(name: str) -> None:
    """16-page folios: 2 x 8 through batch_compress when the driver batches, else none."""
    try:
        acomp.alloc(name).close()
    except acomp.AlgorithmNotFound:
        pytest.skip(f"{name} not registered")
    log: list[int] = []
    with Zswap(name, transform_factory=lambda n: CountingTfm(acomp.alloc(n), log)) as z:  # type: ignore[arg-type, return-value]
        tfm = z.pool.tfm
        pages = text_pages(16)
        assert z.store(0, b"".join(pages))
        if tfm.has_async_batching and tfm.batch_size > 1:
            assert log == [min(8, tfm.batch_size)] * (16 // min(8, tfm.batch_size))
        else:
            assert log == []
        assert [load_page(z, i) for i in range(16)] == pages


# -- error paths: bad input is EINVAL and counts nothing --------------------------------------


def test_store_rejects_negative_offset_and_accepts_any_byte_layout() -> None:
    import array

    with Zswap("ztest1") as z:
        with pytest.raises(acomp.InvalidArgument):
            z.store(-1, text_pages(1)[0])
        with pytest.raises(acomp.InvalidArgument):
            z.store(0, b"x" * (PAGE_SIZE + 1))
        page = text_pages(1)[0]
        assert z.store(0, array.array("I", page))  # a non-byte buffer is cast, not refused
        assert load_page(z, 0) == page
        assert z.stats()["zswpout"] == 1 and z.stats()["rejected_folios"] == 0


@pytest.mark.parametrize("compressible", [True, False])
def test_load_bad_out_buffer_is_einval_and_keeps_entry(compressible: bool) -> None:
    with Zswap("ztest1", store_incompressible=True) as z:
        page = text_pages(1)[0] if compressible else random_pages(1)[0]
        assert z.store(3, page)
        strided = memoryview(bytearray(2 * PAGE_SIZE))[::2]
        for bad in (bytearray(PAGE_SIZE - 1), bytes(PAGE_SIZE), memoryview(bytearray(PAGE_SIZE)).toreadonly(), 3):
            with pytest.raises(acomp.InvalidArgument):
                z.load(3, bad)  # type: ignore[arg-type]
        with pytest.raises(acomp.InvalidArgument, match="out"):
            z.load(3, strided)  # was a raw TypeError from memoryview.cast
        st = z.stats()
        assert st["decompress_fail"] == 0 and st["decompress_failover"] == 0 and st["stored_pages"] == 1
        big = bytearray(2 * PAGE_SIZE)  # more than a page is fine: the first page is written
        assert z.load(3, big) and bytes(big[:PAGE_SIZE]) == page and big[PAGE_SIZE:] == bytes(PAGE_SIZE)
        z.verify()


def test_negative_offsets_are_einval_for_load_and_erase() -> None:
    with Zswap("ztest1") as z:
        with pytest.raises(acomp.InvalidArgument):
            z.load(-1, bytearray(PAGE_SIZE))
        with pytest.raises(acomp.InvalidArgument):
            z.erase(-16, 16)
        with pytest.raises(acomp.InvalidArgument):
            z.invalidate(-1)
        with pytest.raises(acomp.InvalidArgument):
            z.erase(0, -1)
        assert z.erase(0, 0) == 0


def test_total_ram_below_a_page_is_einval() -> None:
    with pytest.raises(acomp.InvalidArgument):
        Zswap("ztest1", total_ram=PAGE_SIZE - 1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_pool_percent", "20"),
        ("max_pool_percent", 101),
        ("accept_threshold_percent", 2.5),
        ("total_ram", "1G"),
        ("enabled", "yes"),
        ("shrinker_enabled", 1),
        ("store_incompressible", None),
        ("nr_cpus", 0),
    ],
)
def test_bad_parameters_are_einval_naming_the_argument(name: str, value: object) -> None:
    """Was a raw TypeError at the first store ('<' between str and int) for max_pool_percent='20'."""
    with pytest.raises(acomp.InvalidArgument, match=name):
        Zswap("ztest1", **{name: value})  # type: ignore[arg-type]


def test_parameters_set_at_run_time_are_checked_too() -> None:
    with Zswap("ztest1", total_ram=100 * PAGE_SIZE) as z:
        with pytest.raises(acomp.InvalidArgument, match="max_pool_percent"):
            z.max_pool_percent = "20"  # type: ignore[assignment]
        z.max_pool_percent = 50
        assert z.max_pages() == 50 and z.accept_thr_pages() == 45


# -- batching=False, pool teardown -------------------------------------------------------------


def test_batching_false_gives_one_request_even_to_a_batching_driver() -> None:
    with Zswap("ztest", batching=False) as z:
        (pool,) = z.pools()
        assert pool.info()["nr_reqs"] == 1 and pool.info()["batch_size"] == 8
        pages = text_pages(16)
        assert z.store(0, b"".join(pages))
        assert ZtestBatch.batch_calls == [] and len(ZtestBatch.single_calls) == 16
        assert [load_page(z, i) for i in range(15)] == pages[:15]
        z.set_compressor("ztest1")
        z.set_compressor("ztest")  # the old pool, alive for page 15, comes back: still one request
        assert z.pool is pool and pool.info()["nr_reqs"] == 1 and len(z.pools()) == 1  # empty ztest1 went
        assert z.store(16, b"".join(pages[:8]))
        assert ZtestBatch.batch_calls == [] and len(ZtestBatch.single_calls) == 24


class ClosingTfm:
    """Wraps a real transform and records its close()."""

    def __init__(self, tfm: acomp.Transform, closed: list[str]) -> None:
        self._tfm = tfm
        self._closed = closed

    def __getattr__(self, name: str) -> object:
        return getattr(self._tfm, name)

    def close(self) -> None:
        self._closed.append(self._tfm.driver_name)
        self._tfm.close()


def test_pool_teardown_waits_for_last_entry_and_closes_its_transforms() -> None:
    closed: list[str] = []
    factory = lambda n: ClosingTfm(acomp.alloc(n), closed)  # noqa: E731
    with Zswap("ztest1", transform_factory=factory, nr_cpus=1) as z:  # type: ignore[arg-type]
        assert z.store(0, b"".join(text_pages(2)))
        old = z.pool
        z.set_compressor("ztest")
        assert not old.dead and closed == []  # two entries still use it
        assert not old.try_destroy()  # it holds objects: refused
        assert z.invalidate(0)
        assert not old.dead and closed == []
        assert z.erase(1) == 1  # the last one: the pool goes, its transforms closed
        assert old.dead and closed == ["ztest-single"]
        assert [p.compressor for p in z.pools()] == ["ztest"]
        z.set_compressor("ztest1")  # a dead pool is never revived: a new one
        assert z.pool is not old and not z.pool.dead
        z.verify()
    assert sorted(closed) == ["ztest-batch", "ztest-single", "ztest-single"]  # close() released the rest


def test_shrinker_queued_only_when_it_can_write_back() -> None:
    """A full pool without a swap device (or with writeback off) must not spin a shrinker."""
    for kwargs in ({}, {"writeback_enabled": False}):
        with Zswap("ztest1", total_ram=20 * PAGE_SIZE, store_incompressible=True, **kwargs) as z:  # type: ignore[arg-type]
            stored = [z.store(i, p) for i, p in enumerate(random_pages(10))]
            assert not all(stored)
            assert z.shrinker._thread is None and z.stats()["written_back_pages"] == 0
