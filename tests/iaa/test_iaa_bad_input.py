"""Every control refuses bad input with EINVAL and leaves the machine as it was."""

from __future__ import annotations

import errno
import math

import acomp_iaa
import pytest
from acomp_iaa import DeflateIaaDriver, plugin, sysfs

import acomp
from acomp.errors import InvalidArgument


def _einval(fn: object, *args: object, **kwargs: object) -> None:
    with pytest.raises(InvalidArgument) as exc:
        fn(*args, **kwargs)  # type: ignore[operator]
    assert exc.value.errno == errno.EINVAL


# -- the cpu parameter ------------------------------------------------------------------------


@pytest.mark.parametrize("cpu", ["1", True, 1.0, -1, 2, 10**9])
def test_bad_cpu_param(cpu: object) -> None:
    # Default machine: 2 packages x 1 core, so cores 0 and 1 only.
    _einval(DeflateIaaDriver, cpu=cpu)
    _einval(acomp.alloc, "deflate-iaa", cpu=cpu)
    assert not acomp_iaa.subsystem().bound  # a refused transform does not bind the driver


def test_good_cpu_param_binds() -> None:
    assert DeflateIaaDriver.device_state() == "live"  # nothing bound yet: the first transform binds
    d = DeflateIaaDriver(cpu=1)
    assert acomp_iaa.subsystem().bound and DeflateIaaDriver.device_state() == "bound"
    d.close()
    # Kernel (I9): freeing a tfm does not unbind the WQs; only iaa_crypto_remove does.
    assert DeflateIaaDriver.device_state() == "bound"
    acomp_iaa.unbind()
    assert DeflateIaaDriver.device_state() == "live"


# -- driver attributes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("sync_mode", None),
        ("sync_mode", 1),
        ("sync_mode", "SYNC"),
        ("sync_mode", ["sync"]),
        ("verify_compress", 1),
        ("verify_compress", "yes"),
        ("verify_compress", None),
        ("g_wqs_per_iaa", -1),
        ("g_wqs_per_iaa", 1.0),
        ("g_wqs_per_iaa", True),
        ("g_wqs_per_iaa", "1"),
        ("g_consec_descs_per_gwq", 0),
        ("g_consec_descs_per_gwq", None),
        ("bogus", True),
    ],
)
def test_bad_driver_attr_values(name: str, value: object) -> None:
    _einval(acomp_iaa.set_driver_attr, name, value)
    assert acomp_iaa.get_driver_attr("sync_mode") == "async"
    assert acomp_iaa.get_driver_attr("verify_compress") is False
    assert acomp_iaa.get_driver_attr("g_wqs_per_iaa") == 0
    assert acomp_iaa.get_driver_attr("g_consec_descs_per_gwq") == 1


def test_store_while_enabled_is_ebusy_before_the_value_is_parsed() -> None:
    # Kernel (I9, v5 *_store): `if (iaa_crypto_enabled) goto out;` with ret = -EBUSY comes
    # before kstrtoint/kstrtobool/set_iaa_sync_mode: a bad value is EBUSY, not EINVAL, then.
    # (This replaces the old "EINVAL before EBUSY" assertion.)
    d = DeflateIaaDriver()
    with pytest.raises(acomp.errors.Busy):
        acomp_iaa.set_driver_attr("sync_mode", "fast")
    _einval(acomp_iaa.set_driver_attr, "no_such_attr", 1)  # no such file: not a store at all
    d.close()


def test_unknown_attr_read() -> None:
    _einval(acomp_iaa.get_driver_attr, "no_such_attr")


# -- topology and machine configuration ---------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"packages": 0},
        {"devices_per_package": -1},
        {"wq_depth": 0},
        {"packages": 2.5},
        {"packages": True},
        {"packages": "2"},
        {"no_such_field": 1},
        {"codec": "lzma"},
        {"completion_timeout_s": 0},
        {"completion_timeout_s": -1.0},
        {"completion_timeout_s": math.nan},
        {"completion_timeout_s": math.inf},
        {"completion_timeout_s": "5"},
        {"timing_seed": "x"},
        {"timing": object()},
        {"topology": object()},
    ],
)
def test_bad_configure(kwargs: dict[str, object]) -> None:
    acomp_iaa.configure(packages=1, devices_per_package=2)
    before = acomp_iaa.subsystem()
    _einval(acomp_iaa.configure, **kwargs)
    # The machine is untouched: same object, same shape, still working.
    assert acomp_iaa.subsystem() is before
    assert before.topology.n_devices == 2
    d = DeflateIaaDriver()
    assert d.decompress(d.compress(b"abc" * 50, 300), 150) == b"abc" * 50
    d.close()


def test_configure_keeps_driver_attrs_and_fields() -> None:
    acomp_iaa.set_driver_attr("sync_mode", "sync")
    acomp_iaa.configure(packages=1)
    sub = acomp_iaa.configure(wqs_per_device=1)
    assert sub.topology.packages == 1 and sub.topology.wqs_per_device == 1
    assert sub.attrs.sync_mode == "sync"


