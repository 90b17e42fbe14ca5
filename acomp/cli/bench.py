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

The raw calls live in :mod:`acomp.cli.bench_raw`, the measurement in
:mod:`acomp.cli.bench_measure`; this module is the command and its table,
CSV, JSON and plot.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import acomp
from acomp.cli.bench_measure import measure_driver
from acomp.cli.bench_raw import RAW_CALLS, raw_calls
from acomp.cli.common import load_corpus, parse_params, positive_int
from acomp.cli.output import CliError, Progress, dump_json, fmt_num, pyplot, render_csv, render_table, save_figure
from acomp.corpus import DEFAULT_SEED, Corpus

__all__ = ["RAW_CALLS", "add_parser", "measure_driver", "raw_calls", "run"]

DEFAULT_PAGES = 1000


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
        help=f"corpus pages (default {DEFAULT_PAGES}), or a file of your own data",
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


def run(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    names = _select(args.drivers)
    corpus: Corpus = load_corpus(args.pages, args.seed, DEFAULT_PAGES)
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
