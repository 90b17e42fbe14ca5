"""``acomp seed`` (the IAA plugin's command): seed figures beside the model's, every number labelled."""

from __future__ import annotations

import json
from typing import Any

import acomp_iaa
import pytest


def _json(cli: Any, *args: str) -> dict[str, Any]:
    rc, out, err = cli("seed", *args, "--json")
    assert rc == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def test_prints_fitted_and_predicted_columns(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = cli("seed", "--batches", "2000", "--no-measure")
    assert rc == 0, err
    for text in (
        "async polling",
        "sync request chaining",
        "async request chaining",
        "mean ns (seed)",
        "mean ns (model, fitted)",
        "mean diff",
        "p99 ns (seed)",
        "p99 diff",
        "10,083",
        "33,391",
        "9,959",
        "usemem30",
        "seed-derived",
        "model (predicted)",
        "cannot reproduce",
        "Table 3. out-of-sample predictions",
        "batching saving per page",
        "global compress WQs",
        "wq.1 compress calls",
    ):
        assert text in out, text
    assert "%" in out
    assert not acomp_iaa.subsystem().bound  # the command leaves a fresh machine behind


def test_latency_within_10_percent_of_seed(cli) -> None:  # type: ignore[no-untyped-def]
    doc = _json(cli, "--batches", "10000", "--no-measure")
    assert {r["mode"] for r in doc["latency"]} == {"async_polling", "sync", "async"}
    for row in doc["latency"]:
        assert row["model_kind"] == "fitted"
        for stat in ("mean", "p50", "p99"):
            assert abs(row["diff_pct"][stat]) <= 10.0, (row["mode"], stat, row["diff_pct"][stat])
            seed = row["seed"][f"{stat}_ns"]
            model = row["model"][f"{stat}_ns"]
            assert row["diff_pct"][stat] == pytest.approx((model - seed) * 100 / seed)
    u = doc["usemem30"]["folios"]["16k/32k/64k"]
    assert u["seed"]["deflate-iaa batching"]["throughput_kb_s"] == 8_027_314
    assert u["seed_derived"]["sys_us_per_zswpout"]["zstd"] == pytest.approx(54.9, abs=0.05)
    assert u["model"]["kind"] == "predicted" and doc["usemem30"]["model"]["kind"] == "predicted"


def test_three_predictions_with_their_error(cli) -> None:  # type: ignore[no-untyped-def]
    doc = _json(cli, "--batches", "2000", "--no-measure")
    rows = {r["prediction"]: r for r in doc["predictions"]}
    saving = rows["usemem30 16k/32k/64k: batching saving per page"]
    assert saving["seed"] == pytest.approx(34.19 - 32.55, abs=0.01)
    assert saving["error_pct"] == pytest.approx((saving["model_predicted"] - saving["seed"]) * 100 / saving["seed"])
    dist = rows["latency reduction from global compress WQs"]
    assert dist["seed"] == 2.5 and dist["within_tolerance"] is (abs(dist["error_pct"]) <= 25)
    bal = doc["wq_balance"]
    assert len(bal["wq1_comp_calls"]) == 8 and min(bal["wq1_comp_calls"]) > 0
    assert bal["wq0_comp_calls"] == 0 and bal["wq1_decomp_calls"] == 0 and bal["wq0_decomp_calls"] > 0
    assert doc["machine"]["g_wqs_per_iaa"] == 1


def test_measured_run(cli) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("acomp.zswap")
    rc, out, _ = cli("seed", "--batches", "500", "--measure-pages", "64")
    assert rc == 0
    assert "measured here" in out


def test_plot(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    png = tmp_path / "latency.png"
    rc, _, err = cli("seed", "--batches", "500", "--no-measure", "--plot", str(png))
    assert rc == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rc, _, err = cli("seed", "--batches", "500", "--no-measure", "--plot", str(tmp_path / "no" / "dir.png"))
    assert rc != 0 and err.count("\n") == 1 and "cannot write" in err and "Traceback" not in err


def test_corpus_pages_feed_the_model(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = cli("seed", "--batches", "300", "--no-measure", "--corpus-pages", "16")
    assert rc == 0, err
    assert "batches of acomp corpus pages (16 pages" in out
    doc = _json(cli, "--batches", "300", "--no-measure", "--corpus-pages", "16")
    assert doc["measured_here"] is None
    assert {r["mode"] for r in doc["latency"]} == {"async_polling", "sync", "async"}


def test_bad_arguments_are_one_line_errors(cli) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = cli("seed", "--batches", "0")
    assert rc == 2 and "Traceback" not in err and err.count("\n") == 1