# -- fault injection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "meltdown"},
        {"kind": "einval", "count": 0},
        {"kind": "einval", "count": -3},
        {"kind": "einval", "count": 1.5},
        {"kind": "einval", "count": True},
        {"kind": "einval", "device": -1},
        {"kind": "einval", "device": 8},  # default machine: devices 0..7
        {"kind": "einval", "device": "0"},
        {"kind": "einval", "device": True},
    ],
)
def test_bad_inject_fault(kwargs: dict[str, object]) -> None:
    _einval(acomp_iaa.inject_fault, **kwargs)
    assert acomp_iaa.subsystem().faults.pending() == 0


@pytest.mark.parametrize(
    ("kind", "rate"),
    [("meltdown", 0.5), ("einval", -0.1), ("einval", 1.5), ("einval", math.nan), ("einval", "0.5"), ("einval", True)],
)
def test_bad_fault_rate(kind: str, rate: object) -> None:
    _einval(acomp_iaa.set_fault_rate, kind, rate)
    assert acomp_iaa.stats()["faults"]["rates"] == {}


def test_fault_rate_zero_clears() -> None:
    acomp_iaa.set_fault_rate("einval", 0.5)
    assert acomp_iaa.stats()["faults"]["rates"] == {"einval": 0.5}
    acomp_iaa.set_fault_rate("einval", 0)
    assert acomp_iaa.stats()["faults"]["rates"] == {}


# -- the software fallback (deflate_generic_decompress, acomp.lib's inflate) ---------------------


def test_software_fallback_keeps_its_own_errno() -> None:
    """Kernel (I4): the fallback's errno is returned unchanged; the seed-era scomp deflate
    says -EINVAL for every failure, a too-small dst included (was EOVERFLOW here)."""
    d = DeflateIaaDriver()
    comp = d.compress(b"q" * 3000, 4096)
    acomp_iaa.inject_fault("analytics_error")
    with pytest.raises(InvalidArgument) as exc:
        d.decompress(comp, 100)
    assert exc.value.errno == errno.EINVAL and "deflate-generic" in str(exc.value)
    assert acomp_iaa.stats()["total_sw_decomp_calls"] == 1
    d.close()


def test_trailing_bytes_fail_on_the_device_and_pass_in_software() -> None:
    """The device rejects bytes after the final block; the generic fallback reads the stream."""
    d = DeflateIaaDriver()
    comp = d.compress(b"z" * 500, 600)
    assert d.decompress(comp + b"\x00\x01", 500) == b"z" * 500
    s = acomp_iaa.stats()
    assert s["total_sw_decomp_calls"] == 1 and s["total_completion_einval_errors"] == 1
    d.close()


def test_disabled_decompress_is_enodev() -> None:
    """Kernel (I3): iaa_comp_adecompress returns -ENODEV while !iaa_crypto_enabled, as compress does
    (the old assertions checked a software fallback here)."""
    d = DeflateIaaDriver()
    comp = d.compress(b"w" * 2000, 4096)
    acomp_iaa.subsystem().disable()
    for fn, arg, cap in ((d.decompress, comp, 2000), (d.compress, b"w" * 2000, 4096)):
        with pytest.raises(acomp_iaa.IaaDisabled) as exc:
            fn(arg, cap)
        assert exc.value.errno == errno.ENODEV
    assert all(r.errno == errno.ENODEV for r in d.batch_decompress([comp, comp], [2000, 2000]))  # type: ignore[union-attr]
    assert acomp_iaa.stats()["total_sw_decomp_calls"] == 0
    d.close()


# -- statistics and the public surface --------------------------------------------------------------


def test_decompress_counters_and_reset_stats(real_pages: list[bytes]) -> None:
    acomp_iaa.set_driver_attr("g_wqs_per_iaa", 1)  # wq.1 global (compress), wq.0 local (decompress)
    d = DeflateIaaDriver(cpu=0)
    comp = d.batch_compress(real_pages[:8], [8192] * 8)
    assert all(isinstance(c, bytes) for c in comp)
    d.batch_decompress(comp, [4096] * 8)
    s = acomp_iaa.stats()
    assert s["total_comp_calls"] == 8 and s["total_decomp_calls"] == 8
    assert s["total_comp_bytes_out"] == sum(len(c) for c in comp)
    assert s["total_decomp_bytes_in"] == sum(len(c) for c in comp)
    wq0 = s["devices"]["iaa0"]["wqs"]["wq.0"]
    assert wq0["decomp_calls"] == 8 and wq0["decomp_bytes"] == s["total_decomp_bytes_in"]
    acomp_iaa.reset_stats()
    s = acomp_iaa.stats()
    assert s["total_comp_calls"] == s["total_decomp_calls"] == s["total_decomp_bytes_in"] == 0
    assert s["devices"]["iaa0"]["decomp_calls"] == 0
    d.close()


def test_describe_driver_hook() -> None:
    assert plugin.acomp_describe_driver("deflate-generic") is None
    info = plugin.acomp_describe_driver("deflate-iaa")
    assert info is not None
    assert info["sync_mode"] == "async" and info["verify_compress"] is False and info["enabled"] is False
    assert info["g_wqs_per_iaa"] == 0 and info["g_consec_descs_per_gwq"] == 1
    acomp_iaa.bind()
    assert plugin.acomp_describe_driver("deflate-iaa")["enabled"] is True  # type: ignore[index]
    assert "4 IAA device(s)/package" in str(info["topology"])


def test_public_names_resolve() -> None:
    assert set(sysfs.__all__) <= set(acomp_iaa.__all__)
    for name in acomp_iaa.__all__:
        assert getattr(acomp_iaa, name) is not None
