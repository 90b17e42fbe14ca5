"""``acomp seed`` Table 2: the usemem30 shape, seed figures beside the model's per-page prediction.

What the model cannot reproduce, it does not pretend to: the seed's
throughput, elapsed time and sys time come from a kernel under memory
pressure, none of which exists here; the model *predicts* (it was not fitted
on usemem30) the compress cost per page with and without batching, hence the
sys time batching saves per page (see :mod:`acomp_iaa.seed`).  Table 2b is a
small usemem-like run through acomp's zswap (``acomp.cli.usemem``), measured
here.  The CLI's helpers are imported when the command runs: this module is
the CLI's, hosted by the plugin.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from typing import Any

import acomp
from acomp_iaa.seed.latency import diff_pct
from acomp_iaa.seed.predictions import batching_saving

__all__ = ["SEED_USEMEM30", "measure", "render_usemem", "usemem_table"]

#: The seed's usemem30 results (v5 columns; deflate-iaa "without batching" is the
#: mm-unstable column): folios -> config -> (throughput KB/s, elapsed s, sys s, zswpout).
SEED_USEMEM30: dict[str, dict[str, tuple[int, float, float, int]]] = {
    "16k/32k/64k": {
        "zstd": (6_180_657, 112.02, 2_684.53, 48_931_447),
        "deflate-iaa no batching": (7_679_064, 90.82, 2_205.73, 64_511_695),
        "deflate-iaa batching": (8_027_314, 87.53, 2_099.80, 64_510_499),
    },
    "2M": {
        "zstd": (6_534_525, 104.44, 2_415.00, 48_934_952),
        "deflate-iaa no batching": (8_197_457, 86.79, 2_044.02, 64_521_910),
        "deflate-iaa batching": (8_427_981, 83.45, 1_925.84, 64_520_405),
    },
}
_CONFIGS = ("zstd", "deflate-iaa no batching", "deflate-iaa batching")
_CAVEAT = (
    "What the model cannot reproduce: throughput, elapsed and sys time need a kernel under memory "
    "pressure (reclaim, faults, 30 processes on 112 cores); the seed's figures are shown as published. "
    "The model rows are predictions (the model was fitted on Table 1 only) from per-page IAA compress "
    "costs: its batching sys time is the seed's "
    "no-batching us/page minus the model's per-page saving, times the seed's zswpout. zstd has no "
    "model (it is software): its column is seed only. Measured-here numbers are Python on this "
    "machine and are not comparable with kernel microseconds."
)


def _changes(new: tuple[int, float, float, int], base: tuple[int, float, float, int]) -> dict[str, float]:
    """Throughput, elapsed and sys time of ``new`` vs ``base``, in %."""
    return {
        "throughput_pct": diff_pct(new[0], base[0]),
        "elapsed_pct": diff_pct(new[1], base[1]),
        "sys_pct": diff_pct(new[2], base[2]),
    }


def usemem_table(batches: int, seed: int, pages: list[bytes] | None) -> dict[str, Any]:
    """The usemem30 shape: seed figures, seed-derived µs/page, and the model's predicted per-page costs."""
    m = batching_saving(batches, seed, pages)
    per_page_nobatch_us = m["compress_us_per_page_no_batching"]
    per_page_batch_us = m["compress_us_per_page_batching"]
    model_saving_us = m["saving_us_per_page"]
    out: dict[str, Any] = {
        "model": {
            "compress_us_per_page_no_batching": per_page_nobatch_us,
            "compress_us_per_page_batching": per_page_batch_us,
            "saving_us_per_page": model_saving_us,
            "kind": "predicted",
            "source": "model: sync single request vs async request chaining batch of 8 / 8",
        },
        "folios": {},
    }
    for folios, cfgs in SEED_USEMEM30.items():
        zstd, seq, bat = cfgs["zstd"], cfgs["deflate-iaa no batching"], cfgs["deflate-iaa batching"]
        us = {name: v[2] / v[3] * 1e6 for name, v in cfgs.items()}
        seed_saving = us["deflate-iaa no batching"] - us["deflate-iaa batching"]
        # The model's batching sys time: the seed's no-batching sys time per page minus the
        # model's saving, over the seed's batching zswpout.
        model_batch_sys = (us["deflate-iaa no batching"] - model_saving_us) * bat[3] / 1e6
        out["folios"][folios] = {
            "seed": {
                name: {"throughput_kb_s": v[0], "elapsed_s": v[1], "sys_s": v[2], "zswpout": v[3]}
                for name, v in cfgs.items()
            },
            "seed_derived": {
                "sys_us_per_zswpout": us,
                "batching_vs_zstd": _changes(bat, zstd),
                "batching_vs_no_batching": _changes(bat, seq),
                "batching_saving_us_per_page": seed_saving,
            },
            "model": {
                "kind": "predicted",
                "batching_saving_us_per_page": model_saving_us,
                "saving_diff_pct": diff_pct(model_saving_us, seed_saving),
                "batching_sys_s": model_batch_sys,
                "batching_sys_diff_pct": diff_pct(model_batch_sys, bat[2]),
                "batching_vs_no_batching_sys_pct": diff_pct(model_batch_sys, seq[2]),
            },
        }
    return out


