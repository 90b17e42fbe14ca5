"""``acomp bench``: an lzbench-style table per driver on the page corpus.

For each driver: compression ratio, compress and decompress MB/s (10^6 bytes
of *uncompressed* data per second, as lzbench counts), µs per page, and the
ratio of our per-page time to the raw library call on the same pages (the
cost of the acomp layer), for drivers whose raw call is known:

================  =============================================================
driver            raw call
================  =============================================================
deflate-generic   ``zlib.compressobj(-1, DEFLATED, -11, 9)`` (the kernel's
                  level, window bits and memLevel); ``zlib.decompressobj(-15)``
deflate-isal      ``isal_zlib.compress(page, 1, -15)`` / ``isal_zlib.decompress``
zstd-generic      ``zstandard.ZstdCompressor(level=3)`` / ``ZstdDecompressor``
lz4-generic       ``lz4.block.compress(page, store_size=False)`` / ``decompress``
lz4hc-generic     the same with ``mode="high_compression", compression=9``
================  =============================================================

Others show ``-`` (and so does every driver given ``-p`` parameters: the raw
call uses the defaults).  Our path is ``tfm.compress(Request(page, dst))`` per
page, or with ``--batch`` ``tfm.batch_compress(reqs)`` in groups of
``batch_size``.  Each measurement is the best of ``--repeat`` runs, ours and the
raw call alternating, and every number comes from this run on this machine.

The compressed outputs are made once, untimed, before the timed runs (which
also warms the driver up).  The raw calls live in :mod:`acomp.cli.bench_raw`
(shared with ``benchmarks/bench_core.py``).

``--speed-table`` prints the many-buffer speed table instead (rows from
:mod:`acomp.cli.speed_table`, delivered with ``acomp.compress_many``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import attrs

import acomp
from acomp.cli.bench_raw import RAW_CALLS, raw_calls
from acomp.cli.common import parse_params, positive_int
from acomp.cli.corpus import DEFAULT_SEED, Corpus
from acomp.cli.output import CliError, Progress, dump_json, fmt_num, pyplot, render_csv, render_table, save_figure
from acomp.cli.pages import KEPT_MAX_PAGES, load_corpus
from acomp.request import PAGE_SIZE
from acomp.transform import Transform

__all__ = ["RAW_CALLS", "add_parser", "measure_driver", "raw_calls", "run"]

DEFAULT_PAGES = 1000


Op = Literal["compress", "decompress"]


def _compress_all(tfm: Transform, pages: Sequence[bytes], cap: int, bs: int) -> tuple[list[bytes], int]:
    """Every page's compressed form (``b""`` when it failed) and the failure count, untimed."""
    bufs = [bytearray(cap) for _ in range(bs)]
    outs: list[bytes] = []
    errors = 0
    for start in range(0, len(pages), bs):
        reqs = [acomp.Request(page, bufs[i]) for i, page in enumerate(pages[start : start + bs])]
        tfm.batch_compress(reqs)  # one request runs as tfm.compress; errors are recorded per request
        for req in reqs:
            if req.err is None:
                outs.append(bytes(memoryview(req.dst)[: req.dlen]))
            else:
                errors += 1
                outs.append(b"")
    return outs, errors


def _time_ours(tfm: Transform, op: Op, items: Sequence[bytes], cap: int, bs: int) -> int:
    """ns for one pass of ``op`` over ``items``: per item with one ``dst`` (``bs`` 1), else batches of ``bs``."""
    Request = acomp.Request
    if bs == 1:
        dst = bytearray(cap)
        call = tfm.compress if op == "compress" else tfm.decompress
        t0 = time.perf_counter_ns()
        for item in items:
            try:
                call(Request(item, dst))
            except acomp.AcompError:
                pass  # counted by the untimed pass (compress) or the round-trip check
        return time.perf_counter_ns() - t0
    batch_call = tfm.batch_compress if op == "compress" else tfm.batch_decompress
    bufs = [bytearray(cap) for _ in range(bs)]
    elapsed = 0
    for start in range(0, len(items), bs):
        reqs = [Request(item, bufs[i]) for i, item in enumerate(items[start : start + bs])]
        t0 = time.perf_counter_ns()
        batch_call(reqs)
        elapsed += time.perf_counter_ns() - t0
    return elapsed


def _time_raw(fn: Callable[[bytes], bytes], items: Sequence[bytes]) -> int:
    t0 = time.perf_counter_ns()
    for item in items:
        fn(item)
    return time.perf_counter_ns() - t0


