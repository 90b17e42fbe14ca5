"""``acomp seed`` Table 1: the batch-of-8 latency, the seed's figures beside the timing model's.

The model (:func:`acomp_iaa.timing.simulate_batch_latency`) was calibrated on
this very table, so its numbers here are *fitted*: a match shows the fit, not
a prediction.  The predictions are in :mod:`acomp_iaa.seed.predictions`.
"""

from __future__ import annotations

from typing import Any

from acomp_iaa.timing import LatencySummary, ModelMode, simulate_batch_latency

__all__ = ["SEED_LATENCY", "diff_pct", "latency_table", "plot_latency", "render_latency", "simulate"]

#: The seed's table: mode -> (label, count, mean, p50, p99), times in ns (SPEC section 2).
SEED_LATENCY: dict[str, tuple[str, int, int, int, int]] = {
    "async_polling": ("async polling", 5_210_702, 10_083, 9_675, 17_488),
    "sync": ("sync request chaining", 5_396_532, 33_391, 32_977, 39_426),
    "async": ("async request chaining", 5_509_777, 9_959, 9_611, 16_590),
}
_STATS = ("mean", "p50", "p99")


def simulate(mode: ModelMode, batches: int, seed: int, pages: list[bytes] | None, **kwargs: Any) -> LatencySummary:
    """``simulate_batch_latency(mode, ...)`` on ``pages`` (None: the model's usemem-like pages)."""
    if pages is not None:
        kwargs["page_source"] = pages
    return simulate_batch_latency(mode, n_batches=batches, seed=seed, **kwargs)


def diff_pct(model: float, seed: float) -> float:
    """The model's difference from the seed's figure, in % of the seed's."""
    return (model - seed) * 100.0 / seed


def latency_table(batches: int, seed: int, pages: list[bytes] | None) -> list[dict[str, Any]]:
    rows = []
    for mode, (label, count, mean, p50, p99) in SEED_LATENCY.items():
        got = simulate(mode, batches, seed, pages)  # type: ignore[arg-type]
        rows.append(
            {
                "implementation": label,
                "mode": mode,
                "seed": {"count": count, "mean_ns": mean, "p50_ns": p50, "p99_ns": p99},
                "model": {"count": got.n, "mean_ns": got.mean, "p50_ns": got.p50, "p99_ns": got.p99},
                "model_kind": "fitted",
                "diff_pct": {
                    "mean": diff_pct(got.mean, mean),
                    "p50": diff_pct(got.p50, p50),
                    "p99": diff_pct(got.p99, p99),
                },
            }
        )
    return rows


def render_latency(rows: list[dict[str, Any]], batches: int, source: str) -> str:
    from acomp.cli.output import fmt_int, render_table

    headers = ["iaa_crypto batching", "count (seed)"]
    for stat in _STATS:
        headers += [f"{stat} ns (seed)", f"{stat} ns (model, fitted)", f"{stat} diff"]
    body = []
    for r in rows:
        line: list[object] = [r["implementation"], fmt_int(r["seed"]["count"])]
        for stat in _STATS:
            line += [
                fmt_int(r["seed"][f"{stat}_ns"]),
                fmt_int(r["model"][f"{stat}_ns"]),
                f"{r['diff_pct'][stat]:+.1f}%",
            ]
        body.append(line)
    title = (
        "Table 1. crypto_acomp_batch_compress() latency, batch of 8, usemem30 16k/32k/64k folios\n"
        f"  seed = published; model (fitted) = acomp_iaa timing model calibrated on this table, "
        f"{batches:,} batches of {source}"
    )
    return render_table(headers, body, title=title, align="l" + "r" * (len(headers) - 1))


def plot_latency(rows: list[dict[str, Any]], path: str, title: str) -> None:
    """Seed vs model, mean/p50/p99 per implementation, as grouped bars (matplotlib, lazily)."""
    from acomp.cli.output import pyplot, save_figure

    plt = pyplot()
    keys = tuple(f"{stat}_ns" for stat in _STATS)
    fig, axes = plt.subplots(1, len(rows), figsize=(4 * len(rows), 3.8), sharey=True)
    for ax, row in zip(axes, rows):
        xs = range(len(keys))
        ax.bar([x - 0.2 for x in xs], [row["seed"][k] / 1e3 for k in keys], width=0.4, label="seed (published)")
        ax.bar([x + 0.2 for x in xs], [row["model"][k] / 1e3 for k in keys], width=0.4, label="model (fitted)")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(list(_STATS))
        ax.set_title(row["implementation"], fontsize=10)
        ax.set_ylabel("batch of 8 latency (µs)")
    axes[0].legend(fontsize=8)
    save_figure(plt, fig, title, path)
