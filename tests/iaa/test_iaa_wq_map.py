"""WQ tables as in the seed's patches 8-9 (v5): local WQs, the last g_wqs_per_iaa WQs global, per-CPU cursors."""

from __future__ import annotations

import threading

import acomp_iaa
import pytest
from acomp_iaa import DeflateIaaDriver
from acomp_iaa.device import IaaDevice
from acomp_iaa.wq_map import Topology, WqTables, split_wqs

import acomp


def _tables(topology: Topology, **attrs: int) -> WqTables:
    devices = [IaaDevice(d, 0, topology.wqs_per_device, 4, 1, "zlib") for d in range(topology.n_devices)]
    return WqTables(topology, devices, **attrs)


def _ids(wqs: list) -> list[tuple[int, int]]:  # type: ignore[type-arg]
    return [(w.device, w.index) for w in wqs]


@pytest.mark.parametrize(
    ("n_wqs", "g", "local", "glob"),
    [
        (2, 0, [0, 1], []),
        (2, 1, [0], [1]),
        (4, 2, [0, 1], [2, 3]),
        (4, 3, [0], [1, 2, 3]),
        (2, 5, [0], [1]),
        (1, 1, [0], []),
    ],
)
def test_the_last_g_wqs_of_a_device_are_global(n_wqs: int, g: int, local: list[int], glob: list[int]) -> None:
    # map_iaa_device_wqs: local while !n_wqs_added || n_wqs_added + g_wqs_per_iaa < n_wq
    loc, gl = split_wqs(n_wqs, g)
    assert list(loc) == local and list(gl) == glob


def test_default_g_wqs_per_iaa_0_keeps_every_wq_local(real_pages: list[bytes]) -> None:
    """v5 default: no global WQs.  Compress and decompress share the core's cursor over its own
    device's WQs, advanced before use (wq_table_next_wq): wq.1, wq.0, wq.1, ...  (Before: every
    compress went round robin over every device's wq.1 of the package.)"""
    d = DeflateIaaDriver(cpu=0)
    for p in real_pages[:3]:
        d.compress(p, 8192)
    d.decompress(d.compress(real_pages[0], 8192), 4096)
    s = acomp_iaa.stats()["devices"]
    wqs = s["iaa0"]["wqs"]
    assert (wqs["wq.1"]["comp_calls"], wqs["wq.0"]["comp_calls"]) == (2, 2)  # jobs 1, 3 / 2, 4
    assert wqs["wq.1"]["decomp_calls"] == 1  # job 5
    assert all(s[f"iaa{i}"]["comp_calls"] == 0 for i in range(1, 8))
    d.close()


def test_global_wqs_round_robin_with_a_staggered_per_cpu_start() -> None:
    t = _tables(Topology.seed_machine(), g_wqs_per_iaa=1)
    # 56 cores over 4 devices: 14 cores per device, by package (cpu_to_iaa).
    assert [t.local_device(c) for c in (0, 13, 14, 55, 56, 111)] == [0, 0, 1, 3, 4, 7]
    assert t.global_wqs(1) == [(4, 1), (5, 1), (6, 1), (7, 1)]
    # start = g_wqs_per_iaa * (cpu_to_iaa(cpu) % nr_iaa_per_package)
    assert [w.device for w in t.comp_wqs(0, 5)] == [0, 1, 2, 3, 0]
    assert [w.device for w in t.comp_wqs(14, 4)] == [1, 2, 3, 0]
    assert [w.device for w in t.comp_wqs(56 + 42, 4)] == [7, 4, 5, 6]
    # A cursor per CPU (global_wq_table is per-cpu): core 10 does not continue core 0's rotation.
    assert [w.device for w in t.comp_wqs(10, 3)] == [0, 1, 2]
    assert all(w.index == 1 for w in t.comp_wqs(3, 8))
    assert _ids(t.decomp_wqs(57, 3)) == [(4, 0)] * 3  # decompress: the local table, wq.0 only


