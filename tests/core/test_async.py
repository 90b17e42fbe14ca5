"""Async submission: callback exactly once, poll, awaitables, the bounded queue and backlog."""

from __future__ import annotations

import asyncio
import errno
import threading
import types
from collections.abc import Iterator

import pytest
from core_drivers import TestPlugin, ZlibTest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import acomp
from acomp.registry import Registry, get_registry, reset_registry
from acomp.workers import WorkerPool, set_pool

PAGE = b"async page " * 372


class Gated(ZlibTest):
    """Blocks in every operation until the class gate opens: lets a test fill the queue."""

    driver_name = "testz-gated"
    gate = threading.Event()

    def decompress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        if not type(self).gate.wait(10):
            raise acomp.TimedOut("gate never opened")
        return super().decompress(src, capacity)


@pytest.fixture
def small_engine() -> Iterator[WorkerPool]:
    engine = WorkerPool(workers=1, max_qlen=2, max_backlog=2, name="test-engine")
    old = set_pool(engine)
    yield engine
    Gated.gate.set()
    set_pool(old)


def test_callback_fires_exactly_once_with_the_result(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")
    seen: list[acomp.Request] = []
    done = threading.Event()
    blob = acomp.compress(PAGE, "testz")

    def callback(req: acomp.Request) -> None:
        seen.append(req)
        done.set()

    req = acomp.Request(blob, bytearray(4096), callback=callback)
    assert tfm.submit(req, "decompress") == errno.EINPROGRESS
    assert done.wait(10) and req.wait(10)
    assert seen == [req] and req.output() == PAGE


def test_poll_returns_eagain_until_done_then_the_outcome(registry: Registry, small_engine: WorkerPool) -> None:
    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(Gated)))
    registry.register_plugin(plugin, name="gated")
    Gated.gate.clear()
    tfm = acomp.alloc("testz-gated")
    good = acomp.Request(acomp.compress(PAGE, "testz"), bytearray(4096), flags=acomp.RequestFlags.POLL)
    bad = acomp.Request(b"\xff\xfe", bytearray(4096), flags=acomp.RequestFlags.POLL)
    tfm.submit(good, "decompress")
    tfm.submit(bad, "decompress")
    assert tfm.poll(good) == -errno.EAGAIN and tfm.poll(bad) == -errno.EAGAIN
    Gated.gate.set()
    assert good.wait(10) and bad.wait(10)
    assert tfm.poll(good) == 0 and tfm.poll(bad) == -errno.EINVAL
    with pytest.raises(acomp.InvalidArgument, match="POLL"):
        tfm.poll(acomp.Request(b""))


def test_full_queue_without_backlog_is_ebusy_and_with_backlog_completes(
    registry: Registry, small_engine: WorkerPool
) -> None:
    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(Gated)))
    registry.register_plugin(plugin, name="gated")
    Gated.gate.clear()
    tfm = acomp.alloc("testz-gated")
    blob = acomp.compress(PAGE, "testz")
    calls: list[acomp.Request] = []
    accepted: list[acomp.Request] = []
    statuses = []
    refused = 0
    for i in range(8):
        flags = acomp.RequestFlags.MAY_BACKLOG if i % 2 else 0
        req = acomp.Request(blob, bytearray(4096), flags=flags, callback=calls.append)
        try:
            statuses.append(tfm.submit(req, "decompress"))
            accepted.append(req)
        except acomp.Busy as exc:
            assert not flags or small_engine.backlog_len == small_engine.max_backlog
            assert req.err is exc and exc.errno == errno.EBUSY
            refused += 1
    assert refused >= 1 and errno.EBUSY in statuses  # one worker + 2 queued + 2 backlogged < 8
    Gated.gate.set()
    for req in accepted:
        assert req.wait(10) and req.output() == PAGE
    assert sorted(map(id, calls)) == sorted(map(id, accepted))  # each exactly once


