"""Every injected fault reaches the caller as its errno (or the software fallback), counted, no hang."""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable

import acomp_iaa
import pytest
from acomp_iaa import DeflateIaaDriver, IaaDisabled

import acomp
from acomp.errors import AcompError, InvalidArgument, OutputOverflow, TimedOut, TooBig

MODES = ["sync", "async", "async_irq"]


def _bounded(fn: Callable[[], object], seconds: float = 20.0) -> object:
    """Run ``fn`` on a thread and fail (instead of hanging) if it does not return in time."""
    box: list[object] = []
    t = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "operation hung"
    return box[0]


def _pages(real_pages: list[bytes]) -> list[bytes]:
    return real_pages[:8]


@pytest.fixture(params=MODES)
def drv(request: pytest.FixtureRequest) -> DeflateIaaDriver:
    acomp_iaa.set_driver_attr("sync_mode", request.param)
    d = DeflateIaaDriver()
    yield d  # type: ignore[misc]
    d.close()


def test_comp_buf_overflow(drv: DeflateIaaDriver, real_pages: list[bytes]) -> None:
    acomp_iaa.inject_fault("comp_buf_overflow", count=2)
    out = _bounded(lambda: drv.batch_compress(_pages(real_pages), [8192] * 8))
    assert isinstance(out, list)
    errs = [o for o in out if isinstance(o, AcompError)]
    assert len(errs) == 2 and all(isinstance(e, TooBig) and e.errno == errno.E2BIG for e in errs)
    assert acomp_iaa.stats()["total_completion_comp_buf_overflow_errors"] == 2
    assert acomp_iaa.stats()["faults"]["injected"]["comp_buf_overflow"] == 2


def test_comp_buf_overflow_on_decompress(drv: DeflateIaaDriver) -> None:
    comp = drv.compress(b"q" * 3000, 4096)
    acomp_iaa.inject_fault("comp_buf_overflow")
    with pytest.raises(OutputOverflow) as exc:
        drv.decompress(comp, 3000)
    assert exc.value.errno == errno.EOVERFLOW
    assert drv.decompress(comp, 3000) == b"q" * 3000  # only one injected


def test_analytics_error_falls_back_to_software(drv: DeflateIaaDriver, real_pages: list[bytes]) -> None:
    comp = drv.batch_compress(_pages(real_pages), [8192] * 8)
    acomp_iaa.inject_fault("analytics_error", count=3)
    back = _bounded(lambda: drv.batch_decompress(comp, [4096] * 8))
    assert back == _pages(real_pages)  # still correct
    s = acomp_iaa.stats()
    assert s["total_sw_decomp_calls"] == 3
    assert s["total_completion_einval_errors"] == 3


def test_analytics_error_only_hits_decompress(drv: DeflateIaaDriver) -> None:
    acomp_iaa.inject_fault("analytics_error")
    comp = drv.compress(b"z" * 500, 600)  # not consumed by a compress descriptor
    assert acomp_iaa.subsystem().faults.pending() == 1
    assert drv.decompress(comp, 500) == b"z" * 500
    assert acomp_iaa.stats()["total_sw_decomp_calls"] == 1


def test_einval(drv: DeflateIaaDriver) -> None:
    acomp_iaa.inject_fault("einval")
    with pytest.raises(InvalidArgument) as exc:
        drv.compress(b"abc" * 100, 1000)
    assert exc.value.errno == errno.EINVAL
    comp = drv.compress(b"abc" * 100, 1000)
    acomp_iaa.inject_fault("einval")
    with pytest.raises(InvalidArgument):
        drv.decompress(comp, 300)
    assert acomp_iaa.stats()["total_completion_einval_errors"] == 2


def test_verify_mismatch_needs_verify_compress(real_pages: list[bytes]) -> None:
    d = DeflateIaaDriver()
    acomp_iaa.inject_fault("verify_mismatch")
    assert isinstance(d.compress(real_pages[0], 8192), bytes)  # no verify step: no effect
    d.close()
    acomp_iaa.set_driver_attr("verify_compress", True)
    d = DeflateIaaDriver()
    acomp_iaa.inject_fault("verify_mismatch", count=2)
    out = d.batch_compress(_pages(real_pages), [8192] * 8)
    bad = [o for o in out if isinstance(o, AcompError)]
    assert len(bad) == 2 and all(e.errno == errno.EINVAL for e in bad)
    s = acomp_iaa.stats()
    assert s["verify_mismatches"] == 2 and s["total_completion_einval_errors"] == 2
    d.close()


