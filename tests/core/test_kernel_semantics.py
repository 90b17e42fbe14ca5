"""The core's kernel-named behaviour, pinned to the kernel version it follows (docs/kernel-map.md).

Each test names the kernel fact; each failed on the core before the fidelity work
(FIDELITY.md rows C1-C5, C8).
"""

from __future__ import annotations

import errno
import threading
import types
from collections.abc import Callable, Sequence

import pytest
from core_drivers import ZlibTest

import acomp
from acomp.registry import Registry

PAGE = b"kernel semantics page " * 186


class InFlightCounter(ZlibTest):
    """An async driver without REQ_CHAIN: completes each submission on a thread; counts overlap."""

    driver_name = "testz-counting"
    features = acomp.driver.Feature.ASYNC
    lock = threading.Lock()
    inflight = 0
    most = 0
    order: list[bytes] = []

    def submit(self, op: acomp.driver.Op, req: acomp.Request, capacity: int, done: Callable[..., None]) -> bool:
        cls = type(self)
        with cls.lock:
            cls.inflight += 1
            cls.most = max(cls.most, cls.inflight)
            cls.order.append(bytes(req.src[:8]))
        fn = self.compress if op == "compress" else self.decompress

        def work() -> None:
            threading.Event().wait(0.002)  # the device's latency: a parallel executor would overlap here
            try:
                res: acomp.driver.Result = fn(req.src, capacity)
            except acomp.AcompError as exc:
                res = exc
            with cls.lock:
                cls.inflight -= 1
            done(res)

        threading.Thread(target=work, daemon=True).start()
        return True


class SyncUnlessPoll(ZlibTest):
    """Like iaa_crypto in v5 async mode: a lone request without POLL completes synchronously."""

    driver_name = "testz-pollgate"
    features = acomp.driver.Feature.ASYNC

    def submit(self, op: acomp.driver.Op, req: acomp.Request, capacity: int, done: Callable[..., None]) -> bool:
        if not req.flags & acomp.RequestFlags.POLL:
            return False
        res = self.compress(req.src, capacity) if op == "compress" else self.decompress(req.src, capacity)
        threading.Thread(target=done, args=(res,), daemon=True).start()
        return True


class BatchNoAsync(ZlibTest):
    """A batch hook of 8 without async batching."""

    driver_name = "testz-batch8-sync"

    batch_size = 8

    def batch_compress(
        self, srcs: Sequence[acomp.driver.BufferLike], capacities: Sequence[int]
    ) -> list[acomp.driver.Result]:
        return super().batch_compress(srcs, capacities)


@pytest.fixture
def drivers(registry: Registry) -> Registry:
    def hook(register: acomp.driver.RegisterDriver) -> None:
        for cls in (InFlightCounter, SyncUnlessPoll, BatchNoAsync):
            register(cls)

    registry.register_plugin(types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(hook)), "semantics")
    InFlightCounter.inflight = InFlightCounter.most = 0
    InFlightCounter.order = []
    return registry


def _chain(reqs: list[acomp.Request]) -> acomp.Request:
    for r in reqs[1:]:
        acomp.request_chain(r, reqs[0])
    return reqs[0]


def test_c1_poll_flag_is_v5s_value() -> None:
    # v5 include/crypto/acompress.h: CRYPTO_ACOMP_ALLOC_OUTPUT 0x1, CRYPTO_ACOMP_REQ_POLL 0x2.
    assert acomp.RequestFlags.POLL == 0x00000002
    assert acomp.RequestFlags.MAY_BACKLOG == 0x00000400


def test_c2_core_runs_a_chain_one_request_at_a_time_on_a_driver_without_req_chain(drivers: Registry) -> None:
    # v6.15 crypto_acomp_compress -> acomp_do_req_chain: sequential; the core never submits all then polls.
    tfm = acomp.alloc("testz-counting")
    pages = [bytes([65 + i]) * 8 + PAGE[i:] for i in range(6)]
    head = _chain([acomp.Request(p, bytearray(4200)) for p in pages])
    done = threading.Event()
    head.callback = lambda r: done.set()
    assert tfm.submit(head) == errno.EBUSY  # the chain went async (acomp_do_req_chain returns -EBUSY)
    assert done.wait(10)
    assert InFlightCounter.most == 1
    assert InFlightCounter.order == [p[:8] for p in pages]
    for p, r in zip(pages, head.requests()):
        assert r.err is None and acomp.decompress(r.output(), "testz") == p


