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
forces the shrinker to write back to the file.  Then every page is swapped
back in and compared with what was written.  The workload itself is
:mod:`acomp.cli.usemem`; this module is the command and its table.

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
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import acomp
from acomp.cli import kernel_model
from acomp.cli.common import alloc_tfm, int_in_range, parse_params, percent_type, positive_int, size_type
from acomp.cli.corpus import DEFAULT_SEED, Corpus
from acomp.cli.output import CliError, Progress, dump_json, fmt_int, fmt_num, fmt_pct, render_table
from acomp.cli.pagefacts import PageFacts, percentile
from acomp.cli.pages import KEPT_MAX_PAGES, add_source_arguments, collect, load_corpus, source_from_args
from acomp.cli.usemem import SEED_MIX, WorkloadConfig, folio_plan, parse_folio_sizes, planned_rounds, run_workload
from acomp.zswap.stats import DEBUGFS_COUNTERS, VMSTAT_COUNTERS

__all__ = ["WorkloadConfig", "add_parser", "folio_plan", "parse_folio_sizes", "render", "run", "run_workload"]

#: Refuse working sets larger than this (pages): 16 GiB of folios.
MAX_PAGES = 1 << 22


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
    p.add_argument(
        "--no-shrinker",
        action="store_true",
        help="shrinker_enabled=N: no writeback under memory pressure (zswap_shrinker_count reports 0, so "
        "--pressure writes nothing back); writeback at the pool limit (shrink_worker) still runs",
    )
    p.add_argument(
        "--pressure",
        type=percent_type,
        default=0,
        metavar="PCT",
        help="memory pressure after each round's swap-out: the shrinker scans PCT%% of what zswap_shrinker_count "
        "reports (shrink_slab, 128 at a time), then zsmalloc compacts (default 0: none)",
    )
    p.add_argument("--no-batching", action="store_true", help="zswap compresses page by page")
    run_for = p.add_argument_group("how long (default: one round)")
    run_for.add_argument(
        "--duration",
        type=_seconds,
        metavar="SECONDS",
        help="repeat rounds (swap out, refault, swap in) until they took at least this long",
    )
    run_for.add_argument(
        "--total-pages", type=positive_int, metavar="N", help="repeat rounds until at least N pages were swapped out"
    )
    p.add_argument(
        "--refault",
        type=_refault_percent,
        default=0,
        metavar="PCT",
        help="share of each round's swapped-out pages read back and dirtied again, like usemem's reads (default 0)",
    )
    p.add_argument(
        "--pages",
        metavar="N|FILE",
        default=None,
        help="distinct corpus pages (default: min(working set, 8192)), or a file of your own (at most --max-pages "
        "kept)",
    )
    add_source_arguments(p, default_pages=8192, what="distinct pages (kept in memory and cycled)", seed=False)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="corpus, sampling and folio-mix seed")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="driver parameter (repeatable)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _refault_percent(text: str) -> int:
    return int_in_range(text, 0, 100, "a percentage 0..100")


_TOP = [
    ("Total throughput (KB/s)", "total_throughput_kb_s", 0),
    ("Avg throughput (KB/s)", "avg_throughput_kb_s", 0),
    ("elapsed time (sec)", "elapsed_s", 3),
    ("CPU time (sec)", "cpu_s", 3),
    ("CPU us / zswpout", "cpu_us_per_zswpout", 1),
    ("swap-in throughput (KB/s)", "swapin_throughput_kb_s", 0),
    ("swap-in elapsed (sec)", "swapin_elapsed_s", 3),
]
#: The kernel-cost model's rows (docs/choosing-a-compressor.md).
_MODEL = [
    ("compress us/page (model)", "compress_us_per_page"),
    ("decompress us/page (model)", "decompress_us_per_page"),
    ("sys us / zswpout (model)", "sys_us_per_zswpout"),
]
#: debugfs gauges (levels, not events): all 0 once every page is back, so shown as after swap-out.
_GAUGES = ("stored_pages", "stored_incompressible_pages", "pool_total_size")
#: Event counters, shown at the end of the run: the vmstat events, then debugfs's, in the kernel's order.
_COUNTERS = (*VMSTAT_COUNTERS, *(c for c in DEBUGFS_COUNTERS if c not in _GAUGES), "rejected_folios")
_SWAP_COUNTERS = ("pswpout", "pswpin", "swpout_zero")


def _folio_kbs(counters: Iterable[Mapping[str, object]], prefix: str) -> set[int]:
    """The folio sizes (kB) of the ``<prefix>_<kb>kB`` counters present."""
    start = prefix + "_"
    return {int(k[len(start) : -2]) for c in counters for k in c if k.startswith(start) and k.endswith("kB")}


