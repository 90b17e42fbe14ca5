"""``acomp advise``: which zswap compressor, and which batching, for these pages.

Reads pages from a source (:mod:`acomp.cli.pages`: a process, a core dump, a
raw dump, or the built-in corpus), gathers the per-page facts of
:mod:`acomp.cli.pagefacts` for every compressor, prices each configuration
with the kernel-cost model (:mod:`acomp.cli.kernel_model`) and prints one row
per configuration, then a recommendation with its reasons.  A compressor
backed by a modelled device (deflate-iaa) gets three rows: async batch, sync
batch and no batching, its codec times being the timing model's for these
pages' sizes (labelled ``model``); the other rows' codec times are measured
here (``measured``).

The recommendation (``--prefer balanced``, the default): of the
configurations whose pool (with metadata) is within ``--memory-slack`` % of the
smallest, the one with the lowest modelled sys time per zswpout.  zswap is
there to save memory, so a compressor that saves much less is not advised for
its speed alone; ``--prefer cpu`` / ``--prefer memory`` take one criterion.
A device-backed pick names the best software choice too.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

import acomp
from acomp.cli import kernel_model
from acomp.cli.common import parse_params, percent_type
from acomp.cli.output import CliError, Progress, dump_json, fmt_num, pyplot, render_table, save_figure
from acomp.cli.pagefacts import CodecFacts, PageFacts, percentile, zsmalloc_footprint
from acomp.cli.pages import add_source_arguments, source_from_args
from acomp.request import PAGE_SIZE

__all__ = ["add_parser", "advise", "run"]

#: Pages of the built-in corpus by default.
DEFAULT_PAGES = 4096
_ZSWAP_PARAMS = "/sys/module/zswap/parameters"
_MIB = 1 << 20
#: The plot groups size classes into bins of this many bytes.
_PLOT_BIN = 256


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "advise",
        help="which zswap compressor and batching for your memory: measured and modelled",
        description="Read pages (a process, a core dump, a raw dump, or the built-in corpus), compress each with "
        "every compressor, and show per configuration the ratio, zswap's pool footprint (zsmalloc model, with "
        "metadata), codec time per page, and the kernel-cost model's sys time per zswpout; then a recommendation. "
        "See docs/choosing-a-compressor.md.",
    )
    add_source_arguments(p, default_pages=DEFAULT_PAGES)
    p.add_argument(
        "-c", "--compressors", metavar="A,B", help="drivers or algorithms (default: every registered driver)"
    )
    p.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="[NAME:]KEY=VALUE",
        help="driver parameter, for every compressor or only NAME's (zstd:level=1); repeatable",
    )
    p.add_argument(
        "--prefer",
        choices=("balanced", "memory", "cpu"),
        default="balanced",
        help="what the recommendation weighs (default balanced: the cheapest within --memory-slack of the "
        "smallest pool)",
    )
    p.add_argument(
        "--memory-slack",
        type=percent_type,
        default=20,
        metavar="PCT",
        help="with --prefer balanced: how much more pool than the smallest is acceptable (default 20)",
    )
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--plot", metavar="FILE.png", help="cost against footprint, and the size histogram (matplotlib)")
    p.set_defaults(func=run)


# -- which compressors ----------------------------------------------------------------------


def _compressors(spec: str | None, param_items: Sequence[str] | None) -> list[tuple[str, dict[str, object]]]:
    registry = acomp.registry.get_registry()
    records = acomp.algorithms()
    if spec:
        names: list[str] = []
        for item in (s.strip() for s in spec.split(",")):
            if not item:
                continue
            try:
                rec = registry.lookup(item)
            except acomp.AlgorithmNotFound:
                known = ", ".join(sorted({r.driver_name for r in records}))
                raise CliError(f"unknown compressor {item!r} (known: {known or 'none'})") from None
            if rec.driver_name not in names:
                names.append(rec.driver_name)
        if not names:
            raise CliError("-c: no compressor named", code=2)
    else:
        names = [r.driver_name for r in records]
    if not names:
        raise CliError("no compressor is registered (see: acomp list)")
    scoped: dict[str, list[str]] = {}
    common: list[str] = []
    for item in param_items or ():
        key = item.partition("=")[0]
        if ":" in key:
            who, _, rest = item.partition(":")
            try:
                scoped.setdefault(registry.lookup(who.strip()).driver_name, []).append(rest)
            except acomp.AlgorithmNotFound:
                raise CliError(f"-p {item!r}: unknown compressor {who!r}", code=2) from None
        else:
            common.append(item)
    return [(n, parse_params([*common, *scoped.get(n, [])])) for n in names]


# -- the analysis ---------------------------------------------------------------------------


def _ns(values: Any) -> dict[str, float | None]:
    return {"p50": percentile(values, 50), "p99": percentile(values, 99)}


def _compressor_record(facts: CodecFacts, device: bool) -> dict[str, Any]:
    fp = zsmalloc_footprint(facts.sizes)
    model = kernel_model.modelled(facts.driver_name, facts.sizes)
    if model is None and device:
        model = kernel_model.unmodelled(facts.driver_name)
    elif model is None:
        model = kernel_model.software(facts.driver_name, facts.mean_us("compress"), facts.mean_us("decompress"))
    configs = model.get("configurations")
    default = configs[model["configuration"]] if configs else None
    return {
        "driver": facts.driver_name,
        "params": facts.params,
        "ratio": facts.ratio(),
        "pool_bytes": fp.pool_bytes,
        "metadata_bytes": fp.metadata_bytes,
        "size_histogram": {
            "class_size": list(fp.histogram),
            "pages": list(fp.histogram.values()),
            "rejected_pages": fp.rejected_pages,
            "failed_pages": facts.errors,
        },
        "compress_ns": default["compress_ns"] if default else _ns(facts.compress_ns),
        "decompress_ns": default["decompress_ns"] if default else _ns(facts.decompress_ns),
        "kernel_model": model,
        "_roundtrip_failures": facts.roundtrip_failures,
    }


def _configurations(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per configuration: a modelled device's batchings, or the compressor itself."""
    rows = []
    for rec in records:
        model = rec["kernel_model"]
        base = {
            "driver": rec["driver"],
            "ratio": rec["ratio"],
            "memory_bytes": rec["pool_bytes"] + rec["metadata_bytes"],
            "rejected_pages": rec["size_histogram"]["rejected_pages"],
        }
        for name, cfg in (model.get("configurations") or {model["configuration"]: None}).items():
            src = cfg or model
            rows.append(
                {
                    **base,
                    "configuration": name,
                    "label": cfg["label"] if cfg else "",
                    "timing": "model"
                    if cfg
                    else ("measured" if model["sys_us_per_zswpout"] is not None else "emulated"),
                    "compress_ns": cfg["compress_ns"] if cfg else rec["compress_ns"],
                    "decompress_ns": cfg["decompress_ns"] if cfg else rec["decompress_ns"],
                    "sys_us_per_zswpout": src["sys_us_per_zswpout"],
                    "zswap_mb_s_per_cpu": src["zswap_mb_s_per_cpu"],
                }
            )
    return rows


