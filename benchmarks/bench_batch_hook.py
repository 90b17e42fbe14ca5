"""When does a thread-pool batch hook pay?  (issue 17 item 2; docs/plugins.md "When a batch hook pays")

For each codec, 8 pages at a time through three drivers that differ only in
their batch hook (``tfm.batch_compress`` for the two with one):

* ``loop``   -- no hook: ``tfm.compress`` page by page;
* ``pool``   -- the pattern plugins.md used to document: ``pool.map`` of one unit per task
  over a 4-worker ``ThreadPoolExecutor``;
* ``slices`` -- one slice of the batch per worker (2 workers, each compresses its slice).

Pages are the corpus's 4 KiB pages (text, binary, mixed, zero).  Figures are
pages/s, best of ``--repeat`` runs, the three drivers interleaved (order
rotating each round), and the ratio against ``loop``.  Nothing asserts a time.
Run: ``python benchmarks/bench_batch_hook.py [--pages 4000] [--repeat 5] [--json]``.
"""

from __future__ import annotations

import argparse
import bz2
import json
import lzma
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import lz4.block

import acomp
from acomp.driver import BufferLike, Driver, Feature, RegisterDriver, Result, hookimpl
from acomp.testing.strategies import make_page

BATCH = 8

#: codec name -> one-page compress (each releases the GIL while it works).
CODECS: dict[str, Callable[[BufferLike], bytes]] = {
    "lz4": lambda src: lz4.block.compress(src, store_size=False),
    "zlib-1": lambda src: zlib.compress(src, 1),
    "zlib-6": lambda src: zlib.compress(src, 6),
    "bz2-9": lambda src: bz2.compress(src, 9),
    "xz-6": lambda src: lzma.compress(src, preset=6),
}


def _one(fn: Callable[[BufferLike], bytes], src: BufferLike, cap: int) -> Result:
    out = fn(src)
    return out if len(out) <= cap else acomp.NoSpace("does not fit")


def _drivers(codec: str) -> list[type[Driver]]:
    fn = CODECS[codec]

    class Loop(Driver):
        alg_name = f"bench-{codec}"
        driver_name = f"bench-{codec}-loop"
        priority = 10

        def compress(self, src: BufferLike, capacity: int) -> bytes:
            out = fn(src)
            if len(out) > capacity:
                raise acomp.NoSpace("does not fit")
            return out

        def compress_bound(self, slen: int) -> int:
            return slen + slen // 8 + 1024

    class Pool(Loop):
        driver_name = f"bench-{codec}-pool"
        batch_size = BATCH
        async_batching = True
        features = Feature.REQ_CHAIN

        def __init__(self, **params: object) -> None:
            super().__init__(**params)
            self._pool = ThreadPoolExecutor(max_workers=4)

        def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[Result]:
            return list(self._pool.map(_one, [fn] * len(srcs), srcs, capacities))

        def close(self) -> None:
            self._pool.shutdown()

    class Slices(Pool):
        driver_name = f"bench-{codec}-slices"

        def __init__(self, **params: object) -> None:
            super().__init__(**params)
            self._pool = ThreadPoolExecutor(max_workers=2)

        def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[Result]:
            half = (len(srcs) + 1) // 2

            def run(lo: int, hi: int) -> list[Result]:
                return [_one(fn, s, c) for s, c in zip(srcs[lo:hi], capacities[lo:hi])]

            parts = list(self._pool.map(run, (0, half), (half, len(srcs))))
            return parts[0] + parts[1]

    return [Loop, Pool, Slices]


class _Plugin:
    def __init__(self, drivers: list[type[Driver]]) -> None:
        self.drivers = drivers

    @hookimpl
    def acomp_register_drivers(self, register: RegisterDriver) -> None:
        for cls in self.drivers:
            register(cls)


def _pages(n: int) -> list[bytes]:
    kinds = ("text", "binary", "mixed", "text", "zero")
    return [make_page(kinds[i % len(kinds)], i) for i in range(n)]


def _rate(tfm: acomp.Transform, pages: list[bytes]) -> float:
    cap = tfm.driver.compress_bound(acomp.PAGE_SIZE)
    dsts = [bytearray(cap) for _ in range(BATCH)]
    t0 = time.perf_counter()
    for i in range(0, len(pages) - BATCH + 1, BATCH):
        reqs = [acomp.Request(p, dst=d) for p, d in zip(pages[i : i + BATCH], dsts)]
        if tfm.batch_size == 1:  # no batch hook: the pages one by one
            for r in reqs:
                tfm.compress(r)
        elif not tfm.batch_compress(reqs):
            raise SystemExit(f"{tfm.driver_name}: a batch failed")
    return (len(pages) // BATCH * BATCH) / (time.perf_counter() - t0)


def measure(codecs: Sequence[str], n_pages: int, repeat: int) -> dict[str, dict[str, float]]:
    pages = _pages(n_pages)
    results: dict[str, dict[str, float]] = {}
    for codec in codecs:
        drivers = _drivers(codec)
        name = acomp.driver.register_plugin(_Plugin(drivers), f"bench-batch-hook-{codec}")
        assert name is not None
        try:
            tfms = [acomp.alloc(d.driver_name) for d in drivers]
            best = {t.driver_name.rsplit("-", 1)[1]: 0.0 for t in tfms}
            for r in range(repeat):
                order = tfms[r % 3 :] + tfms[: r % 3]
                for t in order:
                    key = t.driver_name.rsplit("-", 1)[1]
                    best[key] = max(best[key], _rate(t, pages))
            for t in tfms:
                t.close()
            results[codec] = best
        finally:
            acomp.driver.unregister_plugin(name)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("codecs", nargs="*", metavar="CODEC", help=f"of {', '.join(CODECS)} (default: all)")
    args = ap.parse_args(argv)
    unknown = set(args.codecs) - set(CODECS)
    if unknown:
        ap.error(f"unknown codec(s) {sorted(unknown)}; choose from {', '.join(CODECS)}")
    results = measure(args.codecs or list(CODECS), args.pages, args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'codec':8} {'loop p/s':>10} {'pool p/s':>10} {'pool/loop':>9} {'slices p/s':>10} {'slices/loop':>11}")
    for codec, r in results.items():
        row: dict[str, Any] = r
        print(
            f"{codec:8} {row['loop']:10.0f} {row['pool']:10.0f} {row['pool'] / row['loop']:9.2f} "
            f"{row['slices']:10.0f} {row['slices'] / row['loop']:11.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
