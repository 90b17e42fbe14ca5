"""``acomp zswap``: a usemem-like workload against zswap and a swap file.

``--workers`` threads (the seed's usemem processes) each own a range of
``--pages-per-worker`` swap slots and write corpus pages into it as folios
(``--folio-size``: the seed's ``16k/32k/64k`` mix by default, chosen per folio
with a seeded RNG, or ``4k``, ``16k``, ``32k``, ``64k``, ``2M``, or a comma
list).  Every folio is swapped out through :class:`acomp.zswap.SwapDevice`
(zero-page map, then :class:`acomp.zswap.Zswap`, then the swap file, which
lives in a temporary directory) -- i.e. every page written goes through
reclaim, a simplification of usemem under ``memory.high``.  zswap's pool is
limited to ``--max-pool-percent`` of ``--total-ram`` (default: the working set
itself x 1.5), so a workload that does not compress better than about 3.3:1
forces the shrinker to write back to the file.  Then every page is swapped back in and compared with what
was written.

The table has the seed's shape: total and average throughput (KB/s of pages
swapped out per second of wall time), elapsed time, CPU time (the process's
``time.process_time``: the closest thing to the seed's sys time here), every
zswap counter, and ``ZSWPOUT-<size>`` / ``SWPOUT-<size>`` rows.  ``--compare
A,B[,C]`` runs each configuration on the same data and adds the seed's
``% vs`` columns (each against the first).  A configuration is a compressor
name with an optional ``:nobatch`` suffix (``deflate-iaa:nobatch``); the
``--no-batching`` flag applies ``:nobatch`` to all.

No batching: ``:nobatch`` runs ``Zswap(batching=False)``, which gives every
context one request even when the driver batches, so zswap compresses page
by page with ``tfm.compress``: zswap as it was before the seed.

Every number in the output is measured in this run ("measured here").
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import Any

import attrs

import acomp
from acomp.cli.common import alloc_tfm, load_corpus, parse_params, percent_type, positive_int, size_type
from acomp.cli.output import CliError, Progress, dump_json, fmt_int, fmt_num, fmt_pct, render_table
from acomp.corpus import DEFAULT_SEED, Corpus
from acomp.request import PAGE_SIZE
from acomp.transform import Transform

__all__ = ["WorkloadConfig", "add_parser", "folio_plan", "parse_folio_sizes", "run", "run_workload"]

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
    """``mix`` -> (4, 8, 16); ``64k`` -> (16,); ``16k,2M`` -> (4, 512)  (sizes in pages)."""
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


def _size_name(pages: int) -> str:
    kb = pages * PAGE_SIZE // 1024
    return f"{kb // 1024}MB" if kb >= 1024 and kb % 1024 == 0 else f"{kb}kB"


@attrs.define(frozen=True, slots=True)
class WorkloadConfig:
    compressor: str
    batching: bool = True
    workers: int = 4
    pages_per_worker: int = 2048
    folio_sizes: tuple[int, ...] = SEED_MIX
    total_ram: int | None = None
    max_pool_percent: int = 20
    accept_threshold_percent: int = 90
    shrinker_enabled: bool = True
    seed: int = DEFAULT_SEED
    params: dict[str, object] = attrs.field(factory=dict)

    @property
    def label(self) -> str:
        return self.compressor + ("" if self.batching else ":nobatch")


def _factory(params: dict[str, object]) -> Any:
    def make(name: str) -> Transform:
        return acomp.alloc(name, **params)

    return make


def run_workload(cfg: WorkloadConfig, corpus: Corpus, progress: Progress | None = None) -> dict[str, Any]:
    """Run one configuration; returns metrics, counters and the verification result."""
    from acomp.zswap import SwapDevice, Zswap

    nr_total = cfg.workers * cfg.pages_per_worker
    total_ram = cfg.total_ram or nr_total * PAGE_SIZE * 3 // 2
    rng = random.Random(f"{cfg.seed}:folios")
    plans = [folio_plan(cfg.pages_per_worker, cfg.folio_sizes, rng) for _ in range(cfg.workers)]
    npages = len(corpus.pages)

    def page_of(slot: int) -> bytes:
        return corpus.pages[slot % npages]

    with tempfile.TemporaryDirectory(prefix="acomp-zswap-") as tmp:
        zswap = Zswap(
            cfg.compressor,
            max_pool_percent=cfg.max_pool_percent,
            accept_threshold_percent=cfg.accept_threshold_percent,
            shrinker_enabled=cfg.shrinker_enabled,
            total_ram=total_ram,
            transform_factory=_factory(cfg.params),
            batching=cfg.batching,
        )
        try:
            swap = SwapDevice(os.path.join(tmp, "swapfile"), zswap=zswap, nr_slots=nr_total)
            with swap:
                pool_tfm = zswap.pool.tfm
                ctx = zswap.pool.get_ctx()
                nr_reqs = ctx.nr_reqs if ctx is not None else 1
                errors: list[BaseException] = []
                barrier = threading.Barrier(cfg.workers + 1)
                worker_time = [0.0] * cfg.workers

                def writer(w: int) -> None:
                    try:
                        base = w * cfg.pages_per_worker
                        folios = []
                        off = base
                        for size in plans[w]:
                            folios.append((off, b"".join(page_of(s) for s in range(off, off + size))))
                            off += size
                        barrier.wait()
                        t0 = time.perf_counter()
                        for offset, folio in folios:
                            swap.swap_out(offset, folio)
                            if progress is not None:
                                progress.update(len(folio) // PAGE_SIZE)
                        worker_time[w] = time.perf_counter() - t0
                    except BaseException as exc:  # reported after join
                        errors.append(exc)
                        barrier.abort()

                threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(cfg.workers)]
                for t in threads:
                    t.start()
                try:
                    barrier.wait()
                except threading.BrokenBarrierError:
                    pass
                cpu0 = time.process_time()
                t0 = time.perf_counter()
                for t in threads:
                    t.join()
                zswap.drain()
                elapsed = time.perf_counter() - t0
                cpu = time.process_time() - cpu0
                if errors:
                    raise errors[0]
                after_out = dict(zswap.stats())

                # Swap everything back in and compare.
                bad: list[int] = []
                missing: list[int] = []

                def reader(w: int) -> None:
                    try:
                        buf = bytearray(PAGE_SIZE)
                        base = w * cfg.pages_per_worker
                        for slot in range(base, base + cfg.pages_per_worker):
                            where = swap.swap_in(slot, buf)
                            if where is None:
                                missing.append(slot)
                            elif buf != page_of(slot):
                                bad.append(slot)
                            if progress is not None:
                                progress.update()
                    except BaseException as exc:
                        errors.append(exc)

                rcpu0 = time.process_time()
                r0 = time.perf_counter()
                readers = [threading.Thread(target=reader, args=(w,), daemon=True) for w in range(cfg.workers)]
                for t in readers:
                    t.start()
                for t in readers:
                    t.join()
                in_elapsed = time.perf_counter() - r0
                in_cpu = time.process_time() - rcpu0
                if errors:
                    raise errors[0]
                final = dict(zswap.stats())
                swap_stats = swap.stats()
        finally:
            zswap.close()

    total_kb = nr_total * PAGE_SIZE / 1024
    zswpout_raw = after_out.get("zswpout")
    zswpout = zswpout_raw if isinstance(zswpout_raw, int) else 0
    return {
        "config": {
            "compressor": cfg.compressor,
            "driver": pool_tfm.driver_name,
            "batching": cfg.batching,
            "nr_reqs": nr_reqs,
            "workers": cfg.workers,
            "pages_per_worker": cfg.pages_per_worker,
            "folio_sizes": [_size_name(s) for s in cfg.folio_sizes],
            "total_ram": total_ram,
            "max_pool_percent": cfg.max_pool_percent,
            "accept_threshold_percent": cfg.accept_threshold_percent,
            "shrinker_enabled": cfg.shrinker_enabled,
            "corpus": corpus.description,
            "corpus_digest": corpus.digest,
        },
        "metrics": {
            "total_throughput_kb_s": total_kb / elapsed if elapsed > 0 else None,
            "avg_throughput_kb_s": (
                sum(cfg.pages_per_worker * PAGE_SIZE / 1024 / t for t in worker_time if t > 0) / cfg.workers
            ),
            "elapsed_s": elapsed,
            "cpu_s": cpu,
            "cpu_us_per_zswpout": cpu / zswpout * 1e6 if zswpout else None,
            "swapin_elapsed_s": in_elapsed,
            "swapin_cpu_s": in_cpu,
            "swapin_throughput_kb_s": total_kb / in_elapsed if in_elapsed > 0 else None,
        },
        "zswap_after_swapout": after_out,
        "zswap": final,
        "swap": swap_stats,
        "verify": {"pages": nr_total, "mismatched": len(bad), "missing": len(missing)},
        "source": "measured here",
    }


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "zswap",
        help="usemem-like workload against zswap + a swap file",
        description="Swap out corpus pages as folios from several threads through zswap and a swap "
        "file, then swap them back in and verify; print the seed's table shape.",
    )
    p.add_argument("-c", "--compressor", default="zstd", help="zswap compressor (default zstd)")
    p.add_argument(
        "--compare",
        metavar="A,B[,C]",
        help="run these configurations side by side (NAME or NAME:nobatch); %% deltas vs the first",
    )
    p.add_argument("--workers", type=positive_int, default=4, help="writer threads (default 4)")
    p.add_argument(
        "--pages-per-worker",
        type=positive_int,
        default=2048,
        metavar="M",
        help="pages each worker writes (default 2048 = 8 MiB)",
    )
    p.add_argument(
        "--folio-size",
        type=parse_folio_sizes,
        default=SEED_MIX,
        metavar="SIZE",
        help="mix (16k/32k/64k, default), 4k, 16k, 32k, 64k, 2M, or a comma list",
    )
    p.add_argument(
        "--total-ram",
        type=size_type,
        metavar="SIZE",
        help="RAM zswap's limit is a percentage of (default: 1.5 x the working set)",
    )
    p.add_argument("--max-pool-percent", type=percent_type, default=20, help="zswap max_pool_percent (20)")
    p.add_argument(
        "--accept-threshold-percent", type=percent_type, default=90, help="zswap accept_threshold_percent (90)"
    )
    p.add_argument("--no-shrinker", action="store_true", help="shrinker_enabled=0 (no writeback)")
    p.add_argument("--no-batching", action="store_true", help="zswap compresses page by page")
    p.add_argument(
        "--pages",
        metavar="N|FILE",
        default=None,
        help="distinct corpus pages (default: min(working set, 8192)), or a file of your own",
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="corpus and folio-mix seed")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="driver parameter (repeatable)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=run)


_TOP = [
    ("Total throughput (KB/s)", "total_throughput_kb_s", 0),
    ("Avg throughput (KB/s)", "avg_throughput_kb_s", 0),
    ("elapsed time (sec)", "elapsed_s", 3),
    ("CPU time (sec)", "cpu_s", 3),
    ("CPU us / zswpout", "cpu_us_per_zswpout", 1),
    ("swap-in throughput (KB/s)", "swapin_throughput_kb_s", 0),
    ("swap-in elapsed (sec)", "swapin_elapsed_s", 3),
]
_COUNTERS = [
    "zswpout",
    "zswpin",
    "zswpwb",
    "pool_limit_hit",
    "reject_reclaim_fail",
    "reject_alloc_fail",
    "reject_kmemcache_fail",
    "reject_compress_fail",
    "reject_compress_poor",
    "decompress_fail",
    "written_back_pages",
    "rejected_folios",
]
_AFTER_OUT = ["stored_pages", "stored_incompressible_pages", "pool_total_size"]


def render(results: Sequence[dict[str, Any]]) -> str:
    base = results[0]
    names = [
        f"({chr(65 + i)}) " + r["config"]["driver"] + ("" if r["config"]["batching"] else " nobatch")
        for i, r in enumerate(results)
    ]
    headers = ["", *names, *(f"({chr(65 + i)}) vs. (A)" for i in range(1, len(names)))]
    rows: list[list[object]] = []
    rows.append(["zswap compressor", *(r["config"]["driver"] for r in results), *("" for _ in results[1:])])
    rows.append(
        [
            "batching (reqs/ctx)",
            *(f"{'yes' if r['config']['nr_reqs'] > 1 else 'no'} ({r['config']['nr_reqs']})" for r in results),
            *("" for _ in results[1:]),
        ]
    )
    rows.append([])
    for label, key, digits in _TOP:
        vals = [r["metrics"][key] for r in results]
        cells = [fmt_int(v) if digits == 0 else fmt_num(v, digits) for v in vals]
        deltas = [fmt_pct(v, vals[0]) for v in vals[1:]]
        rows.append([label, *cells, *deltas])
    rows.append([])
    for name in _COUNTERS:
        rows.append([name, *(fmt_int(_num(r["zswap"].get(name))) for r in results), *("" for _ in results[1:])])
    for name in _AFTER_OUT:
        rows.append(
            [
                f"{name} (after swap-out)",
                *(fmt_int(_num(r["zswap_after_swapout"].get(name))) for r in results),
                *("" for _ in results[1:]),
            ]
        )
    for name in ("pswpout", "pswpin", "swpout_zero"):
        rows.append([name, *(fmt_int(r["swap"].get(name, 0)) for r in results), *("" for _ in results[1:])])
    rows.append([])
    sizes = sorted(
        {
            int(k.split("_")[1].removesuffix("kB"))
            for r in results
            for k in r["zswap"]
            if k.startswith("zswpout_") and k.endswith("kB")
        }
    )
    for kb in sizes:
        rows.append(
            [
                f"ZSWPOUT-{kb}kB",
                *(fmt_int(_num(r["zswap"].get(f"zswpout_{kb}kB", 0))) for r in results),
                *("" for _ in results[1:]),
            ]
        )
    file_sizes = sorted(
        {
            int(k.split("_")[1].removesuffix("kB"))
            for r in results
            for k in r["swap"]
            if k.startswith("swpout_") and k.endswith("kB")
        }
        | set(sizes)
    )
    for kb in file_sizes:
        rows.append(
            [
                f"SWPOUT-{kb}kB",
                *(fmt_int(r["swap"].get(f"swpout_{kb}kB", 0)) for r in results),
                *("" for _ in results[1:]),
            ]
        )
    rows.append([])
    rows.append(
        [
            "pages verified",
            *(
                "ok"
                if not (r["verify"]["mismatched"] or r["verify"]["missing"])
                else f"{r['verify']['mismatched']} bad, {r['verify']['missing']} missing"
                for r in results
            ),
            *("" for _ in results[1:]),
        ]
    )
    c = base["config"]
    title = (
        f"acomp zswap: {c['workers']} workers x {c['pages_per_worker']} pages, folios "
        f"{'/'.join(c['folio_sizes'])}, total_ram {c['total_ram'] // (1 << 20)} MiB, "
        f"max_pool_percent {c['max_pool_percent']}; corpus {c['corpus']} [digest {c['corpus_digest']}]"
    )
    align = "l" + "r" * (len(headers) - 1)
    return (
        render_table(headers, rows, title=title, align=align) + "\nAll numbers measured here (CPU time = process_time)."
    )


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _configs(args: argparse.Namespace) -> list[WorkloadConfig]:
    specs = [s.strip() for s in args.compare.split(",")] if args.compare else [args.compressor]
    specs = [s for s in specs if s]
    if not specs:
        raise CliError("--compare: no compressor named", code=2)
    params = parse_params(args.param)
    out = []
    for spec in specs:
        name, _, flag = spec.partition(":")
        if flag not in ("", "nobatch", "batch"):
            raise CliError(f"bad configuration {spec!r}: expected NAME or NAME:nobatch", code=2)
        alloc_tfm(name, params).close()  # a clear error for unknown names and bad params
        out.append(
            WorkloadConfig(
                compressor=name,
                batching=not (args.no_batching or flag == "nobatch"),
                workers=args.workers,
                pages_per_worker=args.pages_per_worker,
                folio_sizes=args.folio_size,
                total_ram=args.total_ram,
                max_pool_percent=args.max_pool_percent,
                accept_threshold_percent=args.accept_threshold_percent,
                shrinker_enabled=not args.no_shrinker,
                seed=args.seed,
                params=params,
            )
        )
    return out


def run(args: argparse.Namespace) -> int:
    try:
        import acomp.zswap
    except ImportError as exc:
        raise CliError(f"acomp.zswap is not available: {exc}") from None
    configs = _configs(args)
    nr_total = args.workers * args.pages_per_worker
    if nr_total > (1 << 22):
        raise CliError(f"{nr_total} pages is more than this tool allows (4194304)", code=2)
    corpus = load_corpus(args.pages, args.seed, min(nr_total, 8192))
    results = []
    with Progress(len(configs) * nr_total * 2, "zswap") as bar:
        for cfg in configs:
            bar.set_label(cfg.label)
            try:
                results.append(run_workload(cfg, corpus, bar))
            except acomp.AcompError as exc:
                raise CliError(f"{cfg.label}: {exc.errname}: {exc}") from None
            except OSError as exc:
                raise CliError(f"{cfg.label}: swap file: {exc.strerror or exc}") from None
    if args.json:
        dump_json({"results": results})
    else:
        print(render(results))
    broken = [r for r in results if r["verify"]["mismatched"] or r["verify"]["missing"]]
    if broken:
        r = broken[0]
        print(
            f"acomp: error: {r['config']['driver']}: {r['verify']['mismatched']} pages came back different, "
            f"{r['verify']['missing']} missing",
            file=sys.stderr,
        )
        return 1
    return 0
