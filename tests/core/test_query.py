"""Capability queries: who can do this, best first; allocation by requirement."""

from __future__ import annotations

import types

import pytest
from core_drivers import ZlibBatching, ZlibTest

import acomp
from acomp.registry import Registry


def _register(registry: Registry, name: str, *classes: type[acomp.driver.Driver]) -> None:
    def hook(register):  # type: ignore[no-untyped-def]
        for cls in classes:
            register(cls)

    registry.register_plugin(types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(hook)), name=name)


def test_query_orders_by_priority_then_batch_size_then_recency(registry: Registry) -> None:
    class SameLevelBigBatch(ZlibBatching):
        driver_name = "testz-bigbatch"
        batch_size = 8

    class SameLevelLater(ZlibBatching):
        driver_name = "testz-later"

    _register(registry, "more", SameLevelBigBatch, SameLevelLater)
    names = [r.driver_name for r in acomp.query(alg="testz")]
    assert names == ["testz-bigbatch", "testz-later", "testz-batch", "testz-generic"]
    assert [r.driver_name for r in acomp.query(alg="testz", min_batch=5)] == ["testz-bigbatch"]
    assert [r.driver_name for r in acomp.query(alg="testz", chaining=False)] == ["testz-generic"]


def test_no_match_names_the_requirement(registry: Registry) -> None:
    req = acomp.Requirement(alg="testz", async_batching=True, min_batch=8)
    assert acomp.query(req) == []
    with pytest.raises(acomp.AlgorithmNotFound, match="alg=testz, batch_size>=8, async_batching=True"):
        acomp.alloc(req)


def test_third_party_driver_registered_at_run_time_becomes_selectable(registry: Registry) -> None:
    req = acomp.Requirement(alg="testz", async_batching=True, min_batch=8)
    assert acomp.query(req) == []

    class Parallel(ZlibBatching):
        driver_name = "testz-parallel"
        priority = 50  # lower priority, but the only one meeting the requirement
        batch_size = 8
        async_batching = True

    _register(registry, "thirdparty", Parallel)
    tfm = acomp.alloc(req)
    assert tfm.driver_name == "testz-parallel" and tfm.record.plugin == "thirdparty"
    assert acomp.alloc("testz").driver_name == "testz-batch"  # by name: priority still rules


def test_disabled_device_leaves_the_query_and_readers_remain(registry: Registry) -> None:
    class Device(ZlibBatching):
        driver_name = "testz-device"
        priority = 300
        features = acomp.driver.Feature.DEVICE | acomp.driver.Feature.REQ_CHAIN
        state = "bound"

        @classmethod
        def device_state(cls) -> str:
            return cls.state

    _register(registry, "device", Device)
    assert acomp.query(alg="testz")[0].driver_name == "testz-device"
    Device.state = "disabled"
    assert "testz-device" not in [r.driver_name for r in acomp.query(alg="testz")]
    assert "testz-device" in [r.driver_name for r in acomp.query(alg="testz", available=False)]
    assert not acomp.alloc("testz-device").available()
    readers = [r.driver_name for r in acomp.readers_of("testz")]
    assert readers == ["testz-batch", "testz-generic"]


def test_requirement_validates_at_the_edge() -> None:
    with pytest.raises(ValueError):
        acomp.Requirement(min_batch=0)
    with pytest.raises(acomp.InvalidArgument):
        acomp.Requirement(async_batching="yes")  # type: ignore[arg-type]
    assert str(acomp.Requirement()) == "available"
    assert ZlibTest.device_state() == "live"
