"""Every documented bound holds: past it a clear EINVAL / EBUSY / ENOSPC, never memory growth.

The numbers are read from the code (``acomp.request.MAX_SRC_SIZE`` ...) and
checked against the values docs/reliability.md states, so the table cannot
drift silently.  Allocation-bound cases measure the peak with tracemalloc.
"""

from __future__ import annotations

import errno
import threading
import tracemalloc
import types
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

import acomp
from acomp import DST_MAX, PAGE_SIZE
from acomp.registry import AcompPluginWarning
from acomp.request import MAX_CHAIN_LEN, MAX_SRC_SIZE, MAX_UNITS
from acomp.workers import DEFAULT_MAX_BACKLOG, DEFAULT_MAX_QLEN, WorkerPool, set_pool
from acomp.zswap.pool import ZSWAP_MAX_BATCH_SIZE

PLUGIN = "bounds-test"

#: Decompress drivers and the errno each reports when the output exceeds the capacity.
#: (lz4's raw block format cannot tell "too big" from "corrupt": EINVAL, as the kernel's lz4.)
OVERFLOW_ERRNO = {
    "deflate-generic": errno.ENOSPC,
    "deflate-isal": errno.ENOSPC,
    "zstd-generic": errno.ENOSPC,
    "lz4-generic": errno.EINVAL,
    "lz4hc-generic": errno.EINVAL,
    "deflate-iaa": errno.EOVERFLOW,
}


def test_the_documented_numbers() -> None:
    """The values docs/reliability.md's table gives (a change here must change the docs)."""
    assert MAX_SRC_SIZE == 64 * 1024 * 1024
    assert DST_MAX == 128 * 1024
    assert MAX_CHAIN_LEN == 4096
    assert MAX_UNITS == 4096
    assert (DEFAULT_MAX_QLEN, DEFAULT_MAX_BACKLOG) == (1024, 4096)
    assert ZSWAP_MAX_BATCH_SIZE == 8


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak Python allocation while ``fn`` runs (exceptions from ``fn`` are swallowed)."""
    tracemalloc.start()
    try:
        try:
            fn()
        except acomp.AcompError:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class Recorder(acomp.driver.Driver):
    """A batching, segmenting driver that records the source sizes its hooks were given."""

    alg_name = "bounds"
    driver_name = "bounds-batch"
    batch_size = 4
    async_batching = True  # so that crypto_acomp_batch_size() is 4 (v5)
    features = acomp.driver.Feature.REQ_CHAIN | acomp.driver.Feature.REQ_SEG
    seen: list[int] = []

    def compress(self, src: Any, capacity: int) -> bytes:
        type(self).seen.append(len(src))
        return b"\x01" * min(8, capacity)

    def decompress(self, src: Any, capacity: int) -> bytes:
        return acomp.driver.inflate_bounded(src, capacity)

    def batch_compress(self, srcs: Sequence[Any], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        return [self.compress(s, c) for s, c in zip(srcs, capacities)]


class Gate(Recorder):
    """compress blocks until the test opens the gate (fills the engine's queue)."""

    driver_name = "bounds-gate"
    batch_size = 1
    features = acomp.driver.Feature.NONE
    gate = threading.Event()

    def compress(self, src: Any, capacity: int) -> bytes:
        assert type(self).gate.wait(30)
        return b"\x02"


@pytest.fixture(autouse=True)
def bounds_plugin() -> Iterator[None]:
    def register(register: Any) -> None:
        register(Recorder)
        register(Gate)

    acomp.driver.register_plugin(types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(register)), PLUGIN)
    Recorder.seen.clear()
    yield
    acomp.driver.unregister_plugin(PLUGIN)


@pytest.fixture(scope="module")
def oversized() -> bytes:
    return bytes(MAX_SRC_SIZE + 1)  # zero-filled: cheap to make


# -- MAX_SRC_SIZE ----------------------------------------------------------------------------


@pytest.mark.parametrize("driver", ["zstd-generic", "lz4-generic", "deflate-generic", "bounds-batch"])
def test_src_over_max_src_size_is_einval_without_touching_it(driver: str, oversized: bytes) -> None:
    tfm = acomp.alloc(driver)
    req = acomp.Request(oversized)
    peak = peak_bytes(lambda: tfm.compress(req))
    assert isinstance(req.err, acomp.InvalidArgument) and "MAX_SRC_SIZE" in str(req.err)
    assert peak < 64 * 1024  # refused before any copy or output buffer
    assert Recorder.seen == []
    ok = acomp.Request(memoryview(oversized)[:MAX_SRC_SIZE])  # at the bound: accepted
    if driver == "bounds-batch":
        assert tfm.compress(ok) == 8


