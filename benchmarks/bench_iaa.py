"""Benchmark of the emulated IAA (deflate-iaa): real wall time and the virtual clock.

Run: ``python benchmarks/bench_iaa.py [--rounds N]``.  Prints

* the cost of handing work to a thread (ThreadPoolExecutor.submit, a Condition
  hand-off), which bounds how much a batch can gain on this machine;
* for each codec: ``batch_compress`` of 8 pages in ``async`` mode vs 8
  sequential ``compress`` calls in ``sync`` mode, vs one ``batch_compress`` of
  8 in ``sync`` mode (sync request chaining), and vs 8 plain in-thread codec
  calls (no device at all): medians of interleaved rounds, per page;
* the virtual-clock batch latency table beside the seed's.

Pages are 4 KiB chunks of real files (Python stdlib sources, shared libraries).
Wall times on a shared 2-core VM are noisy: read the medians, not single runs.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import acomp_iaa
from acomp_iaa import SEED_LATENCY, DeflateIaaDriver, simulate_batch_latency
from acomp_iaa.fixed import HAVE_ISAL, deflate_fixed

PAGE = 4096


def real_pages(limit: int = 256) -> list[bytes]:
    files = sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py")))
    files += sorted(glob.glob("/usr/lib/x86_64-linux-gnu/*.so*"))[:40]
    pages: list[bytes] = []
    for path in files:
        try:
            with open(path, "rb") as f:
                data = f.read(16 * PAGE)
        except OSError:
            continue
        pages += [data[i : i + PAGE] for i in range(0, len(data) - PAGE + 1, PAGE)]
        if len(pages) >= limit:
            break
    return pages[:limit]


def dispatch_costs(n: int = 2000) -> tuple[float, float]:
    """Round-trip µs: executor submit+result, and Condition notify + Event reply."""
    with ThreadPoolExecutor(1) as ex:
        ex.submit(int).result()
        t0 = time.perf_counter()
        for _ in range(n):
            ex.submit(int).result()
        pool_us = (time.perf_counter() - t0) / n * 1e6
    cv = threading.Condition()
    box: list[int] = []
    reply = threading.Event()
    stop = False

    def worker() -> None:
        while True:
            with cv:
                while not box and not stop:
                    cv.wait()
                if stop:
                    return
                box.pop()
            reply.set()

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    t0 = time.perf_counter()
    for _ in range(n):
        reply.clear()
        with cv:
            box.append(1)
            cv.notify()
        reply.wait()
    cv_us = (time.perf_counter() - t0) / n * 1e6
    with cv:
        stop = True
        cv.notify()
    t.join()
    return pool_us, cv_us


def bench_codec(codec: str, pages: list[bytes], rounds: int) -> None:
    acomp_iaa.reset()
    acomp_iaa.configure(codec=codec)  # type: ignore[arg-type]
    real_codec = acomp_iaa.subsystem().codec
    caps = [2 * PAGE] * 8
    sync_times: list[float] = []
    chain_times: list[float] = []
    async_times: list[float] = []
    irq_times: list[float] = []
    inline_times: list[float] = []

    def timed(fn: Callable[[], object], out: list[float]) -> None:
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)

    for r in range(rounds):
        batch = [pages[(r * 8 + i) % len(pages)] for i in range(8)]
        for mode, out in (("sync", sync_times), ("async", async_times), ("async_irq", irq_times)):
            acomp_iaa.set_driver_attr("sync_mode", mode)
            drv = DeflateIaaDriver()
            if mode == "sync":
                timed(lambda: [drv.compress(p, 2 * PAGE) for p in batch], out)  # noqa: B023
                timed(lambda: drv.batch_compress(batch, caps), chain_times)  # noqa: B023
            else:
                timed(lambda: drv.batch_compress(batch, caps), out)  # noqa: B023
            drv.close()
        timed(lambda: [deflate_fixed(p, real_codec) for p in batch], inline_times)  # noqa: B023

    def med_us(v: list[float]) -> float:
        return statistics.median(v) * 1e6

    s, a, i, n = med_us(sync_times), med_us(async_times), med_us(irq_times), med_us(inline_times)
    c = med_us(chain_times)
    print(f"\ncodec {real_codec}: {rounds} interleaved rounds of 8 pages (median wall time)")
    print(f"  8 x compress(), sync mode        {s:8.1f} µs  ({s / 8:6.1f} µs/page)")
    print(f"  batch_compress(8), sync mode     {c:8.1f} µs  ({c / 8:6.1f} µs/page)")
    print(f"  batch_compress(8), async mode    {a:8.1f} µs  ({a / 8:6.1f} µs/page)")
    print(f"  batch_compress(8), async_irq     {i:8.1f} µs  ({i / 8:6.1f} µs/page)")
    print(f"  8 x plain codec call (no device) {n:8.1f} µs  ({n / 8:6.1f} µs/page)")
    print(f"  ratio async batch / 8 sync calls   {a / s:5.2f}   (goal <= 0.60)")
    print(f"  ratio async batch / 8 plain calls  {a / n:5.2f}")
    print(f"  ratio async_irq / 8 sync calls     {i / s:5.2f}")
    acomp_iaa.reset()


def virtual_table(n_batches: int) -> None:
    print(f"\nvirtual clock: batch of 8 pages, seed machine, {n_batches} batches (ns)")
    print(f"  {'mode':24} {'mean':>8} {'p50':>8} {'p99':>8}   {'seed mean':>9} {'p50':>8} {'p99':>8}")
    names = {
        "async_polling": "async polling (v4)",
        "sync": "sync request chaining",
        "async": "async request chaining",
        "async_irq": "async_irq (no seed row)",
    }
    for mode in ("async_polling", "sync", "async", "async_irq"):
        ours = simulate_batch_latency(mode, n_batches=n_batches, seed=0)  # type: ignore[arg-type]
        seed = SEED_LATENCY.get(mode)
        row = f"  {names[mode]:24} {ours.mean:8.0f} {ours.p50:8.0f} {ours.p99:8.0f}"
        if seed is not None:
            row += f"   {seed.mean:9.0f} {seed.p50:8.0f} {seed.p99:8.0f}"
            row += (
                "   ("
                + ", ".join(f"{getattr(ours, f) / getattr(seed, f) - 1:+.1%}" for f in ("mean", "p50", "p99"))
                + ")"
            )
        print(row)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--batches", type=int, default=20_000)
    args = ap.parse_args()
    pages = real_pages()
    print(f"{len(pages)} real 4 KiB pages; {os.cpu_count()} CPUs; isal {'yes' if HAVE_ISAL else 'no'}")
    pool_us, cv_us = dispatch_costs()
    print(f"thread dispatch round trip: ThreadPoolExecutor.submit {pool_us:.1f} µs, Condition hand-off {cv_us:.1f} µs")
    for codec in (["isal"] if HAVE_ISAL else []) + ["zlib"]:
        bench_codec(codec, pages, args.rounds)
    virtual_table(args.batches)


if __name__ == "__main__":
    main()