def _render_folios(folios: str, f: dict[str, Any], m: dict[str, Any]) -> str:
    from acomp.cli.output import fmt_int, fmt_num, render_table

    s, d, mo = f["seed"], f["seed_derived"], f["model"]

    def seed_row(label: str, key: str, pct: str, fmt: Callable[[Any], str]) -> list[object]:
        """A seed figure per configuration, then batching's change vs no batching and vs zstd."""
        return [
            label,
            "seed",
            *(fmt(s[n][key]) for n in _CONFIGS),
            f"{d['batching_vs_no_batching'][pct]:+.0f}%",
            f"{d['batching_vs_zstd'][pct]:+.0f}%",
        ]

    rows: list[list[object]] = [
        seed_row("Total throughput (KB/s)", "throughput_kb_s", "throughput_pct", fmt_int),
        seed_row("elapsed time (sec)", "elapsed_s", "elapsed_pct", fmt_num),
        seed_row("sys time (sec)", "sys_s", "sys_pct", fmt_num),
        ["zswpout", "seed", *(fmt_int(s[n]["zswpout"]) for n in _CONFIGS), "", ""],
        [],
        [
            "sys us / zswpout",
            "seed-derived",
            *(fmt_num(d["sys_us_per_zswpout"][n], 1) for n in _CONFIGS),
            f"{-d['batching_saving_us_per_page']:+.2f} us",
            "",
        ],
        [
            "IAA compress us / page",
            "model (predicted)",
            "-",
            fmt_num(m["compress_us_per_page_no_batching"]),
            fmt_num(m["compress_us_per_page_batching"]),
            f"{-mo['batching_saving_us_per_page']:+.2f} us",
            "",
        ],
        [
            "sys time (sec)",
            "model (predicted)",
            "-",
            "-",
            fmt_num(mo["batching_sys_s"]),
            f"{mo['batching_vs_no_batching_sys_pct']:+.1f}%",
            "",
        ],
        ["  vs seed's sys time", "model (predicted)", "", "", f"{mo['batching_sys_diff_pct']:+.1f}%", "", ""],
        ["  batching saving vs seed's", "model (predicted)", "", "", "", f"{mo['saving_diff_pct']:+.0f}%", ""],
    ]
    headers = [
        "usemem30 " + folios,
        "source",
        "zstd",
        "deflate-iaa",
        "deflate-iaa batching",
        "batching vs. no batching",
        "batching vs. zstd",
    ]
    return render_table(headers, rows, title=f"Table 2. usemem30, {folios} folios", align="ll" + "r" * 5)


def _render_measured(measured: list[dict[str, Any]]) -> str:
    from acomp.cli.output import fmt_int, fmt_num, render_table

    rows: list[list[object]] = []
    for r in measured:
        c, mt = r["config"], r["metrics"]
        rows.append(
            [
                c["driver"] + ("" if c["batching"] else " no batching") + f" ({c['nr_reqs']} reqs)",
                fmt_int(mt["total_throughput_kb_s"]),
                fmt_num(mt["elapsed_s"], 3),
                fmt_num(mt["cpu_s"], 3),
                fmt_int(r["zswap"].get("zswpout")),
                fmt_num(mt["cpu_us_per_zswpout"], 1),
                "ok" if not (r["verify"]["mismatched"] or r["verify"]["missing"]) else "FAILED",
            ]
        )
    c0 = measured[0]["config"]
    return render_table(
        ["configuration", "throughput KB/s", "elapsed s", "CPU s", "zswpout", "CPU us / zswpout", "verify"],
        rows,
        title=(
            f"Table 2b. the same shape measured here: acomp zswap, {c0['workers']} workers x "
            f"{c0['pages_per_worker']} pages, 16k/32k/64k folios (Python; CPU time = process time, "
            "including the emulated device's threads)"
        ),
        align="l" + "r" * 6,
    )


def render_usemem(u: dict[str, Any], measured: list[dict[str, Any]] | None) -> str:
    """Table 2 per folio size, Table 2b when there is a measured run, and what the model cannot do."""
    parts = [_render_folios(folios, f, u["model"]) for folios, f in u["folios"].items()]
    if measured:
        parts.append(_render_measured(measured))
    parts.append(textwrap.fill(_CAVEAT, width=100))
    return "\n\n".join(parts)


def measure(pages_per_worker: int) -> list[dict[str, Any]]:
    """zstd, and deflate-iaa without and with batching when registered, through the usemem-like workload.

    deflate-iaa runs on the machine :func:`acomp_iaa.seed.seed_machine` configured (the seed's).
    """
    import attrs

    from acomp.cli.corpus import build_corpus
    from acomp.cli.output import CliError
    from acomp.cli.usemem import WorkloadConfig, run_workload

    zstd = WorkloadConfig(compressor="zstd", workers=2, pages_per_worker=pages_per_worker)
    configs = [zstd]
    try:
        acomp.registry.get_registry().lookup("deflate-iaa")
    except acomp.AlgorithmNotFound:
        print("acomp: note: deflate-iaa is not registered; the measured run has zstd only", file=sys.stderr)
    else:
        configs += [attrs.evolve(zstd, compressor="deflate-iaa", batching=b) for b in (False, True)]
    corpus = build_corpus(min(2 * pages_per_worker, 8192))
    out = []
    for cfg in configs:
        try:
            out.append(run_workload(cfg, corpus))
        except acomp.AcompError as exc:
            raise CliError(f"measured run with {cfg.label}: {exc.errname}: {exc}") from None
    return out