def test_max_src_size_holds_for_batches_and_segments(oversized: bytes) -> None:
    """Bug (reported): the batch hook and the segmented path skip the MAX_SRC_SIZE check.

    ``Transform._run_hook`` (batches of 2+, and chains on REQ_CHAIN drivers)
    hands every source to the driver unchecked, and ``segment.run_segmented``
    accepts a unit of any size; only the one-buffer path refuses.
    """
    tfm = acomp.alloc("bounds-batch")
    reqs = [acomp.Request(oversized), acomp.Request(b"small")]
    tfm.batch_compress(reqs)
    assert isinstance(reqs[0].err, acomp.InvalidArgument), reqs[0].err
    assert reqs[1].err is None
    seg = acomp.Request(oversized, unit_size=len(oversized))
    with pytest.raises(acomp.InvalidArgument):
        tfm.compress(seg)
    assert max(Recorder.seen, default=0) <= MAX_SRC_SIZE, "a driver was handed a source past MAX_SRC_SIZE"


# -- DST_MAX and decompression bombs ---------------------------------------------------------


def _available(driver: str) -> acomp.Transform:
    try:
        return acomp.alloc(driver)
    except acomp.AlgorithmNotFound:
        pytest.skip(f"{driver} not installed")


@pytest.fixture(scope="module")
def bomb_plain() -> bytes:
    return bytes(16 << 20)  # 16 MiB of zeros: a few KiB compressed


@pytest.mark.parametrize("driver", sorted(OVERFLOW_ERRNO))
def test_decompression_bomb_is_bounded_by_dst_max(driver: str, bomb_plain: bytes, request: Any) -> None:
    if driver == "deflate-iaa":
        request.getfixturevalue("iaa")  # a fresh emulated machine, reset afterwards
    tfm = _available(driver)
    # deflate-iaa's 4 KiB window compresses worse: 1 MiB is still 8 x DST_MAX
    plain = bomb_plain[: 1 << 20] if driver == "deflate-iaa" else bomb_plain
    bomb = acomp.compress(plain, driver)
    assert len(bomb) < len(plain) // 8
    req = acomp.Request(bomb)  # dst=None, no dlen: acomp allocates at most DST_MAX
    peak = peak_bytes(lambda: tfm.decompress(req))
    assert req.err is not None and req.err.errno == OVERFLOW_ERRNO[driver], req.err
    assert peak < 4 * DST_MAX, f"{driver}: {peak} bytes at peak for a {DST_MAX}-byte bound"
    # exactly DST_MAX fits
    exact = acomp.compress(plain[:DST_MAX], driver)
    assert tfm.decompress(acomp.Request(exact)) == DST_MAX
    tfm.close()


def test_explicit_max_size_bounds_the_one_shot_helper(bomb_plain: bytes) -> None:
    bomb = acomp.compress(bomb_plain, "zstd")
    peak = peak_bytes(lambda: acomp.decompress(bomb, "zstd", max_size=1 << 20))
    with pytest.raises(acomp.NoSpace):
        acomp.decompress(bomb, "zstd", max_size=1 << 20)
    assert peak < 3 << 20
    with pytest.raises(acomp.InvalidArgument):
        acomp.decompress(bomb, "zstd", max_size=0)


# -- MAX_CHAIN_LEN ---------------------------------------------------------------------------


def test_chain_length_is_bounded() -> None:
    head = acomp.reqchain_init(acomp.Request(b"a" * 100))
    for _ in range(MAX_CHAIN_LEN - 1):
        acomp.request_chain(acomp.Request(b"b" * 100), head)
    assert len(head.requests()) == MAX_CHAIN_LEN
    with pytest.raises(acomp.InvalidArgument, match=f"at most {MAX_CHAIN_LEN}"):
        acomp.request_chain(acomp.Request(b"c"), head)
    assert len(head.requests()) == MAX_CHAIN_LEN  # the refused one was not added
    acomp.alloc("lz4").compress(head)  # the longest chain still runs, every request completes
    assert all(r.err is None and r.dlen > 0 for r in head.requests())


# -- MAX_UNITS -------------------------------------------------------------------------------


def test_segment_units_are_bounded() -> None:
    tfm = acomp.alloc("lz4")
    req = acomp.Request(b"x" * MAX_UNITS, unit_size=1)
    assert tfm.compress(req) == MAX_UNITS or req.seg_dlens is not None
    assert len(req.seg_dlens or []) == MAX_UNITS
    too_many = acomp.Request(b"x" * (MAX_UNITS + 1), unit_size=1)
    with pytest.raises(acomp.InvalidArgument, match=f"exceed the maximum of {MAX_UNITS}"):
        tfm.compress(too_many)
    with pytest.raises(acomp.InvalidArgument):
        tfm.compress(acomp.Request([b"x"] * (MAX_UNITS + 1), unit_size=PAGE_SIZE))