def _pct(a: float, b: float) -> int:
    return round(abs(a - b) * 100 / b) if b else 0


def recommend(rows: Sequence[dict[str, Any]], prefer: str, slack: int) -> dict[str, Any]:
    """The configuration to use and one or two lines of reasons."""
    priced = [r for r in rows if r["sys_us_per_zswpout"] is not None and r["memory_bytes"] > 0]
    if not priced:
        return {"driver": None, "reasons": ["no configuration could be priced (nothing but zero pages?)"]}
    smallest = min(priced, key=lambda r: (r["memory_bytes"], r["sys_us_per_zswpout"]))
    cheapest = min(priced, key=lambda r: (r["sys_us_per_zswpout"], r["memory_bytes"]))
    if prefer == "memory":
        pick = smallest
    elif prefer == "cpu":
        pick = cheapest
    else:
        bound = smallest["memory_bytes"] * (1 + slack / 100)
        pick = min((r for r in priced if r["memory_bytes"] <= bound), key=lambda r: r["sys_us_per_zswpout"])
    reasons = [_reason(pick, smallest, cheapest, prefer, slack)]
    device = {r.driver_name for r in acomp.algorithms() if r.is_device}
    if pick["driver"] in device:
        soft = [r for r in priced if r["driver"] not in device]
        alt = recommend(soft, prefer, slack) if soft else None
        if alt and alt["driver"]:
            reasons.append(
                f"{pick['driver']} needs an IAA device (its times here are its timing model's); without one: "
                f"{alt['reasons'][0]}"
            )
    return {"driver": pick["driver"], "configuration": pick["configuration"], "reasons": reasons}