def test_timeout_disables_the_driver(drv: DeflateIaaDriver, real_pages: list[bytes]) -> None:
    comp = drv.compress(real_pages[0], 8192)
    acomp_iaa.inject_fault("timeout", device=None)
    out = _bounded(lambda: drv.batch_compress(_pages(real_pages), [8192] * 8))
    assert isinstance(out, list)
    timed = [o for o in out if isinstance(o, TimedOut)]
    assert len(timed) == 1 and timed[0].errno == errno.ETIMEDOUT
    assert acomp_iaa.stats()["total_completion_timeout_errors"] == 1
    assert not drv.available()
    assert DeflateIaaDriver.device_state() == "disabled"
    # Later compresses fail fast with ENODEV; decompress still works in software.
    with pytest.raises(IaaDisabled) as exc:
        drv.compress(b"x" * 100, 200)
    assert exc.value.errno == errno.ENODEV
    assert drv.submit("compress", acomp.Request(b"x"), 100, lambda r: None) is False
    before = acomp_iaa.stats()["total_sw_decomp_calls"]
    assert drv.decompress(comp, 4096) == real_pages[0]
    assert acomp_iaa.stats()["total_sw_decomp_calls"] == before + 1
    acomp_iaa.enable()
    assert drv.available()
    assert isinstance(drv.compress(b"x" * 100, 200), bytes)


def test_timeout_on_async_submit_completes_with_etimedout() -> None:
    d = DeflateIaaDriver()
    acomp_iaa.inject_fault("timeout")
    got: list[object] = []
    ev = threading.Event()
    assert d.submit("compress", acomp.Request(b"y" * 100), 200, lambda r: (got.append(r), ev.set()))
    assert ev.wait(10)
    assert isinstance(got[0], TimedOut)
    d.close()


def test_fault_on_one_device_only(real_pages: list[bytes]) -> None:
    d = DeflateIaaDriver(cpu=0)  # package 0: devices 0..3, global WQs wq.1
    acomp_iaa.inject_fault("einval", count=2, device=2)
    out = d.batch_compress(_pages(real_pages), [8192] * 8)
    bad = [i for i, o in enumerate(out) if isinstance(o, AcompError)]
    # Round robin over devices 0,1,2,3,0,1,2,3: slots 2 and 6 are device 2's.
    assert bad == [2, 6]
    d.close()


def test_fault_rates_are_seeded_and_counted(real_pages: list[bytes]) -> None:
    def run() -> tuple[list[int], dict[str, int]]:
        acomp_iaa.reset()
        acomp_iaa.seed_faults(1234)
        acomp_iaa.set_fault_rate("comp_buf_overflow", 0.2)
        acomp_iaa.set_fault_rate("einval", 0.1)
        d = DeflateIaaDriver()
        failed = []
        for k in range(10):
            out = d.batch_compress(real_pages[k : k + 8], [8192] * 8)
            failed += [k * 8 + i for i, o in enumerate(out) if isinstance(o, AcompError)]
        s = acomp_iaa.stats()
        d.close()
        return failed, s["faults"]["injected"]

    first, injected = run()
    second, _ = run()
    assert first == second and first  # same seed, same failures
    s = acomp_iaa.stats()
    assert s["total_completion_comp_buf_overflow_errors"] == injected["comp_buf_overflow"]
    assert s["total_completion_einval_errors"] == injected["einval"]
    assert len(first) == injected["comp_buf_overflow"] + injected["einval"]


def test_wq_full_is_ebusy(real_pages: list[bytes]) -> None:
    acomp_iaa.configure(packages=1, devices_per_package=1, wqs_per_device=1, wq_depth=3)
    d = DeflateIaaDriver()
    out = d.batch_compress(_pages(real_pages), [8192] * 8)
    assert sum(isinstance(o, acomp.Busy) for o in out) == 5
    assert all(isinstance(o, bytes) for o in out[:3])
    d.close()


def test_bad_fault_requests() -> None:
    with pytest.raises(InvalidArgument):
        acomp_iaa.inject_fault("meltdown")
    with pytest.raises(InvalidArgument):
        acomp_iaa.set_fault_rate("einval", 1.5)


def test_completion_wait_is_bounded(real_pages: list[bytes]) -> None:
    """A descriptor no engine ever runs (engines stalled) times out instead of hanging."""
    acomp_iaa.configure(completion_timeout_s=0.2)
    acomp_iaa.set_driver_attr("sync_mode", "async_irq")  # the caller never runs device work
    sub = acomp_iaa.subsystem()
    gate = threading.Event()
    from acomp_iaa import device as dv

    real_execute = dv.execute

    def stalled(desc: dv.Descriptor, codec: str) -> None:
        gate.wait(10)
        real_execute(desc, codec)  # type: ignore[arg-type]

    d = DeflateIaaDriver()
    try:
        dv.execute = stalled  # type: ignore[assignment]
        out = _bounded(lambda: d.batch_compress(real_pages[:4], [8192] * 4))
    finally:
        dv.execute = real_execute
        gate.set()
    assert isinstance(out, list) and all(isinstance(o, TimedOut) for o in out)
    assert not sub.enabled
    d.close()
