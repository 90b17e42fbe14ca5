"""The usemem-like workload behind ``acomp zswap`` (and ``acomp seed``'s measured run).

``workers`` threads (the seed's usemem processes) each own a range of
``pages_per_worker`` swap slots and write corpus pages into it as folios
(sizes from ``folio_sizes``, chosen per folio with a seeded RNG; the seed's
16k/32k/64k mix by default).  Every folio is swapped out through
:class:`acomp.zswap.SwapDevice` (zero-page map, then :class:`acomp.zswap.Zswap`,
then the swap file, which lives in a temporary directory) -- i.e. every page
written goes through reclaim, a simplification of usemem under
``memory.high``.  Then every page is swapped back in and compared with what
was written.  :func:`run_workload` returns the metrics, the zswap and swap
counters and the verification result; :mod:`acomp.cli.zswap` renders them.
"""

from __future__ import annotations

import argparse
import array
import contextlib
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import attrs

import acomp
from acomp.cli.corpus import DEFAULT_SEED, Corpus
from acomp.cli.output import Progress
from acomp.cli.pagefacts import percentile
from acomp.request import PAGE_SIZE
from acomp.transform import Transform
from acomp.zswap import SHRINK_STOP, SwapDevice, Zswap

__all__ = ["SEED_MIX", "WorkloadConfig", "folio_plan", "parse_folio_sizes", "run_workload", "size_name"]

#: The seed's "16k/32k/64k" large folios, in pages.
SEED_MIX = (4, 8, 16)
_FOLIO_NAMES = {
    "4k": 1,
    "8k": 2,
    "16k": 4,
    "32k": 8,
    "64k": 16,
    "128k": 32,
    "256k": 64,
    "512k": 128,
    "1m": 256,
    "2m": 512,
}
_FOLIO_HELP = ", ".join(k.upper() if k.endswith("m") else k for k in _FOLIO_NAMES)


def parse_folio_sizes(text: str) -> tuple[int, ...]:
    """``mix`` -> (4, 8, 16); ``64k`` -> (16,); ``16k,2M`` -> (4, 512)  (sizes in pages; argparse type)."""
    t = text.strip().lower()
    if t in ("mix", "seed"):
        return SEED_MIX
    sizes: list[int] = []
    for item in t.split(","):
        item = item.strip().removesuffix("b")
        if item not in _FOLIO_NAMES:
            raise argparse.ArgumentTypeError(f"folio size must be 'mix' or among {_FOLIO_HELP}, got {text!r}")
        sizes.append(_FOLIO_NAMES[item])
    return tuple(sorted(set(sizes)))


def folio_plan(nr_pages: int, sizes: Sequence[int], rng: random.Random) -> list[int]:
    """Folio sizes (pages) that tile ``nr_pages``: random among ``sizes``, smaller at the end."""
    plan: list[int] = []
    left = nr_pages
    ordered = sorted(sizes)
    while left > 0:
        size = rng.choice(ordered)
        if size > left:
            fitting = [s for s in ordered if s <= left]
            size = fitting[-1] if fitting else 1
        plan.append(size)
        left -= size
    return plan


def size_name(pages: int) -> str:
    """``16`` -> ``64kB``; ``512`` -> ``2MB``."""
    kb = pages * PAGE_SIZE // 1024
    return f"{kb // 1024}MB" if kb >= 1024 and kb % 1024 == 0 else f"{kb}kB"


@attrs.define(frozen=True, slots=True)
class WorkloadConfig:
    compressor: str
    batching: bool = True
    workers: int = 4
    pages_per_worker: int = 2048
    folio_sizes: tuple[int, ...] = SEED_MIX
    #: RAM zswap's limit is a percentage of; None: 1.5 x the working set.
    total_ram: int | None = None
    max_pool_percent: int = 20
    accept_threshold_percent: int = 90
    shrinker_enabled: bool = True
    #: Memory pressure after each round's swap-out: the share (%) of ``Zswap.shrinker_count()``
    #: handed to ``Zswap.shrinker_scan`` (kernel: ``shrink_slab``), then zsmalloc compaction.
    pressure_percent: int = 0
    seed: int = DEFAULT_SEED
    params: dict[str, object] = attrs.field(factory=dict)
    #: Repeat whole rounds until at least this many pages were swapped out (None: one round)...
    until_pages: int | None = None
    #: ...or until the rounds took at least this long (seconds).
    until_s: float | None = None
    #: Share of each round's swapped-out pages read back (a zswap load) and dirtied again (stored again).
    refault_percent: int = 0

    @property
    def label(self) -> str:
        return self.compressor + ("" if self.batching else ":nobatch")

    @property
    def nr_pages(self) -> int:
        return self.workers * self.pages_per_worker

    @property
    def ram(self) -> int:
        """``total_ram``, or its default."""
        return self.total_ram or self.nr_pages * PAGE_SIZE * 3 // 2