def render(results: Sequence[dict[str, Any]]) -> str:
    """The seed's table shape: one column per configuration, then ``% vs. (A)`` columns."""
    letters = [chr(65 + i) for i in range(len(results))]
    names = [
        f"({x}) " + r["config"]["driver"] + ("" if r["config"]["batching"] else " nobatch")
        for x, r in zip(letters, results)
    ]
    headers = ["", *names, *(f"({x}) vs. (A)" for x in letters[1:])]
    pad = [""] * (len(results) - 1)  # the delta columns of rows without deltas
    rows: list[list[object]] = []

    def row(label: str, cells: Iterable[object]) -> None:
        rows.append([label, *cells, *pad])

    row("zswap compressor", (r["config"]["driver"] for r in results))
    row(
        "batching (reqs/ctx)",
        (f"{'yes' if r['config']['nr_reqs'] > 1 else 'no'} ({r['config']['nr_reqs']})" for r in results),
    )
    row("configuration (as typed)", (r.get("configuration", r["config"]["compressor"]) for r in results))
    rows.append([])
    row("measured here:", ("" for _ in results))
    row("rounds", (r["metrics"]["rounds"] for r in results))
    for label, key, digits in _TOP:
        vals = [r["metrics"][key] for r in results]
        cells = [fmt_int(v) if digits == 0 else fmt_num(v, digits) for v in vals]
        rows.append([label, *cells, *(fmt_pct(v, vals[0]) for v in vals[1:])])
    if any(r["metrics"]["refaults"] for r in results):
        row("refaults (read back, dirtied again)", (fmt_int(r["metrics"]["refaults"]) for r in results))
    if any(r["config"]["pressure_percent"] for r in results):
        row(
            "written back under pressure (shrinker_scan)",
            (fmt_int(r["metrics"]["pressure_written_back"]) for r in results),
        )
        row("zsmalloc pages freed by compaction", (fmt_int(r["metrics"]["pressure_compacted_pages"]) for r in results))
    row("store latency us/page p50 / p99", (_us(r["metrics"]["store_ns_per_page"]) for r in results))
    row("load latency us p50 / p99", (_us(r["metrics"]["load_ns"]) for r in results))
    if all("codec" in r for r in results):
        row("compression ratio (codec)", (fmt_num(r["codec"]["ratio"]) for r in results))
        row("codec compress us p50 / p99", (_us(r["codec"]["compress_ns"]) for r in results))
        row("codec decompress us p50 / p99", (_us(r["codec"]["decompress_ns"]) for r in results))
    rows.append([])
    for name in _COUNTERS:
        row(name, (fmt_int(_num(r["zswap"].get(name))) for r in results))
    for name in _GAUGES:
        row(f"{name} (after swap-out)", (fmt_int(_num(r["zswap_after_swapout"].get(name))) for r in results))
    for name in _SWAP_COUNTERS:
        row(name, (fmt_int(r["swap"].get(name, 0)) for r in results))
    rows.append([])
    zswap_kbs = _folio_kbs((r["zswap"] for r in results), "zswpout")
    for kb in sorted(zswap_kbs):
        row(f"ZSWPOUT-{kb}kB", (fmt_int(_num(r["zswap"].get(f"zswpout_{kb}kB", 0))) for r in results))
    for kb in sorted(zswap_kbs | _folio_kbs((r["swap"] for r in results), "swpout")):
        row(f"SWPOUT-{kb}kB", (fmt_int(r["swap"].get(f"swpout_{kb}kB", 0)) for r in results))
    rows.append([])
    row("pages verified", (_verified(r["verify"]) for r in results))
    if all("kernel_model" in r for r in results):
        rows.append([])
        row("modelled (kernel-cost model):", ("" for _ in results))
        for label, key in _MODEL:
            vals = [r["kernel_model"][key] for r in results]
            rows.append([label, *(fmt_num(v, 1) for v in vals), *(fmt_pct(v, vals[0]) for v in vals[1:])])
    c = results[0]["config"]
    title = (
        f"acomp zswap: {c['workers']} workers x {c['pages_per_worker']} pages, folios "
        f"{'/'.join(c['folio_sizes'])}, total_ram {c['total_ram'] // (1 << 20)} MiB, "
        f"max_pool_percent {c['max_pool_percent']}; corpus {c['corpus']} [digest {c['corpus_digest']}]"
    )
    align = "l" + "r" * (len(headers) - 1)
    return render_table(headers, rows, title=title, align=align) + (
        "\nRows under 'measured here' are timed in this run (CPU time = process_time: mostly Python); rows under "
        "'modelled' are the kernel-cost model's (zswap's own cost derived from the seed + the codec time measured "
        "here, or a device's timing model): docs/choosing-a-compressor.md."
    )