# -- batch size ------------------------------------------------------------------------------


def test_batch_size_bounds() -> None:
    tfm = acomp.alloc("bounds-batch")
    reqs = [acomp.Request(b"p" * 64, bytearray(64)) for _ in range(tfm.batch_size + 1)]
    with pytest.raises(acomp.InvalidArgument, match="exceeds batch_size 4"):
        tfm.batch_compress(reqs)
    assert Recorder.seen == []  # refused before the hook ran
    assert tfm.batch_compress(reqs[: tfm.batch_size]) is True

    def claim(n: int) -> type[acomp.driver.Driver]:
        return type(f"Claims{n}", (Recorder,), {"driver_name": f"bounds-claims-{n}", "batch_size": n})

    plugin = types.SimpleNamespace(
        acomp_register_drivers=acomp.driver.hookimpl(lambda register: [register(claim(1024)), register(claim(1025))])
    )
    with pytest.warns(AcompPluginWarning, match=r"Claims1025.*batch_size must be an int in 1\.\.1024"):
        acomp.driver.register_plugin(plugin, "bounds-claims")
    try:
        assert acomp.alloc("bounds-claims-1024").batch_size == 1024
        with pytest.raises(acomp.AlgorithmNotFound):
            acomp.alloc("bounds-claims-1025")
    finally:
        acomp.driver.unregister_plugin("bounds-claims")


# -- engine queue depth and backlog ----------------------------------------------------------


def test_engine_queue_and_backlog_are_bounded() -> None:
    qlen, backlog = 4, 3
    engine = WorkerPool(workers=1, max_qlen=qlen, max_backlog=backlog, name="bounds-engine")
    old = set_pool(engine)
    Gate.gate.clear()
    done: list[acomp.Request] = []
    try:
        tfm = acomp.alloc("bounds-gate")
        first = acomp.Request(b"first", callback=done.append)
        assert tfm.submit(first) == errno.EINPROGRESS
        while engine.qlen:  # the worker took it and blocks in the driver
            threading.Event().wait(0.001)
        queued = [acomp.Request(b"q", callback=done.append) for _ in range(qlen)]
        assert [tfm.submit(r) for r in queued] == [errno.EINPROGRESS] * qlen
        flag = acomp.RequestFlags.MAY_BACKLOG
        backlogged = [acomp.Request(b"b", flags=flag, callback=done.append) for _ in range(backlog)]
        assert [tfm.submit(r) for r in backlogged] == [errno.EBUSY] * backlog
        refused = 0
        for i in range(2000):  # hammer it: nothing more is kept
            r = acomp.Request(b"r", flags=flag if i % 2 else 0, callback=done.append)
            with pytest.raises(acomp.Busy):
                tfm.submit(r)
            assert r.done and isinstance(r.err, acomp.Busy)
            refused += 1
        assert (engine.qlen, engine.backlog_len) == (qlen, backlog)
        Gate.gate.set()
        for r in [first, *queued, *backlogged]:
            assert r.wait(30), "a queued request never completed"
        assert len(done) == 1 + qlen + backlog  # refused requests' callbacks never ran
        assert all(r.err is None for r in done)
        assert refused == 2000
    finally:
        Gate.gate.set()
        set_pool(old)


# -- zswap's own bounds ----------------------------------------------------------------------


def test_zswap_pool_limit_bounds_memory() -> None:
    """Storing far past max_pool_percent: the pool stays within its limit (no swap: rejects)."""
    from acomp.zswap import Zswap

    total_ram = 512 * PAGE_SIZE  # 20%: ~102 pool pages
    with Zswap("zstd", total_ram=total_ram, shrinker_enabled=False) as z:
        page = zlib.compress(bytes(range(256)) * 16)[:PAGE_SIZE].ljust(PAGE_SIZE, b"\x07")
        stored = 0
        for off in range(0, 4000):
            stored += z.store(off, page)
            assert z.total_pages() <= z.max_pages() + 8  # at most one zspage of overshoot
        st = z.stats()
        assert st["pool_limit_hit"] > 0 and stored < 4000
        z.verify()


def test_warning_free_registration() -> None:
    """The fixture's plugin registers without warnings (so the refusals above are the drivers')."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        acomp.driver.unregister_plugin(PLUGIN)
        acomp.driver.register_plugin(
            types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(Recorder))),
            PLUGIN,
        )