def test_c3_only_the_heads_callback_runs_once_after_every_request(drivers: Registry) -> None:
    # v6.15 acomp_reqchain_done: members' completions are replaced; compl(head) once, at the end.
    for name in ("testz-counting", "testz-generic"):  # an async driver, and the worker pool (acomp only)
        tfm = acomp.alloc(name)
        calls: list[tuple[acomp.Request, bool]] = []
        reqs = [acomp.Request(PAGE[i:], bytearray(4200)) for i in range(5)]
        finished = threading.Event()

        def on_done(
            r: acomp.Request,
            reqs: list[acomp.Request] = reqs,
            calls: list[tuple[acomp.Request, bool]] = calls,
            finished: threading.Event = finished,
        ) -> None:
            calls.append((r, all(m.done for m in reqs[1:])))
            finished.set()

        for r in reqs:
            r.callback = on_done
        assert tfm.submit(_chain(reqs)) in (errno.EBUSY, errno.EINPROGRESS)
        assert finished.wait(10) and reqs[0].wait(10)
        threading.Event().wait(0.05)  # a stray member callback would land now
        assert calls == [(reqs[0], True)], name


def test_c3_a_chain_returns_the_last_requests_code_and_raises_nothing(registry: Registry) -> None:
    # v6.15 acomp_reqchain_finish returns the last request's err; members keep their own.
    tfm = acomp.alloc("testz-generic")
    good = acomp.compress(PAGE, "testz")
    reqs = [acomp.Request(b, bytearray(4200)) for b in (good, b"\xff\xfe", good)]
    assert tfm.decompress(_chain(reqs)) == 0
    assert reqs[1].err is not None and reqs[1].err.errno == errno.EINVAL
    reqs = [acomp.Request(b, bytearray(4200)) for b in (good, good, b"\xff\xfe")]
    assert tfm.decompress(_chain(reqs)) == -errno.EINVAL
    assert [r.err is None for r in reqs] == [True, True, False]


def test_synchronous_completion_returns_0_without_the_callback(drivers: Registry) -> None:
    # crypto_acomp_compress returning 0: completed, no acomp_request_complete().
    tfm = acomp.alloc("testz-pollgate")
    calls: list[acomp.Request] = []
    req = acomp.Request(PAGE, bytearray(4200), callback=calls.append)
    assert tfm.submit(req) == 0
    assert req.done and req.err is None and acomp.decompress(req.output(), "testz") == PAGE
    bad = acomp.Request(b"\xff\xfe", bytearray(4200), callback=calls.append)
    assert tfm.submit(bad, "decompress") == 0  # a completion, with its error on the request
    assert bad.done and isinstance(bad.err, acomp.InvalidData)
    # With POLL it goes async, completes without its callback, and poll (acomp only) sees it.
    polled = acomp.Request(PAGE, bytearray(4200), flags=acomp.RequestFlags.POLL, callback=calls.append)
    assert tfm.submit(polled) == errno.EINPROGRESS
    assert polled.wait(10)
    assert tfm.poll(polled) == 0
    threading.Event().wait(0.02)
    assert calls == []


def test_c5_batch_size_is_1_without_async_batching(drivers: Registry) -> None:
    # v5 crypto_acomp_batch_size(): 1 unless acomp_has_async_batching(tfm).
    tfm = acomp.alloc("testz-batch8-sync")
    assert (tfm.batch_size, tfm.has_async_batching) == (1, False)
    rec = next(r for r in acomp.algorithms() if r.driver_name == "testz-batch8-sync")
    assert rec.batch_size == 1
    with pytest.raises(acomp.InvalidArgument, match="exceeds batch_size 1"):
        tfm.batch_compress([acomp.Request(PAGE), acomp.Request(PAGE)])


def test_c5_shipped_drivers_batch_size() -> None:
    sizes = {r.driver_name: (r.batch_size, r.async_batching) for r in acomp.algorithms()}
    for name, (size, parallel) in sizes.items():
        assert size == 1 or parallel, name
    if "deflate-iaa" in sizes:
        assert sizes["deflate-iaa"] == (8, True)
    assert sizes["zstd-generic"] == (1, False)


def test_c8_software_submit_is_labelled_acomp_only() -> None:
    import acomp.transform
    import acomp.workers

    assert "acomp only" in (acomp.workers.__doc__ or "")
    assert "crypto_engine" not in (acomp.workers.__doc__ or "")
    assert "acomp only" in (acomp.transform.Transform.submit.__doc__ or "")
    assert "acomp only" in (acomp.transform.Transform.poll.__doc__ or "")