def test_chain_submitted_async_completes_every_request(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")
    pages = [PAGE[i:] for i in range(6)]
    reqs = [acomp.Request(p, bytearray(4200)) for p in pages]
    for r in reqs[1:]:
        acomp.request_chain(r, reqs[0])
    tfm.submit(reqs[0], "compress")
    for p, r in zip(pages, reqs):
        assert r.wait(10) and acomp.decompress(r.output(), "testz") == p


def test_awaitable_compress_and_errors(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")

    async def main() -> tuple[bytes, acomp.AcompError | None]:
        req = acomp.Request(PAGE, bytearray(4200))
        await acomp.aio.compress(tfm, req)
        bad = acomp.Request(b"\x00garbage", bytearray(10))
        err = None
        try:
            await acomp.aio.decompress(tfm, bad)
        except acomp.AcompError as exc:
            err = exc
        results = await asyncio.gather(
            *(acomp.aio.compress(tfm, acomp.Request(PAGE[i:], bytearray(4200))) for i in range(8))
        )
        assert all(n > 0 for n in results)
        return req.output(), err

    out, err = asyncio.run(main())
    assert acomp.decompress(out, "testz") == PAGE
    assert err is not None and err.errno in (errno.EINVAL, errno.ENOSPC)


def test_submissions_from_many_threads(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")
    results: list[bool] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        reqs = [acomp.Request(PAGE[k + i :], bytearray(4200), flags=acomp.RequestFlags.MAY_BACKLOG) for i in range(50)]
        for r in reqs:
            tfm.submit(r, "compress")
        ok = all(r.wait(20) and acomp.decompress(r.output(), "testz") == PAGE[k + i :] for i, r in enumerate(reqs))
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [True] * 4


class AsyncMachine(RuleBasedStateMachine):
    """Submit/poll/callback/backlog against a model: outcomes are exactly as planted.

    The gate holds the driver, so the queue and backlog really fill; the model
    does not predict *when* the queue is full (the worker's timing decides),
    only the rules every outcome must obey.
    """

    def __init__(self) -> None:
        super().__init__()
        self.old_registry = get_registry()
        reg = reset_registry(Registry(autoload=False))
        reg.register_plugin(TestPlugin(), name="testplugin")
        plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(Gated)))
        reg.register_plugin(plugin, name="gated")
        self.engine = WorkerPool(workers=1, max_qlen=3, max_backlog=3, name="machine-engine")
        self.old_engine = set_pool(self.engine)
        Gated.gate.clear()
        self.tfm = acomp.alloc("testz-gated")
        self.blob = acomp.compress(PAGE, "testz")
        self.inflight: list[tuple[acomp.Request, int | None]] = []
        self.finished: list[tuple[acomp.Request, int | None]] = []
        self.callbacks: dict[int, int] = {}

    def _callback(self, req: acomp.Request) -> None:
        self.callbacks[id(req)] = self.callbacks.get(id(req), 0) + 1

    @rule(corrupt=st.booleans(), backlog=st.booleans(), poll=st.booleans())
    def submit(self, corrupt: bool, backlog: bool, poll: bool) -> None:
        flags = (acomp.RequestFlags.MAY_BACKLOG if backlog else 0) | (acomp.RequestFlags.POLL if poll else 0)
        src = b"\xff\xfe\xfd" if corrupt else self.blob
        req = acomp.Request(src, bytearray(4096), flags=flags, callback=self._callback)
        try:
            status = self.tfm.submit(req, "decompress")
        except acomp.Busy:
            assert not backlog or self.engine.backlog_len >= self.engine.max_backlog
            assert id(req) not in self.callbacks
            return
        assert status in (errno.EINPROGRESS, errno.EBUSY)
        assert status == errno.EINPROGRESS or backlog
        self.inflight.append((req, errno.EINVAL if corrupt else None))

    @rule()
    def poll_some(self) -> None:
        for req, want in self.inflight:
            if req.flags & acomp.RequestFlags.POLL:
                got = self.tfm.poll(req)
                assert got == -errno.EAGAIN or got == (-(want or 0))

    @precondition(lambda self: self.inflight)
    @rule()
    def open_gate_and_drain(self) -> None:
        Gated.gate.set()
        for req, want in self.inflight:
            assert req.wait(10), "request never completed"
            if want is None:
                assert req.err is None and req.output() == PAGE
            else:
                assert req.err is not None and req.err.errno == want
        self.finished += self.inflight
        self.inflight = []
        Gated.gate.clear()

    @invariant()
    def callbacks_at_most_once(self) -> None:
        assert all(n == 1 for n in self.callbacks.values())
        for req, _ in self.finished:
            # A POLL request completes without its callback (v5 iaa_comp_poll: no acomp_request_complete()).
            want = 0 if req.flags & acomp.RequestFlags.POLL else 1
            assert self.callbacks.get(id(req), 0) == want

    def teardown(self) -> None:
        Gated.gate.set()
        for req, _ in self.inflight:
            req.wait(10)
        set_pool(self.old_engine)
        reset_registry(self.old_registry)


TestAsyncMachine = AsyncMachine.TestCase


class NeverCompletes(ZlibTest):
    """A hostile async driver: accepts submissions and never calls done()."""

    driver_name = "testz-blackhole"

    def submit(self, op, req, capacity, done):  # type: ignore[no-untyped-def]
        return True


def test_driver_that_never_completes_is_bounded(registry: Registry) -> None:
    plugin = types.SimpleNamespace(
        acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(NeverCompletes))
    )
    registry.register_plugin(plugin, name="blackhole")
    tfm = acomp.alloc("testz-blackhole")
    req = acomp.Request(PAGE, bytearray(4200))
    with pytest.raises(acomp.TimedOut, match=r"testz-blackhole \(plugin 'blackhole'\) did not complete"):
        asyncio.run(acomp.aio.compress(tfm, req, timeout=0.05))
    assert req.wait(0.01) is False  # and a plain wait is bounded too
    assert tfm.compress(acomp.Request(PAGE, bytearray(4200))) > 0  # sync path unaffected


