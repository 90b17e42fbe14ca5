"""``acomp list``: drivers like /proc/crypto, filters, JSON and the describe hook."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

import acomp


def test_table_lists_every_driver(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli("list")
    assert rc == 0
    for rec in acomp.algorithms():
        assert rec.driver_name in out
    for col in ("priority", "plugin", "batch_size", "async_batching", "module", "flags"):
        assert col in out


def test_json(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli("list", "--json")
    assert rc == 0
    doc = json.loads(out)
    drivers = {d["driver"]: d for d in doc["drivers"]}
    assert set(drivers) == {r.driver_name for r in acomp.algorithms()}
    for rec in acomp.algorithms():
        d = drivers[rec.driver_name]
        assert (d["name"], d["priority"], d["batch_size"], d["async_batching"], d["plugin"]) == (
            rec.alg_name,
            rec.priority,
            rec.batch_size,
            rec.async_batching,
            rec.plugin,
        )
    z = drivers["zstd-generic"]
    for key in ("priority", "plugin", "module", "chaining", "segmentation", "async", "device", "facts"):
        assert key in z


def test_proc_style(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli("list", "--proc", "--alg", "lz4")
    assert rc == 0
    assert "driver       : lz4-generic" in out
    assert "zstd" not in out


def test_filters(cli) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli("list", "--json", "--alg", "deflate")
    assert {d["name"] for d in json.loads(out)["drivers"]} == {"deflate"}
    rc, out, _ = cli("list", "--json", "--min-batch", "2")
    got = json.loads(out)["drivers"]
    assert got and all(d["batch_size"] >= 2 for d in got)
    rc, out, _ = cli("list", "--json", "--async-batching")
    assert all(d["async_batching"] for d in json.loads(out)["drivers"])
    rc, out, err = cli("list", "--min-batch", "1000")
    assert rc == 0 and "no driver matches" in err


class _FakeDriver(acomp.driver.Driver):
    alg_name = "fakealg"
    driver_name = "fakealg-dev"
    priority = 50
    batch_size = 4
    async_batching = True
    features = acomp.driver.Feature.DEVICE | acomp.driver.Feature.ASYNC

    def compress(self, src, capacity):  # type: ignore[no-untyped-def]
        return bytes(src)

    def batch_compress(self, srcs, capacities):  # type: ignore[no-untyped-def]
        return [bytes(s) for s in srcs]


class _FakePlugin:
    @acomp.driver.hookimpl
    def acomp_register_drivers(self, register):  # type: ignore[no-untyped-def]
        register(_FakeDriver)

    @acomp.driver.hookimpl
    def acomp_describe_driver(self, driver_name):  # type: ignore[no-untyped-def]
        if driver_name != "fakealg-dev":
            return None
        return {"devices": [{"name": "fake0", "wqs": "wq0.0,wq0.1"}], "sync_mode": "async"}


@pytest.fixture
def fake_plugin() -> Iterator[None]:
    acomp.algorithms()
    name = acomp.driver.register_plugin(_FakePlugin(), "cli-test-fake")
    assert name
    try:
        yield
    finally:
        acomp.driver.unregister_plugin("cli-test-fake")


def test_describe_hook_facts(cli, fake_plugin) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli("list", "--device")
    assert rc == 0
    assert "fakealg-dev" in out and "fake0" in out and "wq0.1" in out and "sync_mode: async" in out
    rc, out, _ = cli("list", "--json", "--driver", "fakealg-dev")
    (d,) = json.loads(out)["drivers"]
    assert d["facts"]["devices"][0]["name"] == "fake0"
    assert d["device"] and d["async"]
