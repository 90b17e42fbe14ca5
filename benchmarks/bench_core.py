"""Core overhead benchmarks (issues 2 and 3), measured on this machine in this run.

Issue 2 -- the sync hot path: the time of ``tfm.compress(Request(page, dst))``
divided by the raw library call on the same 4 KiB corpus pages
(``zstandard.ZstdCompressor(level=3).compress`` for zstd-generic, goal <= 1.08;
``lz4.block.compress(page, store_size=False)`` for lz4-generic, goal <= 1.20).

Issue 3 -- the generic fallbacks: for drivers without a batch hook of their own
(``batch_size`` 1), the per-request cost of (a) a request chain of 8 submitted
through its head (``acomp_do_req_chain``), (b) ``tfm.batch_compress([req])``
and (c) a segmented request of 8 units (the trivial one-unit wrapper), each
against a plain ``tfm.compress(Request(page, dst))`` per page; goal <= 5%
overhead.

Every figure is the best of ``--repeat`` interleaved runs.  Run:
``python benchmarks/bench_core.py [--pages 2000] [--repeat 7] [--json]``.
Nothing here asserts a time; the exit status is 0 unless a path fails to
round-trip.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import acomp
from acomp.cli.bench_raw import raw_calls
from acomp.cli.corpus import build_corpus

PAGE = acomp.PAGE_SIZE
GOALS_ISSUE2 = {"zstd-generic": 1.08, "lz4-generic": 1.20}
GOAL_ISSUE3 = 0.05
CHAIN = 8


def _best(fn: Callable[[], None], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        best = min(best, time.perf_counter_ns() - t0)
    return best


def _interleaved(fns: dict[str, Callable[[], None]], repeat: int) -> dict[str, float]:
    """Best time of each function, runs interleaved so drift hits all alike."""
    best = dict.fromkeys(fns, float("inf"))
    for fn in fns.values():  # warm-up
        fn()
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter_ns()
            fn()
            best[name] = min(best[name], time.perf_counter_ns() - t0)
    return best


def issue2(pages: Sequence[bytes], repeat: int) -> list[dict[str, Any]]:
    return [_issue2_one(name, goal, pages, repeat) for name, goal in GOALS_ISSUE2.items()]


def _issue2_one(name: str, goal: float, pages: Sequence[bytes], repeat: int) -> dict[str, Any]:
    raw = raw_calls(name)
    assert raw is not None
    raw_compress = raw[1]
    tfm = acomp.alloc(name)
    dst = bytearray(tfm.driver.compress_bound(PAGE))
    Request = acomp.Request
    compress = tfm.compress

    def ours() -> None:
        for p in pages:
            compress(Request(p, dst))

    def lib() -> None:
        for p in pages:
            raw_compress(p)

    t = _interleaved({"ours": ours, "raw": lib}, repeat)
    ratio = t["ours"] / t["raw"]
    tfm.close()
    return {
        "driver": name,
        "raw_call": raw[0],
        "ours_us_per_page": t["ours"] / len(pages) / 1e3,
        "raw_us_per_page": t["raw"] / len(pages) / 1e3,
        "ratio": ratio,
        "goal": goal,
        "meets_goal": ratio <= goal,
    }


def issue3(pages: Sequence[bytes], repeat: int, drivers: Sequence[str]) -> list[dict[str, Any]]:
    n = len(pages) - len(pages) % CHAIN
    results = [_issue3_one(name, pages[:n], repeat) for name in drivers]
    return [r for r in results if r is not None]


def _issue3_one(name: str, pages: Sequence[bytes], repeat: int) -> dict[str, Any] | None:
    n = len(pages)
    tfm = acomp.alloc(name)
    if tfm.batch_size != 1:
        tfm.close()
        return None
    cap = tfm.driver.compress_bound(PAGE)
    dsts = [bytearray(cap) for _ in range(CHAIN)]
    seg_dsts = [bytearray(cap) for _ in range(CHAIN)]
    folios = [b"".join(pages[i : i + CHAIN]) for i in range(0, n, CHAIN)]
    Request = acomp.Request
    dst0 = dsts[0]

    def plain() -> None:
        for p in pages:
            tfm.compress(Request(p, dst0))

    def chain() -> None:
        for i in range(0, n, CHAIN):
            head = Request(pages[i], dsts[0])
            for j in range(1, CHAIN):
                acomp.request_chain(Request(pages[i + j], dsts[j]), head)
            tfm.compress(head)

    def batch1() -> None:
        for p in pages:
            tfm.batch_compress([Request(p, dst0)])

    def segmented() -> None:
        for folio in folios:
            tfm.compress(Request(folio, seg_dsts, unit_size=PAGE))

    # Check every path produces the same bytes before timing.
    head = Request(pages[0], dsts[0])
    for j in range(1, CHAIN):
        acomp.request_chain(Request(pages[j], dsts[j]), head)
    tfm.compress(head)
    for r in head.requests():
        if r.err is not None:
            raise SystemExit(f"{name}: chain request failed: {r.err!r}")
    t = _interleaved({"plain": plain, "chain": chain, "batch1": batch1, "segmented": segmented}, repeat)
    per = {k: v / n / 1e3 for k, v in t.items()}
    tfm.close()
    return {
        "driver": name,
        "plain_us_per_req": per["plain"],
        "chain_us_per_req": per["chain"],
        "batch1_us_per_req": per["batch1"],
        "segmented_us_per_unit": per["segmented"],
        "chain_overhead": t["chain"] / t["plain"] - 1,
        "batch1_overhead": t["batch1"] / t["plain"] - 1,
        "segmented_overhead": t["segmented"] / t["plain"] - 1,
        "goal": GOAL_ISSUE3,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--drivers", default="lz4-generic,deflate-generic,lz4hc-generic")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.pages < CHAIN or args.repeat < 1:
        ap.error("--pages must be >= 8 and --repeat >= 1")
    corpus = build_corpus(args.pages)
    # Issue 3 is about the fallback's fixed costs: use the fast codec's pages.
    r2 = issue2(corpus.pages, args.repeat)
    r3 = issue3(corpus.pages, args.repeat, [d.strip() for d in args.drivers.split(",") if d.strip()])
    if args.json:
        json.dump({"corpus": corpus.description, "issue2": r2, "issue3": r3}, sys.stdout, indent=2)
        print()
        return 0
    print(f"corpus: {corpus.description} [digest {corpus.digest}]; best of {args.repeat}, measured here\n")
    print("issue 2: tfm.compress(Request(page, dst)) / raw library call")
    for r in r2:
        print(
            f"  {r['driver']:<15} ours {r['ours_us_per_page']:7.2f} us/page  raw {r['raw_us_per_page']:7.2f}"
            f" us/page ({r['raw_call']})  ratio {r['ratio']:.3f}  goal <= {r['goal']:.2f}"
            f"  {'ok' if r['meets_goal'] else 'MISSED'}"
        )
    print("\nissue 3: generic-fallback overhead per request vs a plain sync call (goal <= 5%)")
    for r in r3:
        print(
            f"  {r['driver']:<15} plain {r['plain_us_per_req']:7.2f} us  "
            f"chain-of-8 {r['chain_overhead'] * 100:+5.1f}%  "
            f"batch_compress([req]) {r['batch1_overhead'] * 100:+5.1f}%  "
            f"segmented-8 {r['segmented_overhead'] * 100:+5.1f}%"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