def _verify(tfm: Transform, pages: Sequence[bytes], comp: Sequence[bytes]) -> int:
    """Pages that do not round-trip (untimed)."""
    bad = 0
    dst = bytearray(PAGE_SIZE)
    for page, data in zip(pages, comp):
        if not data:
            continue
        try:
            req = acomp.Request(data, dst)
            tfm.decompress(req)
            if memoryview(dst)[: req.dlen] != page:
                bad += 1
        except acomp.AcompError:
            bad += 1
    return bad


def measure_driver(
    name: str,
    pages: Sequence[bytes],
    *,
    batch: bool = False,
    repeat: int = 3,
    params: dict[str, object] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure one driver on ``pages``; returns a dict of results (times in ns, best of ``repeat``).

    The raw call is compared only with the driver's defaults (no ``params``).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    tfm = acomp.alloc(name, **(params or {}))
    with tfm:
        cap = max(PAGE_SIZE, tfm.driver.compress_bound(PAGE_SIZE))
        raw = raw_calls(tfm.driver_name) if not params else None
        use_batch = batch and tfm.batch_size > 1
        bs = tfm.batch_size if use_batch else 1
        comp, errors = _compress_all(tfm, pages, cap, bs)
        good = [c for c in comp if c]
        raw_comp = [raw[1](p) for p in pages] if raw is not None else []
        best: dict[str, int] = {}

        def keep(key: str, ns: int) -> None:
            best[key] = min(best.get(key, ns), ns)

        for _ in range(repeat):
            keep("c", _time_ours(tfm, "compress", pages, cap, bs))
            if progress:
                progress.update()
            if raw is not None:
                keep("rc", _time_raw(raw[1], pages))
            keep("d", _time_ours(tfm, "decompress", good, PAGE_SIZE, bs))
            if raw is not None:
                keep("rd", _time_raw(raw[2], raw_comp))
            if progress:
                progress.update()
        bad = _verify(tfm, pages, comp)
        n = len(pages)
        n_dec = max(1, len(good))
        in_bytes = n * PAGE_SIZE
        out_bytes = sum(len(c) if c else PAGE_SIZE for c in comp)
        best_c, best_d = best["c"], best["d"]
        best_rc, best_rd = best.get("rc"), best.get("rd")
        return {
            "driver": tfm.driver_name,
            "alg": tfm.alg_name,
            "path": f"batch x{tfm.batch_size}" if use_batch else "single",
            "pages": n,
            "ratio": in_bytes / out_bytes if out_bytes else None,
            "compress_mb_s": in_bytes / best_c * 1e3 if best_c else None,
            "decompress_mb_s": n_dec * PAGE_SIZE / best_d * 1e3 if best_d else None,
            "compress_us_per_page": best_c / n / 1e3,
            "decompress_us_per_page": best_d / n_dec / 1e3,
            "raw_call": raw[0] if raw else None,
            "raw_compress_us_per_page": best_rc / n / 1e3 if best_rc else None,
            "raw_decompress_us_per_page": best_rd / n / 1e3 if best_rd else None,
            "compress_vs_raw": best_c / best_rc if best_rc else None,
            "decompress_vs_raw": (best_d / n_dec) / (best_rd / n) if best_rd else None,
            "errors": errors,
            "roundtrip_failures": bad,
            "source": "measured here",
        }


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="lzbench-style benchmark of every driver on the page corpus",
        description="Benchmark drivers on the page corpus: ratio, MB/s, µs/page and the cost over the "
        "raw library call. All numbers are measured in this run.",
    )
    p.add_argument(
        "--pages",
        metavar="N|FILE",
        default=str(DEFAULT_PAGES),
        help=f"corpus pages (default {DEFAULT_PAGES}), or a file of your own data (read as a stream: "
        "the first --max-pages pages are kept; /dev/zero and pipes work)",
    )
    p.add_argument(
        "--max-pages",
        type=positive_int,
        default=KEPT_MAX_PAGES,
        metavar="N",
        help=f"with --pages FILE: pages kept in memory at most (default {KEPT_MAX_PAGES} = 64 MiB)",
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="corpus seed")
    p.add_argument("--drivers", metavar="A,B", help="comma-separated drivers or algorithms (default: all)")
    p.add_argument("--batch", action="store_true", help="use tfm.batch_compress in groups of batch_size")
    p.add_argument("--repeat", type=positive_int, default=3, help="runs per measurement; best is kept")
    p.add_argument(
        "-p", "--param", action="append", metavar="KEY=VALUE", help="driver parameter for every driver (repeatable)"
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV output")
    fmt.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--plot", metavar="OUT.png", help="also save a bar chart (needs matplotlib)")
    p.add_argument(
        "--speed-table",
        action="store_true",
        help="the many-buffer speed table (acomp.compress_many against a loop) instead of the per-driver table",
    )
    p.set_defaults(func=run)


HEADERS = [
    "driver",
    "path",
    "ratio",
    "comp MB/s",
    "decomp MB/s",
    "comp us/page",
    "decomp us/page",
    "comp x raw",
    "decomp x raw",
    "raw call",
    "errors",
]


def _row(r: dict[str, Any]) -> list[object]:
    def x(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}x"

    return [
        r["driver"],
        r["path"],
        fmt_num(r["ratio"]),
        fmt_num(r["compress_mb_s"], 1),
        fmt_num(r["decompress_mb_s"], 1),
        fmt_num(r["compress_us_per_page"]),
        fmt_num(r["decompress_us_per_page"]),
        x(r["compress_vs_raw"]),
        x(r["decompress_vs_raw"]),
        r["raw_call"] or "-",
        r["errors"] + r["roundtrip_failures"],
    ]


def _select(spec: str | None) -> list[str]:
    records = acomp.algorithms()
    if not spec:
        return [r.driver_name for r in records]
    names: list[str] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        try:
            rec = acomp.registry.get_registry().lookup(item)
        except acomp.AlgorithmNotFound:
            known = ", ".join(sorted({r.driver_name for r in records}))
            raise CliError(f"unknown algorithm {item!r} (known: {known})") from None
        if rec.driver_name not in names:
            names.append(rec.driver_name)
    if not names:
        raise CliError("--drivers: no driver named", code=2)
    return names


def plot(results: Sequence[dict[str, Any]], path: str, title: str) -> None:
    """A bar chart of compress/decompress MB/s and ratio per driver (matplotlib, imported lazily)."""
    plt = pyplot()
    labels = [f"{r['driver']}\n{r['path']}" for r in results]
    fig, axes = plt.subplots(1, 3, figsize=(max(9, 2.2 * len(results)), 4))
    for ax, key, name in zip(
        axes,
        ("compress_mb_s", "decompress_mb_s", "ratio"),
        ("compress MB/s", "decompress MB/s", "ratio"),
    ):
        ax.bar(range(len(results)), [r[key] or 0 for r in results])
        ax.set_xticks(range(len(results)))
        ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
        ax.set_title(name)
    save_figure(plt, fig, title, path)


def _speed_table(corpus: Corpus, args: argparse.Namespace) -> int:
    """``--speed-table``: every row of the speed table (:mod:`acomp.cli.speed_table`), ratios measured in one run."""
    from acomp.cli import speed_table

    with Progress(5, "speed table") as bar:  # the table's five parts

        def part(title: str) -> None:
            bar.set_label(title)
            bar.update()

        rows = speed_table.speed_table(list(corpus.pages), repeat=args.repeat, progress=part)
    if args.json:
        dump_json({"corpus": corpus.description, "digest": corpus.digest, "rows": [attrs.asdict(r) for r in rows]})
    else:
        print(f"acomp bench --speed-table: {corpus.description} [digest {corpus.digest}], measured here")
        print(speed_table.render(rows))
    return 0


def run(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    names = _select(args.drivers)
    corpus: Corpus = load_corpus(args.pages, args.seed, DEFAULT_PAGES, args.max_pages)
    if args.speed_table:
        return _speed_table(corpus, args)
    results: list[dict[str, Any]] = []
    with Progress(len(names) * args.repeat * 2, "bench") as bar:
        for name in names:
            bar.set_label(name)
            try:
                results.append(
                    measure_driver(
                        name, corpus.pages, batch=args.batch, repeat=args.repeat, params=params, progress=bar
                    )
                )
            except acomp.AcompError as exc:
                raise CliError(f"{name}: {exc}") from None
    title = f"acomp bench: {corpus.description} [digest {corpus.digest}], best of {args.repeat}, measured here"
    if args.json:
        dump_json(
            {
                "corpus": {
                    "description": corpus.description,
                    "pages": len(corpus),
                    "digest": corpus.digest,
                    "kinds": corpus.counts(),
                },
                "repeat": args.repeat,
                "batch": args.batch,
                "source": "measured here",
                "results": results,
            }
        )
    elif args.csv:
        keys = list(results[0]) if results else []
        sys.stdout.write(render_csv(keys, [[r[k] for k in keys] for r in results]))
    else:
        print(render_table(HEADERS, [_row(r) for r in results], title=title))
        print(
            "MB/s = 10^6 bytes of uncompressed data per second; 'x raw' = our time per page / the raw "
            "library call's on the same pages."
        )
    if args.plot:
        plot(results, args.plot, title)
    bad = [r for r in results if r["roundtrip_failures"]]
    if bad:
        names_bad = ", ".join(r["driver"] for r in bad)
        print(f"acomp: warning: pages did not round-trip with {names_bad}", file=sys.stderr)
        return 1
    return 0
