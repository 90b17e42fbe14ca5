"""``acomp seed`` Table 3: what the model was *not* fitted on, predicted and compared with the seed.

1. **Batching saving per page, usemem30.**  The seed's sys time per swapped-out
   page drops from 34.19 to 32.55 µs (16k/32k/64k folios) when deflate-iaa
   batches.  The model's saving: one synchronous request per page
   (mm-unstable's ``zswap_compress``) minus a batch of 8 with async request
   chaining, per page.
2. **Distributing compress jobs over all IAAs of the socket.**  The seed: "a
   latency reduction of 2.5% ... (based on v1 data)".  The model: a batch of 8
   with global compress WQs (jobs round robin over the package's 4 devices)
   against the same batch on the core's own device.
3. **Per-WQ balance.**  The seed: "wq.1 of all IAA devices [shows] almost the
   same number of compress calls; wq.0 will handle decompress calls
   exclusively".  Here: a usemem-like run through the emulated driver on the
   seed's machine (112 cores, 2 WQs per device, ``g_wqs_per_iaa=1``), read
   from its own per-WQ statistics.

A prediction that misses by more than 25% is explained in docs/iaa.md
("Predictions"); the model is never re-fitted on these numbers.
"""

from __future__ import annotations

import random
from typing import Any

from acomp_iaa.seed.latency import diff_pct, simulate

__all__ = ["SEED_CLAIMS", "TOLERANCE_PCT", "batching_saving", "distribution_gain", "predictions", "wq_balance"]

#: A prediction is "within" when it is this close to the seed (in % of the seed's figure).
TOLERANCE_PCT = 25.0

#: The seed's usemem30 sys time per zswpout without and with batching (µs), derived in Table 2.
_USEMEM_SYS_US = {
    "16k/32k/64k": (2_205.73 / 64_511_695 * 1e6, 2_099.80 / 64_510_499 * 1e6),
    "2M": (2_044.02 / 64_521_910 * 1e6, 1_925.84 / 64_520_405 * 1e6),
}
#: The seed's zstd control, which does not batch: sys time per zswpout on mm-unstable and on v5 (µs).
#: What moved between the two kernels for every compressor is not batching's doing.
_ZSTD_CONTROL_US = {
    "16k/32k/64k": (2_628.55 / 48_932_319 * 1e6, 2_684.53 / 48_931_447 * 1e6),
    "2M": (2_332.67 / 48_934_491 * 1e6, 2_415.00 / 48_934_952 * 1e6),
}
SEED_CLAIMS = {
    "batching_saving_us_per_page": {f: a - b for f, (a, b) in _USEMEM_SYS_US.items()},
    "distribution_latency_reduction_pct": 2.5,
    "wq1_compress_spread_pct": 0.0,
}


def batching_saving(batches: int, seed: int, pages: list[bytes] | None) -> dict[str, float]:
    """The model's compress latency per page without and with batching, and the saving (µs)."""
    single = simulate("sync", batches, seed, pages, batch_size=1)
    batch = simulate("async", batches, seed, pages)
    nobatch_us = single.mean / 1e3
    batch_us = batch.mean / 8 / 1e3
    return {
        "compress_us_per_page_no_batching": nobatch_us,
        "compress_us_per_page_batching": batch_us,
        "saving_us_per_page": nobatch_us - batch_us,
    }


def distribution_gain(batches: int, seed: int, pages: list[bytes] | None) -> dict[str, float]:
    """Batch-of-8 latency on the core's own device vs over the package's global WQs (ns, %)."""
    local = simulate("async", batches, seed, pages, wqs_per_device=1)
    spread = simulate("async", batches, seed, pages, wqs_per_device=2)
    return {
        "local_mean_ns": local.mean,
        "global_mean_ns": spread.mean,
        "reduction_pct": (local.mean - spread.mean) * 100.0 / local.mean,
    }


