"""The seed's v5 request paths: POLL set and cleared, lone requests, async_irq chaining, a full WQ, counters."""

from __future__ import annotations

import errno
import threading

import acomp_iaa
import pytest
from acomp_iaa import DeflateIaaDriver
from acomp_iaa import device as dv

import acomp
from acomp import RequestFlags
from acomp.errors import AcompError

POLL = int(RequestFlags.POLL)


def _mode(mode: str) -> None:
    acomp_iaa.unbind()
    acomp_iaa.set_driver_attr("sync_mode", mode)


def _descriptors() -> list[dv.Descriptor]:
    sub = acomp_iaa.subsystem()
    return [d for dev in sub.devices for wq in dev.wqs for d in wq.free_descs()]


# -- I1: POLL set by the batch path in async mode, cleared on the way out -----------------------------


@pytest.mark.parametrize(("mode", "want"), [("async", POLL), ("sync", 0), ("async_irq", 0)])
def test_batch_sets_poll_only_in_async_mode_and_clears_it(mode: str, want: int, real_pages: list[bytes]) -> None:
    _mode(mode)
    d = DeflateIaaDriver()
    seen: list[int] = []
    acomp_iaa.subsystem().trace = lambda event, desc: seen.append(desc.flags)  # type: ignore[attr-defined]
    out = d.batch_compress(real_pages[:8], [8192] * 8)
    assert all(isinstance(o, bytes) for o in out)
    assert seen == [want] * 8  # iaa_set_req_poll(reqs, nr_reqs, async)
    descs = _descriptors()
    assert len(descs) == 8 * 2 * 64 and all(x.flags == 0 for x in descs)  # cleared on the way out
    d.close()


# -- lone requests: POLL gates the async path (patch 3: disable_async without it) ------------------


@pytest.mark.parametrize("mode", ["async", "async_irq", "sync"])
def test_a_lone_request_without_poll_is_not_run_async(mode: str) -> None:
    _mode(mode)
    d = DeflateIaaDriver()
    called: list[object] = []
    assert d.submit("compress", acomp.Request(b"abc" * 100), 1000, called.append) is False
    assert called == []  # the core runs it synchronously; the driver never calls back
    d.close()


@pytest.mark.parametrize(("mode", "executor"), [("async", "poll"), ("async_irq", "irq")])
def test_a_lone_poll_request_completes_on_the_device(mode: str, executor: str) -> None:
    _mode(mode)
    d = DeflateIaaDriver()
    got: list[object] = []
    ev = threading.Event()
    req = acomp.Request(b"abc" * 100, flags=RequestFlags.POLL)
    assert d.submit("compress", req, 1000, lambda r: (got.append(r), ev.set()))
    assert ev.wait(10) and len(got) == 1 and isinstance(got[0], bytes)
    assert acomp_iaa.stats()["batch_records"][mode] == {executor: 1}
    d.close()


def test_sync_mode_ignores_poll() -> None:
    _mode("sync")
    d = DeflateIaaDriver()
    assert d.submit("compress", acomp.Request(b"x", flags=RequestFlags.POLL), 100, lambda r: None) is False
    d.close()