def _us(ns: Mapping[str, float | None]) -> str:
    p50, p99 = ns.get("p50"), ns.get("p99")
    return "-" if p50 is None or p99 is None else f"{p50 / 1e3:.2f} / {p99 / 1e3:.2f}"


def _quantiles(values: Any) -> dict[str, float | None]:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99)}


def _verified(v: Mapping[str, int]) -> str:
    return "ok" if not (v["mismatched"] or v["missing"]) else f"{v['mismatched']} bad, {v['missing']} missing"


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _configs(args: argparse.Namespace) -> list[tuple[str, WorkloadConfig]]:
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
            (
                spec,
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
                    until_pages=args.total_pages,
                    until_s=args.duration,
                    refault_percent=args.refault,
                    pressure_percent=args.pressure,
                ),
            )
        )
    return out


def _pages(args: argparse.Namespace, nr_total: int) -> Corpus:
    """The distinct pages the workload cycles through: a page source's, or the corpus / ``--pages``."""
    keep = args.max_pages or KEPT_MAX_PAGES
    if args.pid is not None or args.core is not None or args.dump is not None:
        if args.pages is not None:
            raise CliError("--pages cannot be combined with --pid, --core or --dump", code=2)
        with source_from_args(args, keep) as source:
            return collect(source, keep, args.sample, args.seed)
    if args.range is not None:
        raise CliError("--range needs --pid", code=2)
    return load_corpus(args.pages, args.seed, min(nr_total, args.max_pages or 8192), keep)


def _codec_facts(configs: Sequence[tuple[str, WorkloadConfig]], corpus: Corpus) -> dict[tuple[str, str], Any]:
    """Per compressor (and parameters): the codec's facts on the distinct pages, measured here."""
    devices = {r.driver_name for r in acomp.algorithms() if r.is_device}
    out: dict[tuple[str, str], Any] = {}
    for _spec, cfg in configs:
        key = (cfg.compressor, repr(sorted(cfg.params.items())))
        if key in out:
            continue
        with PageFacts([(cfg.compressor, cfg.params)]) as facts:
            for page in corpus.pages:
                facts.add(page)
        (codec,) = facts.codecs
        model = kernel_model.modelled(codec.driver_name, codec.sizes)
        out[key] = (codec, model, codec.driver_name in devices)
    return out


def _configuration_model(cfg: WorkloadConfig, codec: Any, model: Any, device: bool) -> dict[str, Any]:
    """The kernel-cost model's three figures for this configuration (None when a device has no model)."""
    keys = ("compress_us_per_page", "decompress_us_per_page", "sys_us_per_zswpout")
    if model is not None:
        name = codec.driver_name
        if not cfg.batching:
            name += ":nobatch"
        elif cfg.params.get("sync_mode") == "sync":
            name += ":sync"
        picked = model["configurations"].get(name, model)
        return {k: picked[k] for k in keys}
    if device:
        return dict.fromkeys(keys)
    soft = kernel_model.software(codec.driver_name, codec.mean_us("compress"), codec.mean_us("decompress"))
    return {k: soft[k] for k in keys}


def run(args: argparse.Namespace) -> int:
    configs = _configs(args)
    nr_total = args.workers * args.pages_per_worker
    if nr_total > MAX_PAGES:
        raise CliError(f"{nr_total} pages is more than this tool allows ({MAX_PAGES})", code=2)
    corpus = _pages(args, nr_total)
    facts = _codec_facts(configs, corpus)
    rounds = planned_rounds(configs[0][1])
    results = []
    with Progress(None if rounds is None else len(configs) * rounds * nr_total * 2, "zswap") as bar:
        for spec, cfg in configs:
            bar.set_label(cfg.label)
            try:
                res = run_workload(cfg, corpus, bar)
            except acomp.AcompError as exc:
                raise CliError(f"{cfg.label}: {exc.errname}: {exc}") from None
            except OSError as exc:
                raise CliError(f"{cfg.label}: swap file: {exc.strerror or exc}") from None
            codec, model, device = facts[(cfg.compressor, repr(sorted(cfg.params.items())))]
            res["configuration"] = spec
            res["codec"] = {
                "ratio": codec.ratio(),
                "compress_ns": _quantiles(codec.compress_ns),
                "decompress_ns": _quantiles(codec.decompress_ns),
                "source": "measured here: the driver's codec call on the distinct pages",
            }
            res["kernel_model"] = _configuration_model(cfg, codec, model, device)
            res["source"] = "measured here, except kernel_model (modelled: docs/choosing-a-compressor.md)"
            results.append(res)
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