class ThreadedAsync(ZlibTest):
    """An async driver without REQ_CHAIN: completes each submission on a thread of its own."""

    driver_name = "testz-threaded"
    features = acomp.driver.Feature.ASYNC

    def submit(self, op, req, capacity, done):  # type: ignore[no-untyped-def]
        src = req.src
        fn = self.compress if op == "compress" else self.decompress

        def work() -> None:
            try:
                res = fn(src, capacity)
            except acomp.AcompError as exc:
                res = exc
            done(res)

        threading.Thread(target=work, daemon=True).start()
        return True


def test_chain_on_an_async_driver_without_req_chain_runs_one_request_at_a_time(registry: Registry) -> None:
    """v6.15 crypto_acomp_decompress: a driver without REQ_CHAIN gets the chain from acomp_do_req_chain."""
    plugin = types.SimpleNamespace(
        acomp_register_drivers=acomp.driver.hookimpl(
            lambda register: (register(ThreadedAsync), register(NeverCompletes))
        )
    )
    registry.register_plugin(plugin, name="asyncdrivers")
    tfm = acomp.alloc("testz-threaded")
    blobs = [acomp.compress(PAGE[i:], "testz") for i in range(6)]
    blobs[2] = b"\xff\xfe"  # corrupt: only this request fails
    reqs = [acomp.Request(b, bytearray(4096)) for b in blobs]
    for r in reqs[1:]:
        acomp.request_chain(r, reqs[0])
    tfm.decompress(reqs[0])
    for i, r in enumerate(reqs):
        if i == 2:
            assert r.err is not None and r.err.errno == errno.EINVAL
        else:
            assert r.err is None and r.output() == PAGE[i:]


def test_sync_chain_on_a_driver_whose_async_path_never_completes_is_unaffected(registry: Registry) -> None:
    plugin = types.SimpleNamespace(
        acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(NeverCompletes))
    )
    registry.register_plugin(plugin, name="blackhole2")
    tfm = acomp.alloc("testz-blackhole")
    reqs = [acomp.Request(PAGE, bytearray(4200)) for _ in range(3)]
    for r in reqs[1:]:
        acomp.request_chain(r, reqs[0])
    tfm.compress(reqs[0])  # acomp_do_req_chain: each request through the synchronous op
    assert all(r.err is None and r.done and r.dlen > 0 for r in reqs)


def test_awaiting_keeps_the_callers_callback_and_fires_it_once(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")
    calls: list[acomp.Request] = []
    req = acomp.Request(PAGE, bytearray(4200), callback=calls.append)

    async def main() -> int:
        return await acomp.aio.compress(tfm, req)

    n = asyncio.run(main())
    assert n == req.dlen > 0 and calls == [req]
    assert req.callback == calls.append  # never swapped out
