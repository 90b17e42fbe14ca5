"""Completion never kills the thread that runs it; no wait hangs on a dead pool (issue 14 items 5 and 6).

Before: a callback raising SystemExit/KeyboardInterrupt, the callback-error warning under
``-W error``, a driver raising a BaseException, or an asyncio await abandoned when its loop
closed killed the worker, and every later ``submit`` waited forever.
"""

from __future__ import annotations

import asyncio
import errno
import subprocess
import sys
import textwrap
import threading
import types
from collections.abc import Iterator

import pytest

import acomp
from acomp.workers import WorkerPool, set_pool

PAGE = b"completion survives " * 205


class Slow(acomp.driver.Driver):
    """A software driver whose compress waits for a gate; optionally raises a BaseException."""

    alg_name = "survive"
    driver_name = "survive-slow"
    gate = threading.Event()
    raise_once: BaseException | None = None

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        type(self).gate.wait(10)
        exc, type(self).raise_once = type(self).raise_once, None
        if exc is not None:
            raise exc
        return bytes(src)[:capacity]


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    """One worker: if it died, nothing after it would ever complete."""
    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(Slow)))
    acomp.driver.register_plugin(plugin, "survive")
    pool = WorkerPool(workers=1, max_qlen=64, name="survive")
    old = set_pool(pool)
    Slow.gate.set()
    yield pool
    Slow.gate.set()
    set_pool(old)
    acomp.driver.unregister_plugin("survive")


def _still_serves(tfm: acomp.Transform) -> None:
    req = acomp.Request(PAGE, bytearray(len(PAGE)))
    assert tfm.submit(req) == errno.EINPROGRESS
    assert req.wait(10), "the worker died: a later submit never completed"
    assert req.err is None and req.output() == PAGE


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("exc_type", [SystemExit, KeyboardInterrupt, RuntimeError, GeneratorExit])
def test_a_raising_callback_does_not_kill_the_worker(pool: WorkerPool, exc_type: type[BaseException]) -> None:
    tfm = acomp.alloc("survive-slow")

    def callback(_req: acomp.Request) -> None:
        raise exc_type("from a callback")

    req = acomp.Request(PAGE, bytearray(len(PAGE)), callback=callback)
    tfm.submit(req)
    assert req.wait(10) and req.err is None
    _still_serves(tfm)
    assert len(pool.threads()) == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit, MemoryError])
def test_a_driver_raising_a_base_exception_fails_only_its_request(pool: WorkerPool, exc_type: type) -> None:
    tfm = acomp.alloc("survive-slow")
    Slow.raise_once = exc_type("from the driver")
    req = acomp.Request(PAGE, bytearray(len(PAGE)))
    tfm.submit(req)
    assert req.wait(10)
    assert isinstance(req.err, acomp.DriverError) and "survive-slow" in str(req.err)
    _still_serves(tfm)


def test_a_dead_worker_is_replaced(pool: WorkerPool) -> None:
    tfm = acomp.alloc("survive-slow")
    _still_serves(tfm)
    (worker,) = pool.threads()
    pool._threads = []  # as if it had died: the pool no longer has a live worker
    _still_serves(tfm)
    assert pool.threads() and pool.threads()[0] is not worker


def test_an_await_abandoned_by_a_closed_loop_does_not_kill_the_completer(pool: WorkerPool) -> None:
    tfm = acomp.alloc("survive-slow")
    Slow.gate.clear()
    req = acomp.Request(PAGE, bytearray(len(PAGE)))

    async def abandon() -> None:
        with pytest.raises(acomp.TimedOut):
            await acomp.aio.compress(tfm, req, timeout=0.01)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(abandon())
    loop.close()
    Slow.gate.set()  # completes now: call_soon_threadsafe on the closed loop
    assert req.wait(10) and req.err is None
    _still_serves(tfm)


def test_a_second_await_is_refused_and_the_first_still_completes(pool: WorkerPool) -> None:
    tfm = acomp.alloc("survive-slow")
    Slow.gate.clear()
    req = acomp.Request(PAGE, bytearray(len(PAGE)))

    async def both() -> int:
        first = asyncio.ensure_future(acomp.aio.compress(tfm, req, timeout=10))
        await asyncio.sleep(0)  # the first is in flight
        with pytest.raises(acomp.InvalidArgument, match="already in flight"):
            await acomp.aio.compress(tfm, req, timeout=10)
        Slow.gate.set()
        return await first

    assert asyncio.run(both()) == len(PAGE)


def test_callback_error_under_w_error_keeps_the_worker(tmp_path: object) -> None:
    # Under -W error a warning is an exception: the report must not become one on the worker.
    code = textwrap.dedent(
        """
        import acomp, sys
        tfm = acomp.alloc("lz4")
        def bad(req):
            raise ValueError("callback bug")
        reqs = [acomp.Request(b"page" * 1024, bytearray(8192), callback=bad) for _ in range(4)]
        for r in reqs:
            tfm.submit(r)
        assert all(r.wait(10) for r in reqs)
        ok = acomp.Request(b"page" * 1024, bytearray(8192))
        tfm.submit(ok)
        assert ok.wait(10) and ok.err is None, "worker died"
        print("served")
        """
    )
    run = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "served" in run.stdout
    assert "callback bug" in run.stderr  # reported, not swallowed