def _factory(params: dict[str, object]) -> Callable[[str | acomp.Requirement], Transform]:
    """zswap's transform allocator, with the configuration's driver parameters."""

    def make(name: str | acomp.Requirement) -> Transform:
        return acomp.alloc(name, **params)

    return make


def _spawn(
    target: Callable[[int], None],
    n: int,
    errors: list[BaseException],
    on_error: Callable[[], None] | None = None,
) -> list[threading.Thread]:
    """Start ``target(0..n-1)`` in daemon threads; an exception is appended to ``errors`` (then ``on_error()``)."""

    def body(w: int) -> None:
        try:
            target(w)
        except BaseException as exc:  # reported after join
            errors.append(exc)
            if on_error is not None:
                on_error()

    threads = [threading.Thread(target=body, args=(w,), daemon=True) for w in range(n)]
    for t in threads:
        t.start()
    return threads


class _Phase(NamedTuple):
    elapsed: float
    cpu: float


@attrs.define(slots=True, eq=False)
class _Latencies:
    """ns per page of every store (a folio's call divided by its pages) and every load, from all workers."""

    store: array.array[int] = attrs.field(factory=lambda: array.array("Q"))
    load: array.array[int] = attrs.field(factory=lambda: array.array("Q"))
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def add(self, store: array.array[int], load: array.array[int]) -> None:
        with self.lock:
            self.store.extend(store)
            self.load.extend(load)