def _reason(pick: dict[str, Any], smallest: dict[str, Any], cheapest: dict[str, Any], prefer: str, slack: int) -> str:
    name = pick["configuration"]
    cpu, mem = pick["sys_us_per_zswpout"], pick["memory_bytes"]
    if pick is not smallest:
        return (
            f"{name}: {_pct(mem, smallest['memory_bytes'])}% more memory than {smallest['configuration']} for "
            f"{_pct(cpu, smallest['sys_us_per_zswpout'])}% less CPU per page"
        )
    if pick is cheapest:
        return f"{name}: the smallest pool ({mem / _MIB:.1f} MiB) and the least CPU per page ({cpu:.1f} µs)"
    more = _pct(cheapest["memory_bytes"], mem)
    why = f"over the {slack}% allowed" if prefer == "balanced" else "--prefer memory"
    return (
        f"{name}: the smallest pool ({mem / _MIB:.1f} MiB); {cheapest['configuration']} costs "
        f"{_pct(cheapest['sys_us_per_zswpout'], cpu)}% less CPU per page but needs {more}% more memory ({why})"
    )


def advise(source: Any, compressors: Sequence[tuple[str, dict[str, object]]], sample: int | None, seed: int) -> Any:
    """Stream ``source`` through every compressor; returns (counts, compressor records)."""
    total = source.total if sample is None or source.total is None else min(sample, source.total)
    with PageFacts(compressors) as facts, Progress(total, "reading and compressing") as bar:
        for page in source.pages(sample, seed):
            facts.add(page)
            bar.update()
        codecs = facts.codecs
        counts = facts.counts
    devices = {r.driver_name for r in acomp.algorithms() if r.is_device}
    with Progress(len(codecs), "modelling") as bar:
        records = []
        for c in codecs:
            bar.set_label(f"modelling {c.driver_name}")
            records.append(_compressor_record(c, c.driver_name in devices))
            bar.update()
    return counts, records


# -- output -----------------------------------------------------------------------------------


def zswap_parameters(root: str = _ZSWAP_PARAMS) -> dict[str, str] | None:
    """This machine's ``/sys/module/zswap/parameters``, or None when there are none."""
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return None
    out = {}
    for name in names:
        try:
            with open(os.path.join(root, name)) as f:
                out[name] = f.read().strip()
        except OSError:
            out[name] = "?"
    return out


def _us(ns: dict[str, float | None]) -> str:
    p50, p99 = ns["p50"], ns["p99"]
    return "-" if p50 is None or p99 is None else f"{p50 / 1e3:.2f} / {p99 / 1e3:.2f}"


def render(description: str, counts: Any, skipped: int, rows: Sequence[dict[str, Any]], rec: dict[str, Any]) -> str:
    n = max(1, counts.pages)
    head = (
        f"acomp advise: {description}\n"
        f"{counts.pages} pages read: zero-filled {counts.zero_pages} ({counts.zero_pages * 100 / n:.1f}%, the swap "
        f"layer's zero map keeps them out of zswap), same-filled {counts.same_filled_pages} "
        f"({counts.same_filled_pages * 100 / n:.1f}%, zram would store them without compressing)"
        + (f", unreadable {skipped} (skipped)" if skipped else "")
    )
    headers = [
        "configuration",
        "ratio",
        "pool MiB",
        "rejected",
        "codec",
        "comp µs p50/p99",
        "decomp µs p50/p99",
        "sys µs/zswpout (model)",
        "zswap MB/s/CPU (model)",
    ]
    body = []
    for r in rows:
        label = r["configuration"] + (f" ({r['label']})" if r["label"] else "")
        body.append(
            [
                ("* " if r["configuration"] == rec.get("configuration") else "  ") + label,
                fmt_num(r["ratio"]),
                fmt_num(r["memory_bytes"] / _MIB),
                r["rejected_pages"],
                r["timing"],
                _us(r["compress_ns"]),
                _us(r["decompress_ns"]),
                fmt_num(r["sys_us_per_zswpout"], 1),
                fmt_num(r["zswap_mb_s_per_cpu"], 0),
            ]
        )
    notes = (
        "pool MiB: zsmalloc pages (whole zspages) + zswap metadata per stored page; rejected: outputs larger than a "
        "page, which zswap sends to the swap device.\ncodec: 'measured' = the driver's own codec call timed here, "
        "this machine's; 'model' = the device's timing model on these pages' sizes; 'emulated' = an emulated device "
        "no plugin models: its times are the emulator's, not priced. sys µs/zswpout = zswap's own "
        f"{kernel_model.ZSWAP_OWN_US_PER_PAGE:.1f} µs (derived from the seed) + the compress time."
    )
    lines = [head, render_table(headers, body, align="lrrrlrrrr"), notes]
    if rec["driver"]:
        lines.append("recommendation: " + "\n                ".join(rec["reasons"]))
    else:
        lines.append("no recommendation: " + rec["reasons"][0])
    return "\n".join(lines)


