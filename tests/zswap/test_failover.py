"""zswap selects its backend by capability, and fails over when a device dies (acomp only)."""

from __future__ import annotations

import threading
import types
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from zswap_helpers import text_pages

import acomp
from acomp.registry import get_registry
from acomp.zswap import SwapDevice, Zswap

PAGE = acomp.PAGE_SIZE


class FlakyDevice(acomp.driver.Driver):
    """A device driver of algorithm ``deflate`` that can be switched off (as after a timeout)."""

    alg_name = "deflate"
    driver_name = "deflate-flakydev"
    priority = 400
    batch_size = 8
    async_batching = True
    features = acomp.driver.Feature.DEVICE | acomp.driver.Feature.REQ_CHAIN
    wire_format = "deflate"
    state = "bound"
    lock = threading.Lock()

    @classmethod
    def device_state(cls) -> str:
        return cls.state

    def _alive(self) -> None:
        if type(self).state == "disabled":
            raise acomp.TimedOut("device disabled after a completion timeout")

    def compress(self, src: Any, capacity: int) -> bytes:
        self._alive()
        c = zlib.compressobj(1, zlib.DEFLATED, -12, 8, zlib.Z_FIXED)
        out = c.compress(src) + c.flush()
        if len(out) > capacity:
            raise acomp.NoSpace("too big")
        return out

    def decompress(self, src: Any, capacity: int) -> bytes:
        self._alive()
        return acomp.driver.inflate_bounded(src, capacity)

    def batch_compress(self, srcs: Sequence[Any], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        return super().batch_compress(srcs, capacities)


@pytest.fixture
def flaky() -> Iterator[type[FlakyDevice]]:
    reg = get_registry()
    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(FlakyDevice)))
    reg.register_plugin(plugin, name="flakydev")
    FlakyDevice.state = "bound"
    yield FlakyDevice
    reg.unregister_plugin("flakydev")


def test_requirement_picks_the_best_capable_driver_and_says_why(flaky: type[FlakyDevice]) -> None:
    req = acomp.Requirement(alg="deflate", async_batching=True, min_batch=8)
    with Zswap(req, total_ram=64 << 20) as z:
        info = z.stats()["pools"][0]  # type: ignore[index]
        assert info["driver_name"] == "deflate-flakydev"
        assert "alg=deflate, batch_size>=8, async_batching=True" in info["reason"]
        assert info["nr_reqs"] == 8


def test_device_dies_half_way_no_page_lost_and_failover_counted(flaky: type[FlakyDevice]) -> None:
    pages = text_pages(64)
    folios = [b"".join(pages[i : i + 16]) for i in range(0, 64, 16)]
    with Zswap(acomp.Requirement(alg="deflate"), total_ram=64 << 20) as z:
        assert z.store(0, folios[0]) and z.store(16, folios[1])
        flaky.state = "disabled"  # the device timed out and disabled itself
        assert z.store(32, folios[2]) and z.store(48, folios[3])  # stores go on elsewhere
        stats = z.stats()
        assert stats["pool_failover"] == 1
        drivers = [p["driver_name"] for p in stats["pools"]]  # type: ignore[union-attr, index]
        assert drivers[0] != "deflate-flakydev" and "deflate-flakydev" in drivers
        out = bytearray(PAGE)
        for i, page in enumerate(pages):  # old pages load through another deflate reader
            assert z.load(i, out) and out == page, i
        assert z.stats()["decompress_failover"] == 32
        assert z.stats()["decompress_fail"] == 0
        assert [p["driver_name"] for p in z.stats()["pools"]] == drivers[:1]  # old pool went with its last entry
        z.verify()


def test_named_compressor_does_not_fail_over(flaky: type[FlakyDevice]) -> None:
    """A name asks for that driver (the kernel's way): v5 rejects the folio (ETIMEDOUT: compress_fail,
    the swap device takes it); with store_incompressible it is stored as-is."""
    page = text_pages(1)[0]
    with Zswap("deflate-flakydev", total_ram=64 << 20) as z:
        flaky.state = "disabled"
        assert not z.store(0, page)
        st = z.stats()
        assert st["pool_failover"] == 0 and st["reject_compress_fail"] == 1 and st["stored_pages"] == 0
    flaky.state = "bound"
    with Zswap("deflate-flakydev", total_ram=64 << 20, store_incompressible=True) as z:
        flaky.state = "disabled"
        assert z.store(0, page)
        assert z.stats()["pool_failover"] == 0 and z.stats()["stored_incompressible_pages"] == 1
        out = bytearray(PAGE)
        assert z.load(0, out) and out == page


def test_no_capable_driver_is_a_clear_error() -> None:
    with pytest.raises(acomp.AlgorithmNotFound, match="alg=deflate, batch_size>=64"):
        Zswap(acomp.Requirement(alg="deflate", min_batch=64), total_ram=64 << 20)


