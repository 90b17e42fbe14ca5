"""deflate-iaa through its Driver methods and through acomp's transform API."""

from __future__ import annotations

import errno
import threading
import zlib

import acomp_iaa
import pytest
from acomp_iaa import DeflateIaaDriver
from deflate_check import check_iaa_fixed
from hypothesis import given, settings
from hypothesis import strategies as st

import acomp
from acomp.errors import AcompError, Busy, InvalidArgument, InvalidData, OutputOverflow, TooBig

MODES = ["sync", "async", "async_irq"]


def _driver(mode: str, **params: object) -> DeflateIaaDriver:
    acomp_iaa.unbind()  # attribute stores need the WQs unbound (v5: EBUSY while enabled)
    acomp_iaa.set_driver_attr("sync_mode", mode)
    return DeflateIaaDriver(**params)


@pytest.mark.parametrize("mode", MODES)
@settings(deadline=None, max_examples=30)
@given(data=st.lists(st.binary(min_size=1, max_size=4096), min_size=1, max_size=8))
def test_round_trip_every_mode(mode: str, data: list[bytes]) -> None:
    drv = _driver(mode)
    try:
        comp = drv.batch_compress(data, [len(d) + len(d) // 8 + 16 for d in data])
        for src, out in zip(data, comp):
            assert isinstance(out, bytes)
            check_iaa_fixed(out, src)
        back = drv.batch_decompress(comp, [len(d) for d in data])
        assert back == data
        one = drv.compress(data[0], 8192)
        assert drv.decompress(one, len(data[0])) == data[0]
    finally:
        drv.close()


@pytest.mark.parametrize("mode", MODES)
def test_mixed_batch_has_per_request_errors(mode: str, real_pages: list[bytes]) -> None:
    drv = _driver(mode)
    pages = real_pages[:8]
    caps = [8192] * 8
    caps[3] = 16  # too small: IAA says E2BIG
    comp = drv.batch_compress(pages, caps)
    assert isinstance(comp[3], TooBig) and comp[3].errno == errno.E2BIG
    assert all(isinstance(c, bytes) for i, c in enumerate(comp) if i != 3)
    srcs: list[bytes] = [c if isinstance(c, bytes) else b"" for c in comp]
    srcs[3] = zlib.compress(b"not raw deflate")  # zlib header: corrupt as raw deflate
    srcs[5] = srcs[5][: len(srcs[5]) // 2]  # truncated
    dcaps = [4096] * 8
    dcaps[6] = 100  # output does not fit
    out = drv.batch_decompress(srcs, dcaps)
    assert isinstance(out[3], InvalidData) and out[3].errno == errno.EINVAL
    assert isinstance(out[5], InvalidData)
    assert isinstance(out[6], OutputOverflow) and out[6].errno == errno.EOVERFLOW
    for i in (0, 1, 2, 4, 7):
        assert out[i] == pages[i]
    s = acomp_iaa.stats()
    # Corrupt streams are analytics errors, counted as EINVAL.  The software fallback runs on
    # the sync paths only (sync chaining: sync and async_irq); iaa_comp_poll has none (I4).
    assert s["total_sw_decomp_calls"] == (0 if mode == "async" else 2)
    assert s["total_completion_einval_errors"] == 2
    # Only the compress overflow is counted: the kernel has no counter for a decompress
    # -EOVERFLOW (I6; this was 2 when both were counted).
    assert s["total_completion_comp_buf_overflow_errors"] == 1
    drv.close()


def test_single_ops_raise_their_errno() -> None:
    drv = _driver("async")
    with pytest.raises(TooBig):
        drv.compress(bytes(range(256)) * 16, 10)
    with pytest.raises(InvalidData):
        drv.decompress(b"\xff\xff\xff", 4096)
    drv.close()


@pytest.mark.parametrize("mode", ["async", "async_irq"])
def test_submit_completes_once_from_an_engine(mode: str) -> None:
    drv = _driver(mode)
    results: list[object] = []
    threads: list[str] = []
    done = threading.Event()

    def cb(res: object) -> None:
        results.append(res)
        threads.append(threading.current_thread().name)
        done.set()

    req = acomp.Request(b"abc" * 1000, flags=acomp.RequestFlags.POLL)
    assert drv.submit("compress", req, 8192, cb)
    assert done.wait(10)
    assert len(results) == 1 and isinstance(results[0], bytes)
    assert threads[0].startswith("iaa") and threads[0] != threading.current_thread().name
    drv.close()


def test_sync_mode_has_no_native_submit() -> None:
    drv = _driver("sync")
    assert drv.submit("compress", acomp.Request(b"x"), 100, lambda r: None) is False
    drv.close()


def test_driver_attrs_are_busy_while_bound() -> None:
    drv = DeflateIaaDriver()
    assert acomp_iaa.get_driver_attr("sync_mode") == "async"
    assert acomp_iaa.get_driver_attr("verify_compress") is False
    with pytest.raises(Busy) as exc:
        acomp_iaa.set_driver_attr("sync_mode", "sync")
    assert exc.value.errno == errno.EBUSY
    with pytest.raises(Busy):
        acomp_iaa.set_driver_attr("verify_compress", True)
    with pytest.raises(Busy):
        acomp_iaa.configure(devices_per_package=2)
    # Kernel (I9): EBUSY also for an unchanged value, and freeing the tfm does not unbind
    # (these replace "unchanged value: allowed" and "allowed after close").
    with pytest.raises(Busy):
        acomp_iaa.set_driver_attr("sync_mode", "async")
    drv.close()
    with pytest.raises(Busy):
        acomp_iaa.set_driver_attr("sync_mode", "sync")
    acomp_iaa.unbind()  # iaa_crypto_remove: iaa_crypto_enabled is false
    acomp_iaa.set_driver_attr("sync_mode", "sync")
    acomp_iaa.set_driver_attr("verify_compress", True)
    assert acomp_iaa.get_driver_attr("sync_mode") == "sync"
    with pytest.raises(InvalidArgument):
        acomp_iaa.set_driver_attr("sync_mode", "fast")
    with pytest.raises(InvalidArgument):
        acomp_iaa.set_driver_attr("no_such_attr", 1)


def test_verify_compress_passes_good_output(real_pages: list[bytes]) -> None:
    acomp_iaa.set_driver_attr("verify_compress", True)
    drv = DeflateIaaDriver()
    out = drv.batch_compress(real_pages[:8], [8192] * 8)
    assert all(isinstance(o, bytes) for o in out)
    assert acomp_iaa.stats()["verify_calls"] == 8
    drv.close()


def test_cpu_param() -> None:
    acomp_iaa.configure(packages=2, cores_per_package=2, devices_per_package=2)
    acomp_iaa.set_driver_attr("g_wqs_per_iaa", 1)  # compress over the package's global wq.1s
    drv = DeflateIaaDriver(cpu=3)  # package 1: devices 2 and 3
    drv.batch_compress([b"a" * 100] * 4, [200] * 4)
    drv.decompress(drv.compress(b"b" * 100, 200), 100)
    s = acomp_iaa.stats()["devices"]
    assert s["iaa0"]["comp_calls"] == s["iaa1"]["comp_calls"] == 0
    assert s["iaa2"]["comp_calls"] + s["iaa3"]["comp_calls"] == 5
    assert s["iaa3"]["wqs"]["wq.0"]["decomp_calls"] == 1  # core 3 is the 2nd core: device 3
    drv.close()
    with pytest.raises(InvalidArgument):
        DeflateIaaDriver(cpu=4)
    with pytest.raises(InvalidArgument):
        DeflateIaaDriver(bogus=1)


def test_many_threads_share_the_devices(real_pages: list[bytes]) -> None:
    drv = DeflateIaaDriver()
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for j in range(5):
                pages = real_pages[(k + j) % 8 :][:8]
                comp = drv.batch_compress(pages, [8192] * len(pages))
                assert drv.batch_decompress(comp, [4096] * len(pages)) == pages
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and not any(t.is_alive() for t in threads)
    assert acomp_iaa.stats()["total_comp_calls"] == 6 * 5 * 8
    drv.close()


# -- through the acomp API ------------------------------------------------------------------


def test_alloc_by_algorithm_name_picks_iaa() -> None:
    tfm = acomp.alloc("deflate")
    assert tfm.driver_name == "deflate-iaa"
    assert tfm.batch_size == 8 and tfm.has_async_batching
    rec = next(r for r in acomp.algorithms() if r.driver_name == "deflate-iaa")
    assert rec.priority == 300 and rec.plugin == "iaa_fixed_deflate"


@pytest.mark.parametrize("mode", MODES)
def test_transform_batch_and_single(mode: str, real_pages: list[bytes]) -> None:
    acomp_iaa.set_driver_attr("sync_mode", mode)  # a fresh machine: nothing bound yet
    tfm = acomp.alloc("deflate-iaa")
    reqs = [acomp.Request(p, bytearray(2 * 4096)) for p in real_pages[:8]]
    reqs[2] = acomp.Request(real_pages[2], bytearray(8))
    assert tfm.batch_compress(reqs) is False
    assert isinstance(reqs[2].err, AcompError) and reqs[2].err.errno == errno.E2BIG
    for i, r in enumerate(reqs):
        if i != 2:
            assert r.err is None
            assert zlib.decompress(bytes(r.dst[: r.dlen]), -15) == real_pages[i]
    d = acomp.Request(bytes(reqs[0].dst[: reqs[0].dlen]), bytearray(4096))
    tfm.decompress(d)
    assert bytes(d.dst[: d.dlen]) == real_pages[0]
    with pytest.raises(AcompError):
        tfm.batch_compress([acomp.Request(b"x") for _ in range(9)])


def test_generic_deflate_reads_iaa_output(real_pages: list[bytes]) -> None:
    comp = acomp.compress(real_pages[0], "deflate-iaa")
    assert acomp.decompress(comp, "deflate-generic", 4096) == real_pages[0]


def test_transform_async_submit_with_poll(real_pages: list[bytes]) -> None:
    """A POLL request goes async on the device; tfm.poll sees it complete (no callback, v5)."""
    tfm = acomp.alloc("deflate-iaa")
    req = acomp.Request(real_pages[0], bytearray(8192), flags=acomp.RequestFlags.POLL)
    assert tfm.submit(req) in (errno.EINPROGRESS, errno.EBUSY)
    assert req.wait(10)
    assert req.err is None
    assert zlib.decompress(bytes(req.dst[: req.dlen]), -15) == real_pages[0]
    assert acomp_iaa.stats()["batch_records"]["async"] == {"poll": 1}
