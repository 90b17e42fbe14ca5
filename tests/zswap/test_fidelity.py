"""The kernel behaviours zswap models (FIDELITY rows Z3-Z9), each against what the code did before.

Z3 single pages are never batched; Z4 per-CPU contexts allocated at pool
creation, threads on one CPU share a mutex; Z5/Z6 the limit-driven worker
writes back whatever ``shrinker_enabled`` says, the memory-pressure shrinker
counts and scans the one global LRU; Z8 zsmalloc compaction through zswap;
Z9 the metadata estimate beside ``pool_total_size``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from zswap_helpers import text_pages

import acomp
from acomp import PAGE_SIZE
from acomp.zswap import SHRINK_STOP, SwapDevice, Zswap
from acomp.zswap.shrinker import MAX_RECLAIM_RETRIES
from acomp.zswap.stats import XA_NODE_SIZE, ZS_HANDLE_BYTES, ZSWAP_ENTRY_SIZE

WAIT = 10.0  # seconds any one thread step may take before the test fails (never reached when it works)


class CountingTfm:
    """A real transform that counts the calls zswap makes on it."""

    def __init__(self, tfm: acomp.Transform, log: list[str]) -> None:
        self._tfm = tfm
        self._log = log

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tfm, name)

    def compress(self, req: acomp.Request) -> int:
        self._log.append("compress")
        return self._tfm.compress(req)

    def batch_compress(self, reqs: list[acomp.Request]) -> bool:
        self._log.append(f"batch{len(reqs)}")
        return self._tfm.batch_compress(reqs)


class FakeSwap:
    """A writeback target that records the order slots are written in."""

    def __init__(self) -> None:
        self.pages: dict[int, bytes] = {}
        self.order: list[int] = []
        self._lock = threading.Lock()

    def slot_lock(self, offset: int) -> threading.Lock:
        return self._lock

    def write_slot(self, offset: int, page: Any) -> None:
        self.pages[offset] = bytes(page)
        self.order.append(offset)


# -- Z3: batches only for folios of more than one page ----------------------------------------


def test_a_single_page_is_never_batched() -> None:
    """v5 zswap_compress_folio batches only when nr_pages > 1 (was: a batch of one)."""
    log: list[str] = []
    with Zswap("ztest", transform_factory=lambda n: CountingTfm(acomp.alloc(n), log), nr_cpus=1) as z:  # type: ignore[arg-type, return-value]
        assert z.pool.ctxs[0].nr_reqs == 8
        assert z.store(0, text_pages(1)[0])
        assert log == ["compress"]
        log.clear()
        assert z.store(16, b"".join(text_pages(16)))
        assert log == ["batch8", "batch8"]
        log.clear()
        assert z.store(32, b"".join(text_pages(3)))
        assert log == ["batch3"]


# -- Z4: per-CPU contexts -------------------------------------------------------------------


def test_one_context_per_cpu_allocated_with_the_pool() -> None:
    made: list[str] = []

    def factory(name: object) -> acomp.Transform:
        tfm = acomp.alloc(name)  # type: ignore[arg-type]
        made.append(tfm.driver_name)
        return tfm

    with Zswap("ztest1", transform_factory=factory, nr_cpus=3) as z:  # type: ignore[arg-type]
        assert made == ["ztest-single"] * 3  # before any store (kernel: CPU hotplug prepare)
        assert [c.cpu for c in z.pool.ctxs] == [0, 1, 2]
        assert len({id(c.tfm) for c in z.pool.ctxs}) == 3 and len({id(c.lock) for c in z.pool.ctxs}) == 3
        assert z.stats()["pools"][0]["contexts"] == 3  # type: ignore[index]
        z.set_compressor("ztest")
        assert len(made) == 6 and z.pool.info()["contexts"] == 3
    with Zswap("ztest1") as z:
        assert z.cpus.nr == len(__import__("os").sched_getaffinity(0))  # default: the CPUs we may run on


class RecordingLock:
    """A lock that tells who had to wait for it (taken with ``with`` or ``acquire()``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waited: list[str] = []
        self.cond = threading.Condition()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def acquire(self, blocking: bool = True) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        with self.cond:
            self.waited.append(threading.current_thread().name)
            self.cond.notify_all()
        return self._lock.acquire()

    def release(self) -> None:
        self._lock.release()


class GateTfm(CountingTfm):
    """Blocks a compression of the thread named ``hold`` until ``go`` is set."""

    inside = threading.Event()
    go = threading.Event()

    def compress(self, req: acomp.Request) -> int:
        if threading.current_thread().name == "hold":
            GateTfm.inside.set()
            assert GateTfm.go.wait(WAIT)
        return self._tfm.compress(req)


def test_threads_on_one_cpu_contend_for_its_context_and_other_cpus_do_not() -> None:
    """Tasks on one CPU share its mutex (was: a context per thread, so no one ever waited)."""
    GateTfm.inside.clear()
    GateTfm.go.clear()
    with Zswap("ztest1", transform_factory=lambda n: GateTfm(acomp.alloc(n), []), nr_cpus=2) as z:  # type: ignore[arg-type, return-value]
        locks = [RecordingLock(), RecordingLock()]
        for ctx, lock in zip(z.pool.ctxs, locks):
            ctx.lock = lock  # type: ignore[assignment]
        results: dict[str, bool] = {}

        def run(cpu: int, offset: int) -> None:
            z.cpus.bind(cpu)
            results[threading.current_thread().name] = z.store(offset, text_pages(1, seed=offset)[0])

        hold = threading.Thread(target=run, args=(0, 0), name="hold")
        hold.start()
        assert GateTfm.inside.wait(WAIT)  # "hold" is compressing, CPU 0's mutex held
        same = threading.Thread(target=run, args=(0, 1), name="same-cpu")
        same.start()
        with locks[0].cond:
            assert locks[0].cond.wait_for(lambda: "same-cpu" in locks[0].waited, WAIT)
        other = threading.Thread(target=run, args=(1, 2), name="other-cpu")
        other.start()
        other.join(WAIT)
        assert results.get("other-cpu") is True  # CPU 1 stored while CPU 0 was busy
        assert "same-cpu" not in results  # still waiting for CPU 0's mutex
        GateTfm.go.set()
        hold.join(WAIT)
        same.join(WAIT)
        assert results == {"hold": True, "same-cpu": True, "other-cpu": True}
        assert locks[1].waited == [] and locks[0].waited == ["same-cpu"]
        z.verify()


def test_threads_are_placed_round_robin_and_bind_pins() -> None:
    with Zswap("ztest1", nr_cpus=2) as z:
        seen: list[int] = []
        threads = [threading.Thread(target=lambda: seen.append(z.cpus.current())) for _ in range(4)]
        for t in threads:
            t.start()
            t.join(WAIT)
        assert sorted(seen) == [0, 0, 1, 1]
        with pytest.raises(acomp.InvalidArgument):
            z.cpus.bind(2)


# -- Z5, Z6: the worker, the shrinker, the global LRU ------------------------------------------


def fill_to_limit(z: Zswap) -> int:
    """Store distinct text pages until a store is refused; return how many went in."""
    i = 0
    while z.store(i, text_pages(1, seed=i)[0]):
        i += 1
        assert i < 10_000
    return i


def test_shrinker_disabled_still_writes_back_at_the_limit_and_counts_zero() -> None:
    """shrinker_enabled gates only the memory-pressure shrinker (was: it stopped limit writeback too)."""
    swap = FakeSwap()
    with Zswap("ztest1", swap=swap, total_ram=400 * PAGE_SIZE, shrink_async=False) as z:
        assert z.shrinker_enabled is False  # the kernel's default (ZSWAP_SHRINKER_DEFAULT_ON=n)
        stored = fill_to_limit(z)
        # Every refused store runs the worker; each run rotates up to 16 referenced
        # entries (its failures; 15 when the memcg walk starts at the end of the
        # tree), so writeback starts once they have all rotated.
        for k in range(stored // 10):
            if z.stats()["written_back_pages"]:
                break
            assert not z.store(stored + k, text_pages(1, seed=stored + k)[0])
        assert stored // 16 <= k < stored // 10
        st = z.stats()
        assert st["pool_limit_hit"] >= 1 and st["written_back_pages"] > 0 and swap.pages
        assert z.shrinker_count() == 0 and z.shrinker_scan(16) == SHRINK_STOP
        z.shrinker_enabled = True
        assert z.shrinker_count() > 0
        z.verify()


def test_shrinker_count_is_scaled_by_the_compression_ratio_less_disk_swapins() -> None:
    with Zswap("ztest1", swap=FakeSwap(), shrinker_enabled=True) as z:
        assert z.shrinker_count() == 0  # nothing stored
        for i in range(40):
            assert z.store(i, text_pages(1, seed=i)[0])
        stored, backing = z.stored_pages(), z.total_pages()
        assert z.shrinker_count() == stored * backing // stored == backing
        for _ in range(10):
            z.folio_swapin()
        assert z.shrinker_count() == (stored - 10) * backing // stored  # ... and consumed
        assert z.nr_disk_swapins == 0 and z.shrinker_count() == backing
        z.writeback_enabled = False
        assert z.shrinker_count() == 0


def test_scan_writes_back_in_global_lru_order_after_one_rotation() -> None:
    """One LRU for the whole tree (was: 64 shards, each its own order)."""
    swap = FakeSwap()
    order = [5 * 16, 16, 40 * 16 + 3, 0, 7, 3 * 16]  # different shards of the old tree
    with Zswap("ztest1", swap=swap, shrinker_enabled=True) as z:
        for off in order:
            assert z.store(off, text_pages(1, seed=off)[0])
        assert z.shrinker_scan(len(order)) == SHRINK_STOP  # all referenced: rotated, nothing freed
        assert swap.order == []
        assert z.shrinker_scan(4) == 4
        assert swap.order == order[:4]
        assert z.store(order[0], text_pages(1, seed=1)[0])  # a new store goes to the tail, referenced
        assert z.shrinker_scan(3) == 2 and swap.order == order  # the referenced newcomer rotated
        assert z.stats()["reject_reclaim_fail"] == 0  # a rotation is no reclaim failure
        z.verify()


def test_scan_stops_at_a_slot_being_swapped(tmp_path: Path) -> None:
    """-EEXIST (the folio is in the swap cache): the dynamic shrinker stops."""
    with Zswap("ztest1", shrinker_enabled=True) as z, SwapDevice(tmp_path / "s", z, 64) as dev:
        for k in range(3):
            dev.swap_out(16 * k, b"".join(text_pages(2, seed=k)))
        assert z.shrinker_scan(6) == SHRINK_STOP  # rotate all six
        with dev.slot_lock(0):  # slot 0 is being swapped in or out
            assert z.shrinker_scan(6) == SHRINK_STOP
        assert z.stats()["written_back_pages"] == 0 and z.stats()["reject_reclaim_fail"] == 1
        assert z.shrinker_scan(6) == 6  # slot 0 was rotated to the tail before the attempt: all go
        z.verify()


def test_worker_counts_rotations_as_failures_and_gives_up_after_16() -> None:
    """shrink_worker: a step that writes nothing is a failure; MAX_RECLAIM_RETRIES end it."""
    swap = FakeSwap()
    with Zswap("ztest1", swap=swap, total_ram=400 * PAGE_SIZE, shrink_async=False) as z:
        z.max_pool_percent = 100  # fill without reaching the limit
        for i in range(20):
            assert z.store(i, text_pages(1, seed=i)[0])
        z.max_pool_percent = 1  # now over it: 4 pages allowed, accept again at 3
        assert z.total_pages() > z.accept_thr_pages()
        z.shrinker.shrink_worker()
        assert swap.order == []  # 16 referenced entries rotated: 16 failures, it gave up
        assert MAX_RECLAIM_RETRIES == 16 and z.stats()["reject_reclaim_fail"] == 0
        z.shrinker.shrink_worker()  # 4 more rotations, then the oldest go, in LRU order
        assert swap.order and swap.order == list(range(len(swap.order)))
        assert z.total_pages() <= z.accept_thr_pages()
        z.verify()


# -- Z8: compaction through zswap -------------------------------------------------------------


def test_compaction_lowers_pool_total_size_after_frees() -> None:
    pages = text_pages(300)
    with Zswap("ztest1") as z:
        for i, p in enumerate(pages):
            assert z.store(i, p)
        for i in range(0, 300, 3):  # a third freed, spread over every zspage
            assert z.invalidate(i)
        before = z.pool_total_size()
        assert z.pool.zs.shrinker_count() > 0
        freed = z.compact()
        assert freed > 0 and z.pool_total_size() == before - freed * PAGE_SIZE
        out = bytearray(PAGE_SIZE)
        for i, p in enumerate(pages):  # every page survives the move
            if i % 3:
                assert z.load(i, out) and out == p
        z.verify()


# -- Z9: what pool_total_size leaves out ------------------------------------------------------


def test_stats_report_a_metadata_estimate_beside_pool_total_size() -> None:
    with Zswap("ztest1") as z:
        assert z.stats()["metadata_size_estimate"] == 0
        for i in range(64):  # one xarray leaf
            z.store(i, text_pages(1, seed=i)[0])
        per_page = ZSWAP_ENTRY_SIZE + ZS_HANDLE_BYTES
        assert z.stats()["metadata_size_estimate"] == 64 * per_page + XA_NODE_SIZE
        z.store(64 * 64 * 3, text_pages(1)[0])  # far away: a leaf and the nodes above it
        st = z.stats()
        # Two leaves, two nodes over them, the root: a 3-level xarray.
        assert st["metadata_size_estimate"] == 65 * per_page + 5 * XA_NODE_SIZE
