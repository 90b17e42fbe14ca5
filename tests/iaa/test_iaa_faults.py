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
    errors: list[BaseException] = []

    def run() -> None:
        try:
            box.append(fn())
        except BaseException as exc:  # re-raised on the test's thread
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "operation hung"
    if errors:
        raise errors[0]
    return box[0]


def _pages(real_pages: list[bytes]) -> list[bytes]:
    return real_pages[:8]


@pytest.fixture(params=MODES)
def drv(request: pytest.FixtureRequest) -> DeflateIaaDriver:
    acomp_iaa.set_driver_attr("sync_mode", request.param)  # a fresh machine: nothing bound yet
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


def test_analytics_error_falls_back_to_software_on_the_sync_paths(
    drv: DeflateIaaDriver, real_pages: list[bytes]
) -> None:
    """Kernel (I4): deflate_generic_decompress on IAA_ANALYTICS_ERROR in iaa_decompress (sync) and
    iaa_desc_complete (irq); an async_irq batch is sync chaining, so it falls back too.  The
    async batch path (iaa_comp_poll) has no fallback: EINVAL (this test used to expect the
    fallback in every mode)."""
    comp = drv.batch_compress(_pages(real_pages), [8192] * 8)
    acomp_iaa.inject_fault("analytics_error", count=3)
    back = _bounded(lambda: drv.batch_decompress(comp, [4096] * 8))
    assert isinstance(back, list)
    s = acomp_iaa.stats()
    assert s["total_completion_einval_errors"] == 3
    if drv.sync_mode == "async":
        bad = [b for b in back if isinstance(b, AcompError)]
        assert len(bad) == 3 and all(b.errno == errno.EINVAL for b in bad)
        assert s["total_sw_decomp_calls"] == 0
        assert s["total_decomp_bytes_in"] == sum(len(c) for c, b in zip(comp, back) if isinstance(b, bytes))
    else:
        assert back == _pages(real_pages)  # still correct
        assert s["total_sw_decomp_calls"] == 3
        # a successful fallback is counted as a successful decompression (I6)
        assert s["total_decomp_bytes_in"] == sum(len(c) for c in comp)  # type: ignore[arg-type]


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
    acomp_iaa.unbind()
    acomp_iaa.set_driver_attr("verify_compress", True)
    d = DeflateIaaDriver()
    acomp_iaa.inject_fault("verify_mismatch", count=2)
    out = d.batch_compress(_pages(real_pages), [8192] * 8)
    bad = [o for o in out if isinstance(o, AcompError)]
    assert len(bad) == 2 and all(e.errno == errno.EINVAL for e in bad)
    s = acomp_iaa.stats()
    # Kernel (I6): iaa_compress_verify's CRC mismatch is -EINVAL without
    # total_completion_einval_errors (this was counted as 2 before).
    assert s["verify_mismatches"] == 2 and s["total_completion_einval_errors"] == 0
    d.close()


def test_spin_limit_timeout_disables_and_counts_nothing(real_pages: list[bytes]) -> None:
    """Kernel (I5): check_completion's spin limit (a record never written, the CPU spinning:
    sync mode, a lone request, a sync chain) is -ETIMEDOUT, sets iaa_crypto_enabled = false
    and counts nothing (the old test counted it in total_completion_timeout_errors)."""
    d = DeflateIaaDriver()
    comp = d.compress(real_pages[0], 8192)
    acomp_iaa.inject_fault("timeout")
    with pytest.raises(TimedOut) as exc:
        _bounded(lambda: d.compress(real_pages[1], 8192))
    assert exc.value.errno == errno.ETIMEDOUT
    s = acomp_iaa.stats()
    assert s["total_completion_timeout_errors"] == 0 and s["completion_spin_timeouts"] == 1
    assert not d.available() and DeflateIaaDriver.device_state() == "disabled"
    # Disabled: ENODEV for compress and decompress (I3), no software fallback.
    with pytest.raises(IaaDisabled) as exc2:
        d.compress(b"x" * 100, 200)
    assert exc2.value.errno == errno.ENODEV
    with pytest.raises(IaaDisabled):
        d.decompress(comp, 4096)
    req = acomp.Request(b"x", flags=acomp.RequestFlags.POLL)
    assert d.submit("compress", req, 100, lambda r: None) is False  # the core's sync call gets ENODEV
    acomp_iaa.enable()
    assert d.available()
    assert d.decompress(comp, 4096) == real_pages[0]
    d.close()


@pytest.mark.parametrize("mode", ["sync", "async_irq"])
def test_spin_limit_in_a_sync_chain(mode: str, real_pages: list[bytes]) -> None:
    acomp_iaa.set_driver_attr("sync_mode", mode)
    d = DeflateIaaDriver()
    acomp_iaa.inject_fault("timeout")
    out = _bounded(lambda: d.batch_compress(_pages(real_pages), [8192] * 8))
    assert isinstance(out, list) and isinstance(out[0], TimedOut)
    # The chain goes on after its first link disabled the driver: the rest see ENODEV.
    assert all(isinstance(o, IaaDisabled) for o in out[1:])
    assert acomp_iaa.stats()["total_completion_timeout_errors"] == 0
    d.close()