def test_irq_failure_is_eio_and_falls_back_on_an_analytics_error(real_pages: list[bytes]) -> None:
    """iaa_desc_complete: any failure reaches the callback as -EIO; an analytics error on a
    decompress goes to deflate_generic_decompress first."""
    _mode("async_irq")
    d = DeflateIaaDriver()
    comp = d.compress(real_pages[0], 8192)

    def submit(src: bytes, cap: int = 4096) -> object:
        got: list[object] = []
        ev = threading.Event()
        req = acomp.Request(src, flags=RequestFlags.POLL)
        assert d.submit("decompress", req, cap, lambda r: (got.append(r), ev.set()))
        assert ev.wait(10)
        return got[0]

    bad = submit(comp[: len(comp) // 2])  # truncated: analytics error, the fallback fails too
    assert isinstance(bad, AcompError) and bad.errno == errno.EIO
    assert acomp_iaa.stats()["total_sw_decomp_calls"] == 1
    acomp_iaa.inject_fault("analytics_error")
    assert submit(comp) == real_pages[0]  # the fallback succeeded
    s = acomp_iaa.stats()
    assert s["total_sw_decomp_calls"] == 2 and s["total_decomp_bytes_in"] == len(comp)
    d.close()


def test_tfm_submit_of_a_lone_request_completes_synchronously(real_pages: list[bytes]) -> None:
    """v5 through the core (BRIEF decision 4): tfm.submit returns 0 and does not call the callback.

    Needs the core's change to tfm.submit (integrator); red until it lands.
    """
    tfm = acomp.alloc("deflate-iaa")
    called: list[object] = []
    req = acomp.Request(real_pages[0], bytearray(8192), callback=called.append)
    assert tfm.submit(req) == 0
    assert req.err is None and req.dlen > 0 and called == []
    assert acomp_iaa.stats()["batch_records"]["async"] == {"single": 1}
    tfm.close()


# -- I2: an async_irq batch is sync request chaining ----------------------------------------------------


def test_async_irq_batch_runs_as_sync_chaining(real_pages: list[bytes]) -> None:
    """v5: async = async_mode && !use_irq, so async_irq takes acomp_do_req_chain: one request
    after another, visible in the per-mode batch records and in the virtual clock."""
    _mode("async_irq")
    d = DeflateIaaDriver()
    d.batch_compress(real_pages[:8], [8192] * 8)
    d.close()
    _mode("async")
    d = DeflateIaaDriver()
    d.batch_compress(real_pages[:8], [8192] * 8)
    s = acomp_iaa.stats()
    assert s["batch_records"]["async_irq"] == {"do_req_chain": 1}
    assert s["batch_records"]["async"] == {"do_async_req_chain": 1}
    lat = s["latency"]
    assert lat["async_irq"]["do_req_chain"]["mean_ns"] > 2 * lat["async"]["do_async_req_chain"]["mean_ns"]
    assert acomp_iaa.subsystem().engine_threads() == []  # nothing went to an interrupt
    d.close()


def test_the_async_batch_goes_through_do_async_req_chain(
    monkeypatch: pytest.MonkeyPatch, real_pages: list[bytes]
) -> None:
    import acomp_iaa.driver as drvmod

    calls: list[int] = []
    real = drvmod.do_async_req_chain

    def spy(items, submit, poll, **kw):  # type: ignore[no-untyped-def]
        calls.append(len(items))
        return real(items, submit, poll, **kw)

    monkeypatch.setattr(drvmod, "do_async_req_chain", spy)
    d = DeflateIaaDriver()
    d.batch_compress(real_pages[:8], [8192] * 8)
    assert calls == [8]
    d.close()


def test_err_prop_the_heads_failed_submit_fails_the_batch(
    monkeypatch: pytest.MonkeyPatch, real_pages: list[bytes]
) -> None:
    """acomp_do_async_req_chain: when the head's submit fails, no other request is submitted and
    every request gets the head's error."""
    d = DeflateIaaDriver()
    sub = acomp_iaa.subsystem()
    real_plan = sub.handoff.plan

    def disable_before_the_chain(*args: object) -> object:
        sub.disable()  # between the batch's entry check and the head's submit
        return real_plan(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sub.handoff, "plan", disable_before_the_chain)
    out = d.batch_compress(real_pages[:8], [8192] * 8)
    assert all(isinstance(o, acomp_iaa.IaaDisabled) for o in out)
    assert acomp_iaa.stats()["total_comp_calls"] == 0
    assert len(_descriptors()) == 8 * 2 * 64  # every descriptor went back to its WQ
    acomp_iaa.enable()
    d.close()


# -- I7: a full WQ blocks the submitter (IDXD_OP_BLOCK) ---------------------------------------------


def test_a_burst_of_poll_requests_blocks_on_the_full_wq_and_all_complete(real_pages: list[bytes]) -> None:
    """600 POLL submissions onto one 4-deep WQ: the submitter sleeps for descriptors; none
    completes with EBUSY (issue 14 item 14)."""
    acomp_iaa.configure(packages=1, devices_per_package=1, wqs_per_device=1, wq_depth=4)
    d = DeflateIaaDriver()
    results: list[object] = []
    lock = threading.Lock()
    done = threading.Event()

    def cb(r: object) -> None:
        with lock:
            results.append(r)
            if len(results) == 600:
                done.set()

    for i in range(600):
        req = acomp.Request(real_pages[i % 16], flags=RequestFlags.POLL)
        assert d.submit("compress", req, 8192, cb)
    assert done.wait(60)
    assert all(isinstance(r, bytes) for r in results)
    s = acomp_iaa.stats()
    assert s["total_comp_calls"] == 600 and s["desc_alloc_timeouts"] == 0
    d.close()


def test_the_wait_for_a_descriptor_is_bounded_and_says_why(real_pages: list[bytes]) -> None:
    acomp_iaa.configure(packages=1, devices_per_package=1, wqs_per_device=1, wq_depth=2, completion_timeout_s=0.2)
    gate = threading.Event()
    real_execute = dv.execute

    def stalled(desc: dv.Descriptor, codec: str) -> None:
        gate.wait(10)
        real_execute(desc, codec)  # type: ignore[arg-type]

    d = DeflateIaaDriver()
    got: list[object] = []
    try:
        dv.execute = stalled  # type: ignore[assignment]
        for _ in range(3):  # two descriptors, both stuck: the third waits 0.2 s, then EBUSY
            d.submit("compress", acomp.Request(real_pages[0], flags=RequestFlags.POLL), 8192, got.append)
        assert len(got) == 1 and isinstance(got[0], acomp.Busy)
        assert "all 2 descriptors stayed in use" in str(got[0])
        assert acomp_iaa.stats()["desc_alloc_timeouts"] == 1
    finally:
        gate.set()
        dv.execute = real_execute
    assert acomp_iaa.subsystem().shutdown(5.0)
    assert len(got) == 3
    d.close()


def test_tfm_burst_of_600_poll_submissions_completes_without_ebusy(real_pages: list[bytes]) -> None:
    acomp_iaa.configure(packages=1, devices_per_package=1, wqs_per_device=1, wq_depth=64)
    tfm = acomp.alloc("deflate-iaa")
    reqs = [acomp.Request(real_pages[i % 16], bytearray(8192), flags=RequestFlags.POLL) for i in range(600)]
    for r in reqs:
        assert tfm.submit(r) in (errno.EINPROGRESS, errno.EBUSY)
    assert all(r.wait(30) for r in reqs)
    assert all(r.err is None for r in reqs)
    tfm.close()


# -- I6: counters as the kernel counts them --------------------------------------------------------


def test_decomp_bytes_in_counts_successes_not_submissions(real_pages: list[bytes]) -> None:
    d = DeflateIaaDriver()
    comp = d.compress(real_pages[0], 8192)
    with pytest.raises(AcompError):
        d.decompress(comp[:10], 4096)  # fails on the device and in software
    with pytest.raises(acomp.errors.OutputOverflow):
        d.decompress(comp, 100)
    s = acomp_iaa.stats()
    assert s["total_decomp_calls"] == 2 and s["total_decomp_bytes_in"] == 0
    assert s["total_completion_comp_buf_overflow_errors"] == 0  # no counter for a decompress EOVERFLOW
    assert d.decompress(comp, 4096) == real_pages[0]
    assert acomp_iaa.stats()["total_decomp_bytes_in"] == len(comp)
    d.close()


# -- I9: a transform keeps the attributes it was created with --------------------------------------


def test_values_are_captured_per_tfm_at_init(real_pages: list[bytes]) -> None:
    old = DeflateIaaDriver()  # async
    acomp_iaa.unbind()
    acomp_iaa.set_driver_attr("sync_mode", "sync")
    new = DeflateIaaDriver()  # binds again
    old.batch_compress(real_pages[:2], [8192] * 2)
    new.batch_compress(real_pages[:2], [8192] * 2)
    assert acomp_iaa.stats()["batch_records"] == {"async": {"do_async_req_chain": 1}, "sync": {"do_req_chain": 1}}
    old.close()
    new.close()


def test_unbound_transforms_get_enodev() -> None:
    d = DeflateIaaDriver()
    acomp_iaa.unbind()
    with pytest.raises(acomp_iaa.IaaDisabled):
        d.compress(b"x" * 10, 100)
    acomp_iaa.bind()
    assert isinstance(d.compress(b"x" * 10, 100), bytes)
    d.close()