def test_deflate_iaa_times_out_half_way_and_stores_move_on(tmp_path: Path) -> None:
    """The emulated IAA times out mid-run and disables itself: the folio it was on goes to the
    swap device (v5), later ones to the next capable driver; nothing is lost."""
    acomp_iaa = pytest.importorskip("acomp_iaa")
    acomp_iaa.reset()
    # v5 check_completion: only the sync path's spin limit disables the driver (counting nothing);
    # an async batch is polled (iaa_comp_poll) with no spin limit, so it would not disable.
    acomp_iaa.set_driver_attr("sync_mode", "sync")
    try:
        pages = text_pages(128, seed=9)
        folios = [b"".join(pages[i : i + 16]) for i in range(0, 128, 16)]
        requirement = acomp.Requirement(alg="deflate", min_batch=1)
        with Zswap(requirement, total_ram=64 << 20) as z, SwapDevice(tmp_path / "swap", z, 128) as dev:
            assert z.pool.driver_name == "deflate-iaa"
            for k in range(4):
                assert dev.swap_out(16 * k, folios[k]) == "zswap"
            acomp_iaa.inject_fault("timeout", count=1)
            where = [dev.swap_out(16 * k, folios[k]) for k in range(4, 8)]  # the first hits the timeout
            assert where == ["file", "zswap", "zswap", "zswap"]
            assert dev.stats()["swpout_64kB"] == 1
            assert acomp_iaa.stats()["completion_spin_timeouts"] == 1  # counted by acomp, not the kernel
            assert not acomp_iaa.stats()["enabled"]
            st = z.stats()
            assert st["pool_failover"] == 1
            pools = st["pools"]
            assert pools[0]["driver_name"] != "deflate-iaa"  # type: ignore[index]
            assert "deflate-iaa" in [p["driver_name"] for p in pools]  # type: ignore[union-attr, index]
            out = bytearray(PAGE)
            for i, page in enumerate(pages):  # nothing lost, old pages load
                assert dev.swap_in(i, out) == ("file" if 64 <= i < 80 else "zswap") and out == page, i
            assert z.stats()["decompress_fail"] == 0
            z.verify()
    finally:
        acomp_iaa.reset()


class LoneDevice(FlakyDevice):
    """The only driver of its algorithm: once it dies no other meets the requirement."""

    alg_name = "lonedev"
    driver_name = "lonedev-hw"


@pytest.fixture
def lone() -> Iterator[type[LoneDevice]]:
    reg = get_registry()
    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(LoneDevice)))
    reg.register_plugin(plugin, name="lonedev")
    LoneDevice.state = "bound"
    yield LoneDevice
    LoneDevice.state = "bound"
    reg.unregister_plugin("lonedev")


def test_no_driver_left_counts_failover_fail_and_rejects(lone: type[LoneDevice]) -> None:
    """v5: no driver can compress, so the folio is refused (the swap device takes it)."""
    with Zswap(acomp.Requirement(alg="lonedev"), total_ram=64 << 20) as z:
        lone.state = "disabled"
        assert not z.store(0, b"".join(text_pages(16)))
        st = z.stats()
        # v5 zswap_batch_compress counts every failing request of the failed batch (8), then stops.
        assert st["pool_failover_fail"] == 1 and st["reject_compress_fail"] == 8 and st["stored_pages"] == 0


def test_no_driver_left_counts_failover_fail_and_stores_as_is(lone: type[LoneDevice]) -> None:
    pages = text_pages(32)
    with Zswap(acomp.Requirement(alg="lonedev"), total_ram=64 << 20, store_incompressible=True) as z:
        assert z.store(0, b"".join(pages[:16]))
        lone.state = "disabled"
        assert z.store(16, b"".join(pages[16:]))  # nothing is lost: stored as-is
        st = z.stats()
        assert st["pool_failover_fail"] == 1 and st["pool_failover"] == 0
        assert st["stored_incompressible_pages"] == 16
        assert [p["driver_name"] for p in st["pools"]] == ["lonedev-hw"]  # type: ignore[union-attr, index]
        out = bytearray(PAGE)
        for i, page in enumerate(pages):  # the compressed half loads through a deflate reader
            assert z.load(i, out) and out == page, i
        assert z.stats()["decompress_failover"] == 16 and z.stats()["decompress_fail"] == 0
        z.verify()


def test_failover_counts_once_per_dead_driver(flaky: type[FlakyDevice]) -> None:
    """Every store after the death goes to the new pool; the counter moves once, not per store."""
    with Zswap(acomp.Requirement(alg="deflate"), total_ram=64 << 20) as z:
        flaky.state = "disabled"
        for k in range(4):
            assert z.store(k, text_pages(1, seed=k)[0])
        st = z.stats()
        assert st["pool_failover"] == 1 and st["stored_incompressible_pages"] == 0
        pools = st["pools"]
        assert isinstance(pools, list) and len(pools) == 1  # the dead pool held nothing: gone
        assert pools[0]["driver_name"] != "deflate-flakydev"