def plot(rows: Sequence[dict[str, Any]], records: Sequence[dict[str, Any]], path: str, title: str) -> None:
    """Left: modelled cost against pool footprint, per configuration; right: the size histogram per compressor."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    colours = {rec["driver"]: f"C{i % 10}" for i, rec in enumerate(records)}
    labelled: dict[str, int] = {}  # configurations of one driver share a footprint: stack their labels
    for r in rows:
        if r["sys_us_per_zswpout"] is None:
            continue
        x, y = r["sys_us_per_zswpout"], r["memory_bytes"] / _MIB
        left.scatter([x], [y], color=colours[r["driver"]], marker="s" if r["timing"] == "model" else "o")
        k = labelled[r["driver"]] = labelled.get(r["driver"], -1) + 1
        left.annotate(r["configuration"], (x, y), textcoords="offset points", xytext=(4, 4 + 10 * k), fontsize=8)
    left.set_xlabel("modelled sys µs per zswpout (lower is better)")
    left.set_ylabel("zswap pool + metadata, MiB (lower is better)")
    left.set_title("cost against footprint (square: timing model)", fontsize=9)
    edges = list(range(0, PAGE_SIZE + 1, _PLOT_BIN))
    for rec in records:
        h = rec["size_histogram"]
        bins = [0] * (len(edges) - 1)
        for size, pages in zip(h["class_size"], h["pages"]):
            bins[min(len(bins) - 1, (size - 1) // _PLOT_BIN)] += pages
        right.step(edges[1:], bins, where="pre", color=colours[rec["driver"]], label=rec["driver"])
    right.set_xlabel(f"zsmalloc size class, bytes (object + handle; {_PLOT_BIN}-byte bins)")
    right.set_ylabel("stored pages")
    right.set_title("compressed sizes over zsmalloc's size classes", fontsize=9)
    right.legend(fontsize=8)
    save_figure(plt, fig, title, path)


def run(args: argparse.Namespace) -> int:
    compressors = _compressors(args.compressors, args.param)
    with source_from_args(args, DEFAULT_PAGES) as source:
        try:
            counts, records = advise(source, compressors, args.sample, args.seed)
        except acomp.AcompError as exc:
            raise CliError(f"{exc.errname}: {exc}") from None
        skipped, description, kind = source.skipped, source.description, source.kind
    rows = _configurations(records)
    rec = recommend(rows, args.prefer, args.memory_slack)
    bad = [r["driver"] for r in records if r.pop("_roundtrip_failures")]
    if args.json:
        dump_json(
            {
                "source": {
                    "kind": kind,
                    "pages": counts.pages,
                    "zero_pages": counts.zero_pages,
                    "same_filled_pages": counts.same_filled_pages,
                    "skipped_pages": skipped,
                },
                "compressors": records,
                "recommendation": {"driver": rec["driver"], "reasons": rec["reasons"]},
            }
        )
    else:
        print(render(description, counts, skipped, rows, rec))
        params = zswap_parameters()
        if params is not None:
            settings = ", ".join(f"{k}={v}" for k, v in params.items())
            print(f"this machine's zswap ({_ZSWAP_PARAMS}): {settings}")
    if args.plot:
        plot(rows, records, args.plot, f"acomp advise: {description}")
    if bad:
        raise CliError(f"pages did not round-trip with {', '.join(bad)}")
    return 0
