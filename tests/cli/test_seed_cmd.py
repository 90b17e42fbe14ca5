"""``acomp seed``: seed figures beside the timing model's, with the % difference."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("acomp_iaa.timing")


def test_prints_both_columns_and_difference(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = cli("seed", "--batches", "2000", "--no-measure")
    assert rc == 0, err
    for text in (
        "async polling",
        "sync request chaining",
        "async request chaining",
        "mean ns (seed)",
        "mean ns (model)",
        "mean diff",
        "p99 ns (seed)",
        "p99 diff",
        "10,083",
        "33,391",
        "9,959",
        "usemem30",
        "seed-derived",
        "cannot reproduce",
    ):
        assert text in out
    assert "%" in out


def test_latency_within_10_percent_of_seed(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli("seed", "--batches", "10000", "--no-measure", "--json")
    assert rc == 0
    doc = json.loads(out)
    assert {r["mode"] for r in doc["latency"]} == {"async_polling", "sync", "async"}
    for row in doc["latency"]:
        for stat in ("mean", "p50", "p99"):
            assert abs(row["diff_pct"][stat]) <= 10.0, (row["mode"], stat, row["diff_pct"][stat])
            seed = row["seed"][f"{stat}_ns"]
            model = row["model"][f"{stat}_ns"]
            assert row["diff_pct"][stat] == pytest.approx((model - seed) * 100 / seed)
    u = doc["usemem30"]["folios"]["16k/32k/64k"]
    assert u["seed"]["deflate-iaa batching"]["throughput_kb_s"] == 8_027_314
    assert u["seed_derived"]["sys_us_per_zswpout"]["zstd"] == pytest.approx(54.9, abs=0.05)


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
    rc, out, _ = cli("seed", "--batches", "300", "--no-measure", "--corpus-pages", "16", "--json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["measured_here"] is None
    assert {r["mode"] for r in doc["latency"]} == {"async_polling", "sync", "async"}
