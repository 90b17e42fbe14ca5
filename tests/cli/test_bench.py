"""``acomp bench``: table, CSV, JSON, plot, batch path and --pages FILE (no timed assertions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import acomp


def test_table(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = cli("bench", "--pages", "16", "--repeat", "1", "--drivers", "lz4,zstd")
    assert rc == 0, err
    for col in ("ratio", "comp MB/s", "decomp MB/s", "comp us/page", "comp x raw", "lz4-generic", "zstd-generic"):
        assert col in out
    assert "measured here" in out


def test_json_and_raw_ratios(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli("bench", "--pages", "24", "--repeat", "1", "--json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["corpus"]["pages"] == 24
    results = {r["driver"]: r for r in doc["results"]}
    for name in ("deflate-generic", "zstd-generic", "lz4-generic", "lz4hc-generic"):
        r = results[name]
        assert r["ratio"] > 1.0
        assert r["raw_call"] and r["compress_vs_raw"] > 0 and r["decompress_vs_raw"] > 0
        assert r["roundtrip_failures"] == 0 and r["errors"] == 0
    for r in results.values():
        if r["raw_call"] is None:
            assert r["compress_vs_raw"] is None


def test_csv_and_batch(cli) -> None:  # type: ignore[no-untyped-def]
    # crypto_acomp_batch_size(): only deflate-iaa (async batching) batches; zstd-generic is 1 (v5).
    rc, out, _ = cli("bench", "--pages", "20", "--repeat", "1", "--drivers", "deflate-iaa,zstd", "--batch", "--csv")
    assert rc == 0
    header, *rows = out.strip().splitlines()
    assert header.startswith("driver,")
    assert any(r.startswith("deflate-iaa,") and "batch x8" in r for r in rows)
    assert any(r.startswith("zstd-generic,") and "batch x8" not in r for r in rows)


def test_pages_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "data.bin"
    f.write_bytes(b"hello world " * 2000)
    rc, out, _ = cli("bench", "--pages", str(f), "--repeat", "1", "--drivers", "lz4", "--json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["corpus"]["pages"] == 6 and "data.bin" in doc["corpus"]["description"]


def test_plot(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    png = tmp_path / "bench.png"
    rc, _, err = cli("bench", "--pages", "8", "--repeat", "1", "--drivers", "lz4", "--plot", str(png))
    assert rc == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_raw_calls_round_trip_and_name_registered_drivers() -> None:
    from acomp.cli.bench_raw import RAW_CALLS, raw_calls
    from acomp.cli.corpus import build_corpus

    registered = {r.driver_name for r in acomp.algorithms()}
    page = build_corpus(1).pages[0]
    for name in RAW_CALLS:
        raw = raw_calls(name)
        if raw is None:  # its library is not installed
            continue
        assert name in registered
        label, comp, decomp = raw
        assert label and decomp(comp(page)) == page, name
    assert raw_calls("no-such-driver") is None


def test_params_disable_the_raw_comparison(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = cli("bench", "--pages", "8", "--repeat", "1", "--drivers", "zstd", "-p", "level=1", "--json")
    assert rc == 0, err
    (r,) = json.loads(out)["results"]
    assert r["raw_call"] is None and r["compress_vs_raw"] is None and r["decompress_vs_raw"] is None
    assert r["ratio"] > 1.0


def test_measure_driver_needs_a_run() -> None:
    from acomp.cli.bench import measure_driver

    with pytest.raises(ValueError, match="repeat"):
        measure_driver("lz4", [bytes(4096)], repeat=0)