def _swap_out_all(
    swap: SwapDevice,
    zswap: Zswap,
    cfg: WorkloadConfig,
    plans: Sequence[Sequence[int]],
    page_of: Callable[[int], bytes],
    progress: Progress | None,
    lat: _Latencies,
) -> tuple[_Phase, list[float]]:
    """Every worker swaps out its folios (built before the clock starts); the phase's times and each worker's."""
    barrier = threading.Barrier(cfg.workers + 1)
    worker_time = [0.0] * cfg.workers

    def writer(w: int) -> None:
        folios = []
        off = w * cfg.pages_per_worker
        for size in plans[w]:
            folios.append((off, b"".join(page_of(s) for s in range(off, off + size))))
            off += size
        store = array.array("Q")
        clock = time.perf_counter_ns
        barrier.wait()
        t0 = time.perf_counter()
        for offset, folio in folios:
            c0 = clock()
            swap.swap_out(offset, folio)
            n = len(folio) // PAGE_SIZE
            store.append((clock() - c0) // n)
            if progress is not None:
                progress.update(n)
        worker_time[w] = time.perf_counter() - t0
        lat.add(store, array.array("Q"))

    errors: list[BaseException] = []
    threads = _spawn(writer, cfg.workers, errors, barrier.abort)  # a failed writer frees the others
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    zswap.drain()
    phase = _Phase(time.perf_counter() - t0, time.process_time() - cpu0)
    if errors:
        raise errors[0]
    return phase, worker_time


def _refault_all(
    swap: SwapDevice, cfg: WorkloadConfig, page_of: Callable[[int], bytes], rng: random.Random, lat: _Latencies
) -> tuple[_Phase, int, int]:
    """``refault_percent`` of every worker's pages read back (compared) and dirtied again: (times, refaults, bad)."""
    share = cfg.refault_percent / 100
    picks = [
        sorted(rng.sample(range(cfg.pages_per_worker), round(cfg.pages_per_worker * share))) for _ in range(cfg.workers)
    ]
    bad: list[int] = []

    def toucher(w: int) -> None:
        buf = bytearray(PAGE_SIZE)
        store, load = array.array("Q"), array.array("Q")
        clock = time.perf_counter_ns
        base = w * cfg.pages_per_worker
        for i in picks[w]:
            slot = base + i
            c0 = clock()
            where = swap.swap_in(slot, buf)
            load.append(clock() - c0)
            if where is None or buf != page_of(slot):
                bad.append(slot)
            c0 = clock()
            swap.swap_out(slot, page_of(slot))  # dirtied again: reclaim takes it once more
            store.append(clock() - c0)
        lat.add(store, load)

    errors: list[BaseException] = []
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for t in _spawn(toucher, cfg.workers, errors):
        t.join()
    phase = _Phase(time.perf_counter() - t0, time.process_time() - cpu0)
    if errors:
        raise errors[0]
    return phase, sum(len(p) for p in picks), len(bad)


def _swap_in_all(
    swap: SwapDevice, cfg: WorkloadConfig, page_of: Callable[[int], bytes], progress: Progress | None, lat: _Latencies
) -> tuple[_Phase, int, int]:
    """Every worker swaps its pages back in and compares them: the phase's times, mismatched and missing pages."""
    bad: list[int] = []
    missing: list[int] = []

    def reader(w: int) -> None:
        buf = bytearray(PAGE_SIZE)
        load = array.array("Q")
        clock = time.perf_counter_ns
        base = w * cfg.pages_per_worker
        for slot in range(base, base + cfg.pages_per_worker):
            c0 = clock()
            where = swap.swap_in(slot, buf)
            load.append(clock() - c0)
            if where is None:
                missing.append(slot)
            elif buf != page_of(slot):
                bad.append(slot)
            if progress is not None:
                progress.update()
        lat.add(array.array("Q"), load)

    errors: list[BaseException] = []
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for t in _spawn(reader, cfg.workers, errors):
        t.join()
    phase = _Phase(time.perf_counter() - t0, time.process_time() - cpu0)
    if errors:
        raise errors[0]
    return phase, len(bad), len(missing)


def _more(cfg: WorkloadConfig, rounds: int, elapsed: float) -> bool:
    """Whether another round is due: one at least, then until both targets (when given) are reached."""
    if rounds == 0:
        return True
    pages_due = cfg.until_pages is not None and rounds * cfg.nr_pages < cfg.until_pages
    time_due = cfg.until_s is not None and elapsed < cfg.until_s
    return pages_due or time_due


#: kernel: ``SHRINK_BATCH``, the objects ``do_shrink_slab`` hands a shrinker per scan call.
SHRINK_BATCH = 128


def _memory_pressure(zswap: Zswap, percent: int) -> tuple[int, int]:
    """One reclaim pass over zswap's shrinkers: (pages written back, zsmalloc pages freed).

    As ``shrink_slab``: ask ``count_objects`` (``zswap_shrinker_count``), then
    ``scan_objects`` in ``SHRINK_BATCH`` pieces until ``percent`` of the count is
    scanned or the shrinker says ``SHRINK_STOP``; then zsmalloc's own shrinker
    (compaction).  ``shrinker_count()`` is 0 while ``shrinker_enabled`` is off,
    so the pass then writes nothing back.
    """
    todo = zswap.shrinker_count() * percent // 100
    written = 0
    while todo > 0:
        got = zswap.shrinker_scan(min(SHRINK_BATCH, todo))
        if got == SHRINK_STOP:
            break
        written += got
        todo -= SHRINK_BATCH
    return written, zswap.compact()


def planned_rounds(cfg: WorkloadConfig) -> int | None:
    """Rounds the page target asks for (None when a duration decides)."""
    if cfg.until_s is not None:
        return None
    return max(1, -(-(cfg.until_pages or 0) // cfg.nr_pages))


def run_workload(cfg: WorkloadConfig, corpus: Corpus, progress: Progress | None = None) -> dict[str, Any]:
    """Run one configuration in rounds (swap out, refault, swap in and verify); metrics, counters, verification.

    Times and counters are summed over the rounds; the gauges ``after swap-out`` are the last round's.
    """
    rng = random.Random(f"{cfg.seed}:folios")
    touch_rng = random.Random(f"{cfg.seed}:refault")
    pages = corpus.pages
    npages = len(pages)

    def page_of(slot: int) -> bytes:
        return pages[slot % npages]

    out = back = touched = _Phase(0.0, 0.0)
    worker_time = [0.0] * cfg.workers
    mismatched = nr_missing = refaults = refault_bad = rounds = 0
    pressure_scanned = pressure_compacted = 0
    lat = _Latencies()
    with tempfile.TemporaryDirectory(prefix="acomp-zswap-") as tmp:
        zswap = Zswap(
            cfg.compressor,
            max_pool_percent=cfg.max_pool_percent,
            accept_threshold_percent=cfg.accept_threshold_percent,
            shrinker_enabled=cfg.shrinker_enabled,
            total_ram=cfg.ram,
            transform_factory=_factory(cfg.params),
            batching=cfg.batching,
        )
        try:
            swap = SwapDevice(os.path.join(tmp, "swapfile"), zswap=zswap, nr_slots=cfg.nr_pages)
            with swap:
                driver = zswap.pool.tfm.driver_name
                ctx = zswap.pool.get_ctx()
                nr_reqs = ctx.nr_reqs if ctx is not None else 1
                while _more(cfg, rounds, out.elapsed + touched.elapsed + back.elapsed):
                    plans = [folio_plan(cfg.pages_per_worker, cfg.folio_sizes, rng) for _ in range(cfg.workers)]
                    o, wt = _swap_out_all(swap, zswap, cfg, plans, page_of, progress, lat)
                    if cfg.pressure_percent:
                        scanned, compacted = _memory_pressure(zswap, cfg.pressure_percent)
                        pressure_scanned += scanned
                        pressure_compacted += compacted
                    after_out = dict(zswap.stats())
                    if cfg.refault_percent:
                        t, n, b = _refault_all(swap, cfg, page_of, touch_rng, lat)
                        touched, refaults, refault_bad = _sum(touched, t), refaults + n, refault_bad + b
                    i, bad, miss = _swap_in_all(swap, cfg, page_of, progress, lat)
                    out, back = _sum(out, o), _sum(back, i)
                    worker_time = [a + b for a, b in zip(worker_time, wt)]
                    mismatched, nr_missing, rounds = mismatched + bad, nr_missing + miss, rounds + 1
                final = dict(zswap.stats())
                swap_stats = swap.stats()
        finally:
            zswap.close()

    total_kb = rounds * cfg.nr_pages * PAGE_SIZE / 1024
    zswpout = final.get("zswpout")
    if not isinstance(zswpout, int):
        zswpout = 0
    return {
        "config": {
            "compressor": cfg.compressor,
            "driver": driver,
            "batching": cfg.batching,
            "nr_reqs": nr_reqs,
            "workers": cfg.workers,
            "pages_per_worker": cfg.pages_per_worker,
            "folio_sizes": [size_name(s) for s in cfg.folio_sizes],
            "total_ram": cfg.ram,
            "max_pool_percent": cfg.max_pool_percent,
            "accept_threshold_percent": cfg.accept_threshold_percent,
            "shrinker_enabled": cfg.shrinker_enabled,
            "pressure_percent": cfg.pressure_percent,
            "refault_percent": cfg.refault_percent,
            "corpus": corpus.description,
            "corpus_digest": corpus.digest,
        },
        "metrics": {
            "rounds": rounds,
            "total_throughput_kb_s": total_kb / out.elapsed if out.elapsed > 0 else None,
            "avg_throughput_kb_s": (
                sum(rounds * cfg.pages_per_worker * PAGE_SIZE / 1024 / t for t in worker_time if t > 0) / cfg.workers
            ),
            "elapsed_s": out.elapsed,
            "cpu_s": out.cpu,
            "cpu_us_per_zswpout": (out.cpu + touched.cpu) / zswpout * 1e6 if zswpout else None,
            "refaults": refaults,
            "pressure_written_back": pressure_scanned,
            "pressure_compacted_pages": pressure_compacted,
            "refault_elapsed_s": touched.elapsed,
            "swapin_elapsed_s": back.elapsed,
            "swapin_cpu_s": back.cpu,
            "swapin_throughput_kb_s": total_kb / back.elapsed if back.elapsed > 0 else None,
            "store_ns_per_page": _quantiles(lat.store),
            "load_ns": _quantiles(lat.load),
        },
        "zswap_after_swapout": after_out,
        "zswap": final,
        "swap": swap_stats,
        "verify": {
            "pages": rounds * cfg.nr_pages + refaults,
            "mismatched": mismatched + refault_bad,
            "missing": nr_missing,
        },
        "source": "measured here",
    }


def _sum(a: _Phase, b: _Phase) -> _Phase:
    return _Phase(a.elapsed + b.elapsed, a.cpu + b.cpu)


def _quantiles(values: array.array[int]) -> dict[str, float | None]:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99)}