def wq_balance(folios_per_core: int = 6, seed: int = 30) -> dict[str, Any]:
    """Compress folios (16k/32k/64k, batches of 8) and swap some pages back in, from every core
    of the seed's machine, through the emulated driver; return its per-WQ statistics.

    The machine must already be configured as the seed's (see :func:`acomp_iaa.seed.seed_machine`).
    """
    import acomp_iaa
    from acomp_iaa.timing import usemem_pages

    sub = acomp_iaa.subsystem()
    pages = usemem_pages(64, seed)
    rng = random.Random(seed)
    caps4k = [2 * 4096] * 8
    for cpu in range(sub.topology.n_cores):
        drv = acomp_iaa.DeflateIaaDriver(cpu=cpu)
        stored: list[bytes] = []
        for _ in range(folios_per_core):
            nr = rng.choice((4, 8, 16))
            folio = [pages[rng.randrange(len(pages))] for _ in range(nr)]
            for k in range(0, nr, 8):
                chunk = folio[k : k + 8]
                out = drv.batch_compress(chunk, caps4k[: len(chunk)])
                stored += [o for o in out if isinstance(o, bytes)]
        for blob in rng.sample(stored, min(4, len(stored))):
            drv.decompress(blob, 4096)
        drv.close()
    snap = acomp_iaa.stats()["devices"]
    wq1 = [snap[f"iaa{d}"]["wqs"]["wq.1"]["comp_calls"] for d in range(sub.topology.n_devices)]
    mean = sum(wq1) / len(wq1)
    return {
        "wq1_comp_calls": wq1,
        "wq1_spread_pct": (max(wq1) - min(wq1)) * 100.0 / mean if mean else 0.0,
        "wq0_comp_calls": sum(snap[f"iaa{d}"]["wqs"]["wq.0"]["comp_calls"] for d in range(sub.topology.n_devices)),
        "wq0_decomp_calls": sum(snap[f"iaa{d}"]["wqs"]["wq.0"]["decomp_calls"] for d in range(sub.topology.n_devices)),
        "wq1_decomp_calls": sum(snap[f"iaa{d}"]["wqs"]["wq.1"]["decomp_calls"] for d in range(sub.topology.n_devices)),
    }


def _row(name: str, predicted: float, seed: float, unit: str, error_pct: float, note: str) -> dict[str, Any]:
    return {
        "prediction": name,
        "model_predicted": predicted,
        "seed": seed,
        "unit": unit,
        "error_pct": error_pct,
        "within_tolerance": abs(error_pct) <= TOLERANCE_PCT,
        "note": note,
    }


def predictions(batches: int, seed: int, pages: list[bytes] | None, balance: dict[str, Any]) -> list[dict[str, Any]]:
    """The three out-of-sample predictions with their error against the seed."""
    saving = batching_saving(batches, seed, pages)["saving_us_per_page"]
    rows = []
    for folios, seed_saving in SEED_CLAIMS["batching_saving_us_per_page"].items():  # type: ignore[attr-defined]
        old, new = _ZSTD_CONTROL_US[folios]
        drift = new - old  # seed-derived: zstd got slower per page from mm-unstable to v5
        row = _row(
            f"usemem30 {folios}: batching saving per page",
            saving,
            seed_saving,
            "us/page",
            diff_pct(saving, seed_saving),
            f"model: compress latency saved; seed: sys time saved per zswpout, which also holds the "
            f"{drift:+.2f} us/page the non-batching zstd control moved between the kernels; net of it "
            f"the error is {diff_pct(saving - drift, seed_saving):+.0f}% (docs/iaa.md, Predictions)",
        )
        row["seed_derived_zstd_drift_us_per_page"] = drift
        row["error_pct_net_of_zstd_drift"] = diff_pct(saving - drift, seed_saving)
        rows.append(row)
    gain = distribution_gain(batches, seed, pages)["reduction_pct"]
    claim = float(SEED_CLAIMS["distribution_latency_reduction_pct"])  # type: ignore[arg-type]
    rows.append(
        _row(
            "latency reduction from global compress WQs",
            gain,
            claim,
            "%",
            diff_pct(gain, claim),
            "seed: v1 data on a loaded machine; the model has one core's batch alone (docs/iaa.md)",
        )
    )
    spread = balance["wq1_spread_pct"]
    only = balance["wq0_comp_calls"] == 0 and balance["wq1_decomp_calls"] == 0
    rows.append(
        _row(
            "wq.1 compress calls alike on every device (spread max-min)",
            spread,
            0.0,
            "% of mean",
            spread,  # the seed says "almost the same": its figure is 0, the error is the spread itself
            "emulation's per-WQ stats; wq.0 only decompress: " + ("yes" if only else "NO"),
        )
    )
    return rows


def render_predictions(rows: list[dict[str, Any]]) -> str:
    from acomp.cli.output import fmt_num, render_table

    body = [
        [
            r["prediction"],
            fmt_num(r["model_predicted"], 2),
            fmt_num(r["seed"], 2),
            r["unit"],
            f"{r['error_pct']:+.0f}%",
            "yes" if r["within_tolerance"] else "no (see docs/iaa.md)",
        ]
        for r in rows
    ]
    notes = "\n".join(f"  {i + 1}. {r['note']}" for i, r in enumerate(rows))
    return (
        render_table(
            ["prediction (not fitted)", "model (predicted)", "seed", "unit", "error", f"within {TOLERANCE_PCT:g}%"],
            body,
            title="Table 3. out-of-sample predictions of the timing model and the emulation, against the seed",
            align="lrrlrl",
        )
        + "\n"
        + notes
    )