def test_consecutive_descriptors_per_global_wq() -> None:
    t = _tables(Topology.seed_machine(), g_wqs_per_iaa=1, g_consec_descs_per_gwq=3)
    assert [w.device for w in t.comp_wqs(0, 7)] == [0, 0, 0, 1, 1, 1, 2]
    assert [w.device for w in t.comp_wqs(0, 3)] == [2, 2, 3]  # the cursor carries over


def test_no_global_wq_falls_back_to_the_local_table() -> None:
    t = _tables(Topology(wqs_per_device=1), g_wqs_per_iaa=1)
    assert _ids(t.comp_wqs(1, 3)) == [(4, 0)] * 3  # package 1, its first device is iaa4


def test_driver_attributes_take_effect_when_wqs_are_bound(real_pages: list[bytes]) -> None:
    acomp_iaa.set_driver_attr("g_wqs_per_iaa", 1)
    acomp_iaa.set_driver_attr("g_consec_descs_per_gwq", 2)
    d = DeflateIaaDriver(cpu=0)
    d.batch_compress(real_pages[:8], [8192] * 8)
    s = acomp_iaa.stats()["devices"]
    assert [s[f"iaa{i}"]["wqs"]["wq.1"]["comp_calls"] for i in range(4)] == [2, 2, 2, 2]
    assert all(s[f"iaa{i}"]["wqs"]["wq.0"]["comp_calls"] == 0 for i in range(4))
    with pytest.raises(acomp.errors.Busy):
        acomp_iaa.set_driver_attr("g_wqs_per_iaa", 0)  # enabled: EBUSY, even with nothing else running
    acomp_iaa.unbind()
    acomp_iaa.set_driver_attr("g_wqs_per_iaa", 0)
    acomp_iaa.reset_stats()
    d2 = DeflateIaaDriver(cpu=0)  # binds again: the new tables have no global WQ
    d2.batch_compress(real_pages[:4], [8192] * 4)
    s = acomp_iaa.stats()["devices"]
    assert s["iaa0"]["comp_calls"] == 4 and all(s[f"iaa{i}"]["comp_calls"] == 0 for i in range(1, 4))
    d.close()
    d2.close()


def test_seed_config_wq1_balanced_wq0_decompress_only(real_pages: list[bytes]) -> None:
    """The seed's claim, from the emulation's own per-WQ stats: wq.1 of every device gets about
    the same number of compress calls; wq.0 handles decompress only."""
    acomp_iaa.configure(packages=1, cores_per_package=4, devices_per_package=4)
    acomp_iaa.set_driver_attr("g_wqs_per_iaa", 1)
    drivers = [DeflateIaaDriver(cpu=c) for c in range(4)]
    for k in range(5):
        for d in drivers:
            comp = d.batch_compress(real_pages[k : k + 6], [8192] * 6)
            d.batch_decompress(comp, [4096] * 6)
    s = acomp_iaa.stats()["devices"]
    calls = [s[f"iaa{i}"]["wqs"]["wq.1"]["comp_calls"] for i in range(4)]
    assert sum(calls) == 4 * 5 * 6 and max(calls) - min(calls) <= 4
    for i in range(4):
        assert s[f"iaa{i}"]["wqs"]["wq.0"]["comp_calls"] == 0
        assert s[f"iaa{i}"]["wqs"]["wq.1"]["decomp_calls"] == 0
        assert s[f"iaa{i}"]["wqs"]["wq.0"]["decomp_calls"] == 5 * 6  # each core's own device
    for d in drivers:
        d.close()


def test_threads_become_cores_round_robin() -> None:
    t = _tables(Topology())
    cores: list[int] = [t.current_core()]
    for _ in range(2):
        th = threading.Thread(target=lambda: cores.append(t.current_core()))
        th.start()
        th.join()
    assert cores == [0, 1, 0] and t.current_core() == 0