def test_poll_path_has_no_spin_limit(real_pages: list[bytes]) -> None:
    """Kernel (I5): iaa_comp_poll calls check_completion(..., only_once=true): no spin limit, no
    disable.  The kernel polls on; acomp's poll bound ends it with ETIMEDOUT (acomp only)."""
    d = DeflateIaaDriver()  # async mode
    acomp_iaa.inject_fault("timeout")
    out = _bounded(lambda: d.batch_compress(_pages(real_pages), [8192] * 8))
    assert isinstance(out, list)
    assert isinstance(out[0], TimedOut) and all(isinstance(o, bytes) for o in out[1:])
    s = acomp_iaa.stats()
    assert s["enabled"] and s["total_completion_timeout_errors"] == 0 and s["completion_spin_timeouts"] == 0
    d.close()


@pytest.mark.parametrize("mode", MODES)
def test_watchdog_timeout_is_counted_and_does_not_disable(mode: str, real_pages: list[bytes]) -> None:
    """Kernel (I5): status IAA_ERROR_WATCHDOG_EXPIRED (0x24) is -ETIMEDOUT, counted in
    total_completion_timeout_errors, iaa_crypto stays enabled."""
    acomp_iaa.set_driver_attr("sync_mode", mode)
    d = DeflateIaaDriver()
    acomp_iaa.inject_fault("watchdog", count=2)
    out = d.batch_compress(_pages(real_pages), [8192] * 8)
    timed = [o for o in out if isinstance(o, TimedOut)]
    assert len(timed) == 2 and all(t.errno == errno.ETIMEDOUT for t in timed)
    s = acomp_iaa.stats()
    assert s["total_completion_timeout_errors"] == 2 and s["enabled"]
    assert isinstance(d.compress(real_pages[0], 8192), bytes)
    d.close()


def test_timeout_on_a_poll_submit_completes_with_etimedout() -> None:
    d = DeflateIaaDriver()
    acomp_iaa.inject_fault("timeout")
    got: list[object] = []
    ev = threading.Event()
    req = acomp.Request(b"y" * 100, flags=acomp.RequestFlags.POLL)
    assert d.submit("compress", req, 200, lambda r: (got.append(r), ev.set()))
    assert ev.wait(10)
    assert isinstance(got[0], TimedOut)
    assert acomp_iaa.stats()["enabled"]  # the poll path never disables
    d.close()


def test_fault_on_one_device_only(real_pages: list[bytes]) -> None:
    acomp_iaa.set_driver_attr("g_wqs_per_iaa", 1)
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


def test_a_batch_larger_than_its_wq_is_ebusy_with_a_reason(real_pages: list[bytes]) -> None:
    """In async mode a batch's descriptors are freed only when polled, after all submits: more
    requests on one WQ than it has descriptors would sleep in idxd_alloc_desc forever (kernel).
    acomp refuses those at once, EBUSY with the reason; sync chaining frees each as it goes."""
    acomp_iaa.configure(packages=1, devices_per_package=1, wqs_per_device=1, wq_depth=3)
    d = DeflateIaaDriver()
    out = d.batch_compress(_pages(real_pages), [8192] * 8)
    busy = [o for o in out if isinstance(o, acomp.Busy)]
    assert len(busy) == 5 and all("needs more than its 3 descriptors" in str(b) for b in busy)
    assert all(isinstance(o, bytes) for o in out[:3])
    d.close()
    acomp_iaa.unbind()
    acomp_iaa.set_driver_attr("sync_mode", "sync")
    d = DeflateIaaDriver()
    assert all(isinstance(o, bytes) for o in d.batch_compress(_pages(real_pages), [8192] * 8))
    d.close()


def test_bad_fault_requests() -> None:
    with pytest.raises(InvalidArgument):
        acomp_iaa.inject_fault("meltdown")
    with pytest.raises(InvalidArgument):
        acomp_iaa.set_fault_rate("einval", 1.5)


def test_completion_wait_is_bounded(real_pages: list[bytes]) -> None:
    """A POLL request no engine ever finishes (engines stalled) is bounded: the waiter's
    req.wait times out, nothing hangs, and the engine frees the descriptor when it resumes."""
    acomp_iaa.configure(completion_timeout_s=0.2)
    from acomp_iaa import device as dv

    gate = threading.Event()
    real_execute = dv.execute

    def stalled(desc: dv.Descriptor, codec: str) -> None:
        gate.wait(10)
        real_execute(desc, codec)  # type: ignore[arg-type]

    d = DeflateIaaDriver()
    got: list[object] = []
    try:
        dv.execute = stalled  # type: ignore[assignment]
        req = acomp.Request(real_pages[0], flags=acomp.RequestFlags.POLL)
        assert d.submit("compress", req, 8192, got.append)
        assert not got  # still with the stalled engine
    finally:
        gate.set()
        dv.execute = real_execute
    assert _bounded(lambda: acomp_iaa.subsystem().shutdown(5.0)) is True
    assert len(got) == 1
    d.close()
