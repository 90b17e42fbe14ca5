"""``acomp zswap``: the usemem-like workload, its table, compare mode and JSON."""

from __future__ import annotations

import argparse
import json
import random

import pytest

pytest.importorskip("acomp.zswap")

import acomp
from acomp.cli.zswap import folio_plan, parse_folio_sizes


def test_table(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = cli("zswap", "-c", "lz4", "--workers", "2", "--pages-per-worker", "96")
    assert rc == 0, err
    for row in (
        "Total throughput (KB/s)",
        "elapsed time (sec)",
        "CPU time (sec)",
        "zswpout",
        "zswpin",
        "pool_limit_hit",
        "written_back_pages",
        "reject_compress_poor",
        "ZSWPOUT-",
        "pages verified",
    ):
        assert row in out
    assert "ok" in out


def test_compare_batching_and_json(cli) -> None:  # type: ignore[no-untyped-def]
    batching = [r for r in acomp.algorithms() if r.async_batching and r.batch_size > 1]
    if not batching:
        pytest.skip("no registered driver has async batching")
    name = batching[0].driver_name
    rc, out, err = cli(
        "zswap", "--compare", f"{name},{name}:nobatch", "--workers", "2", "--pages-per-worker", "64", "--json"
    )
    assert rc == 0, err
    a, b = json.loads(out)["results"]
    assert a["config"]["batching"] and a["config"]["nr_reqs"] == min(8, batching[0].batch_size)
    assert not b["config"]["batching"] and b["config"]["nr_reqs"] == 1
    for r in (a, b):
        assert r["verify"] == {"pages": 128, "mismatched": 0, "missing": 0}
        assert r["zswap"]["zswpout"] + r["swap"]["pswpout"] + r["swap"].get("swpout_zero", 0) >= 128


def test_compare_table_has_deltas(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli("zswap", "--compare", "lz4,zstd", "--workers", "1", "--pages-per-worker", "64")
    assert rc == 0
    assert "(B) vs. (A)" in out
    assert "%" in out


def test_tight_limit_forces_writeback(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli(
        "zswap", "-c", "lz4", "--workers", "2", "--pages-per-worker", "256", "--total-ram", "512K", "--json"
    )
    assert rc == 0
    (r,) = json.loads(out)["results"]
    assert r["zswap"]["pool_limit_hit"] > 0
    assert r["swap"]["pswpout"] > 0
    assert r["verify"]["mismatched"] == 0 and r["verify"]["missing"] == 0


def test_2m_folios(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli(
        "zswap",
        "-c",
        "zstd",
        "--folio-size",
        "2M",
        "--workers",
        "1",
        "--pages-per-worker",
        "512",
        "--total-ram",
        "1G",
        "--json",
    )
    assert rc == 0
    (r,) = json.loads(out)["results"]
    assert r["zswap"].get("zswpout_2048kB", 0) + r["swap"].get("swpout_2048kB", 0) == 1


def test_folio_plan() -> None:
    assert parse_folio_sizes("mix") == (4, 8, 16)
    assert parse_folio_sizes("64k") == (16,)
    assert parse_folio_sizes("16k,2M") == (4, 512)
    plan = folio_plan(1000, (4, 8, 16), random.Random(0))
    assert sum(plan) == 1000 and set(plan) <= {1, 2, 4, 8, 16}


def test_no_batching_flag(cli) -> None:  # type: ignore[no-untyped-def]
    batching = [r for r in acomp.algorithms() if r.async_batching and r.batch_size > 1]
    if not batching:
        pytest.skip("no registered driver has async batching")
    name = batching[0].driver_name
    rc, out, err = cli("zswap", "-c", name, "--no-batching", "--workers", "1", "--pages-per-worker", "32", "--json")
    assert rc == 0, err
    (r,) = json.loads(out)["results"]
    assert not r["config"]["batching"] and r["config"]["nr_reqs"] == 1


def test_table_shows_every_zswap_counter(cli) -> None:  # type: ignore[no-untyped-def]
    from acomp.zswap.stats import DEBUGFS_COUNTERS, VMSTAT_COUNTERS

    rc, out, _ = cli("zswap", "-c", "lz4", "--workers", "1", "--pages-per-worker", "32")
    assert rc == 0
    labels = {line.split("  ")[0].strip() for line in out.splitlines()}
    for name in VMSTAT_COUNTERS:
        assert name in labels
    for name in DEBUGFS_COUNTERS:
        assert name in labels or f"{name} (after swap-out)" in labels, name


def test_folio_sizes_and_names() -> None:
    from acomp.cli.usemem import size_name

    assert parse_folio_sizes("seed") == (4, 8, 16)
    assert parse_folio_sizes("4KB, 2m ,4k") == (1, 512)
    for bad in ("3k", "", "mix,4k", "4M"):
        with pytest.raises(argparse.ArgumentTypeError, match="folio size"):
            parse_folio_sizes(bad)
    assert folio_plan(3, (16,), random.Random(0)) == [1, 1, 1]
    assert folio_plan(20, (16,), random.Random(0)) == [16, 1, 1, 1, 1]
    assert [size_name(n) for n in (1, 16, 256, 512, 300)] == ["4kB", "64kB", "1MB", "2MB", "1200kB"]


def test_workload_config_defaults() -> None:
    from acomp.cli.usemem import WorkloadConfig

    cfg = WorkloadConfig("zstd", batching=False, workers=3, pages_per_worker=10)
    assert cfg.label == "zstd:nobatch" and cfg.nr_pages == 30
    assert cfg.ram == 30 * acomp.PAGE_SIZE * 3 // 2
    assert WorkloadConfig("zstd", total_ram=1 << 30).ram == 1 << 30


def _zswap_json(cli, *args: str) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    rc, out, err = cli("zswap", "--workers", "2", "--pages-per-worker", "64", "--json", *args)
    assert rc == 0, err
    return json.loads(out)["results"]  # type: ignore[no-any-return]


def test_compare_records_carry_configuration_and_kernel_model(cli) -> None:  # type: ignore[no-untyped-def]
    from acomp.cli.kernel_model import ZSWAP_OWN_US_PER_PAGE

    a, b = _zswap_json(cli, "--compare", "lz4,zstd-generic")
    assert (a["configuration"], b["configuration"]) == ("lz4", "zstd-generic")
    for r in (a, b):
        km = r["kernel_model"]
        assert set(km) == {"compress_us_per_page", "decompress_us_per_page", "sys_us_per_zswpout"}
        assert km["sys_us_per_zswpout"] == pytest.approx(ZSWAP_OWN_US_PER_PAGE + km["compress_us_per_page"])
        assert r["codec"]["ratio"] > 1 and r["codec"]["compress_ns"]["p50"] > 0
        assert r["metrics"]["store_ns_per_page"]["p50"] > 0 and r["metrics"]["load_ns"]["p99"] > 0
        assert "kernel_model (modelled" in r["source"]


def test_modelled_device_configurations(cli, iaa_model) -> None:  # type: ignore[no-untyped-def]
    batch, nobatch = _zswap_json(cli, "--compare", "deflate-iaa,deflate-iaa:nobatch")
    assert nobatch["configuration"] == "deflate-iaa:nobatch" and not nobatch["config"]["batching"]
    assert batch["kernel_model"]["sys_us_per_zswpout"] < nobatch["kernel_model"]["sys_us_per_zswpout"], iaa_model


def test_rounds_by_page_count_and_duration(cli) -> None:  # type: ignore[no-untyped-def]
    (r,) = _zswap_json(cli, "-c", "lz4", "--total-pages", "300")
    assert r["metrics"]["rounds"] == 3  # 128 pages a round: 3 rounds reach 300
    assert r["verify"] == {"pages": 384, "mismatched": 0, "missing": 0}
    assert r["zswap"]["zswpout"] + r["swap"]["pswpout"] + r["swap"]["swpout_zero"] >= 384
    (r,) = _zswap_json(cli, "-c", "lz4", "--duration", "0.3")
    m = r["metrics"]
    assert m["elapsed_s"] + m["refault_elapsed_s"] + m["swapin_elapsed_s"] >= 0.3  # the loop stops only then
    assert r["verify"]["pages"] == 128 * m["rounds"] and r["verify"]["mismatched"] == 0


def test_refault_reads_back_and_dirties_again(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "text"
    f.write_bytes(b"".join(f"page {i} ".encode() * 600 for i in range(64))[: 64 * 4096])  # no zero page
    (r,) = _zswap_json(cli, "-c", "zstd", "--total-ram", "1G", "--refault", "25", "--dump", str(f))
    assert r["metrics"]["refaults"] == 2 * 16  # 25 % of 64 pages, per worker
    assert r["verify"] == {"pages": 128 + 32, "mismatched": 0, "missing": 0}
    # With room in the pool every page is in zswap: each refault is a load, and its store one more.
    assert r["zswap"]["zswpout"] == r["zswap"]["zswpin"] == 128 + 32


def test_pages_from_a_dump(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "dump"
    f.write_bytes(b"".join(bytes([i + 1]) * 4096 for i in range(10)) + bytes(4096))
    (r,) = _zswap_json(cli, "-c", "lz4", "--dump", str(f))
    assert r["config"]["corpus"] == f"11 pages of {f}" and r["verify"]["mismatched"] == 0
    rc, _, err = cli("zswap", "--dump", str(f), "--pages", "5")
    assert rc == 2 and "--pages cannot be combined" in err


def test_text_labels_measured_and_modelled_apart(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = cli("zswap", "--compare", "lz4,zstd", "--workers", "1", "--pages-per-worker", "64")
    assert rc == 0, err
    lines = out.splitlines()
    measured = next(i for i, line in enumerate(lines) if line.startswith("measured here:"))
    modelled = next(i for i, line in enumerate(lines) if line.startswith("modelled (kernel-cost model):"))
    assert measured < modelled
    assert all("(model)" in line for line in lines[modelled + 1 : modelled + 4])
    assert not any("(model)" in line for line in lines[measured:modelled])
    assert "store latency us/page p50 / p99" in out and "compression ratio (codec)" in out


def test_no_shrinker_help_says_what_it_does(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli("zswap", "--help")
    assert rc == 0
    assert "shrink_worker" in " ".join(out.split())


def test_memory_pressure_goes_through_the_shrinker_and_no_shrinker_stops_only_it(cli) -> None:  # type: ignore[no-untyped-def]
    # A pool large enough that the limit's shrink_worker never runs: only the pressure can write back.
    args = ("-c", "zstd", "--workers", "1", "--pages-per-worker", "256", "--max-pool-percent", "100", "--json")
    rc, out, err = cli("zswap", *args, "--pressure", "50")
    assert rc == 0, err
    (run,) = json.loads(out)["results"]
    assert run["config"]["pressure_percent"] == 50
    assert run["metrics"]["pressure_written_back"] > 0
    assert run["zswap"]["written_back_pages"] >= run["metrics"]["pressure_written_back"]
    rc, out, err = cli("zswap", *args, "--pressure", "50", "--no-shrinker")
    assert rc == 0, err
    (run,) = json.loads(out)["results"]
    assert run["metrics"]["pressure_written_back"] == 0  # zswap_shrinker_count() is 0 with shrinker_enabled=N
