"""compress_many / decompress_many (acomp only): results, bounds, caller buffers, asyncio, threads.

Every behaviour is checked on both ways a call can run, inline and spread over
the helper threads (forced: the choice between them is a measured cost and
no test depends on timing).
"""

from __future__ import annotations

import asyncio
import re
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import acomp
from acomp import _many_cost, _many_pool, many
from acomp._many_pool import POOL
from acomp.registry import Registry, get_registry, reset_registry
from acomp.request import MAX_SRC_SIZE

MODES = ["inline", "spread"]


def pages(n: int, size: int = 4096) -> list[bytes]:
    """Distinct, compressible pages."""
    return [(b"page %06d " % i) * (size // 12) + bytes(size % 12) for i in range(n)]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> Iterator[str]:
    with _many_cost.forced(request.param):
        yield request.param


@pytest.fixture(autouse=True)
def _fresh_costs() -> Iterator[None]:
    _many_cost.reset_costs()
    yield
    _many_cost.reset_costs()
    assert POOL.wait_quiet(30), "a helper thread is still running a share after the test"


# -- drivers for the tests ---------------------------------------------------------------


class Flaky(acomp.driver.Driver):
    """zlib, except for sources that start with a trigger word."""

    alg_name = "flaky"
    driver_name = "flaky-test"
    releases_gil = True

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        head = bytes(memoryview(src)[:4])
        if head == b"BAD!":
            raise acomp.InvalidData("bad source")
        if head == b"BUG!":
            raise RuntimeError("driver bug")
        if head == b"EXIT":
            raise SystemExit(3)
        if head == b"TYPE":  # a typed view: 8 elements, 64 bytes
            return memoryview(bytes(64)).cast("Q")  # type: ignore[return-value]
        return self.fit(zlib.compress(src, 1), capacity)

    def decompress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        d = zlib.decompressobj()
        out = d.decompress(src, capacity)
        if d.unconsumed_tail:
            raise acomp.NoSpace("too big")
        return out


class Gate(acomp.driver.Driver):
    """Blocks in compress until the class's gate opens; counts the calls running."""

    alg_name = "gate"
    driver_name = "gate-test"
    releases_gil = True
    gate = threading.Event()
    entered = threading.Event()
    lock = threading.Lock()
    active = 0
    calls = 0

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.calls += 1
        cls.entered.set()
        try:
            if not cls.gate.wait(30):
                raise acomp.TimedOut("gate never opened")
            return bytes(src)
        finally:
            with cls.lock:
                cls.active -= 1


class _Plugin:
    @acomp.driver.hookimpl
    def acomp_register_drivers(self, register):  # type: ignore[no-untyped-def]
        register(Flaky)
        register(Gate)


@pytest.fixture
def test_registry() -> Iterator[Registry]:
    old = get_registry()
    reg = reset_registry(Registry(autoload=False))
    reg.register_plugin(_Plugin(), name="many-test")
    Gate.gate.clear()
    Gate.entered.clear()
    Gate.active = Gate.calls = 0
    yield reg
    Gate.gate.set()
    reset_registry(old)


# -- results -----------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["zstd", "lz4", "deflate-generic"])
@pytest.mark.parametrize("count", [0, 1, 8, 10_000])
def test_any_count_matches_one_by_one(alg: str, count: int, mode: str) -> None:
    srcs = pages(count, 512 if count > 100 else 4096)
    with acomp.alloc(alg) as tfm:
        outs = tfm.compress_many(srcs)
        assert len(outs) == count
        for src, out in zip(srcs, outs):
            assert not isinstance(out, acomp.AcompError)
            req = acomp.Request(src)
            tfm.compress(req)
            assert bytes(out) == bytes(memoryview(req.dst)[: req.dlen])
        back = tfm.decompress_many(outs, max_size=4096)
    assert [bytes(b) for b in back] == srcs  # type: ignore[arg-type]


@pytest.mark.parametrize("alg", ["zstd", "lz4"])
def test_mixed_sizes_and_buffer_kinds(alg: str, mode: str) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB
    srcs: list[object] = [
        b"",
        b"x",
        bytearray(b"y" * 100),
        big,
        memoryview(big)[:70_000],
        memoryview(bytearray(pages(1)[0])).cast("Q"),  # typed: 512 elements, 4096 bytes
        memoryview(bytearray(pages(1)[0])).cast("B", (64, 64)),  # 2-D
    ]
    flat = [bytes(memoryview(s).cast("B")) if isinstance(s, memoryview) else bytes(s) for s in srcs]  # type: ignore[arg-type]
    outs = acomp.compress_many(srcs, alg)  # type: ignore[arg-type]
    assert all(not isinstance(o, acomp.AcompError) for o in outs), outs
    assert [bytes(o) for o in outs] == [acomp.compress(f, alg) for f in flat]  # type: ignore[arg-type]
    back = acomp.decompress_many(outs, alg, max_size=len(big))  # type: ignore[arg-type]
    assert [bytes(b) for b in back] == flat  # type: ignore[arg-type]


def test_bad_sources_fail_alone(mode: str) -> None:
    good = pages(3)
    huge = memoryview(bytearray(MAX_SRC_SIZE + 8)).cast("Q")  # len() is 1/8 of nbytes
    srcs: list[object] = [good[0], 42, "text", memoryview(good[1])[::2], huge, good[2]]
    outs = acomp.compress_many(srcs, "zstd")  # type: ignore[arg-type]
    assert len(outs) == len(srcs)
    assert [bytes(o) for o in (outs[0], outs[5])] == [acomp.compress(good[0], "zstd"), acomp.compress(good[2], "zstd")]  # type: ignore[arg-type]
    for i in (1, 2, 3, 4):
        assert isinstance(outs[i], acomp.InvalidArgument), (i, outs[i])
        assert f"srcs[{i}]" in str(outs[i])
    assert "MAX_SRC_SIZE" in str(outs[4])


def test_driver_errors_fail_alone(test_registry: Registry, mode: str) -> None:
    srcs = [b"fine" * 50, b"BAD!" * 10, b"BUG!" * 10, b"TYPE", b"also fine" * 30]
    outs = acomp.compress_many(srcs, "flaky")
    assert bytes(outs[0]) == zlib.compress(srcs[0], 1)  # type: ignore[arg-type]
    assert isinstance(outs[1], acomp.InvalidData)
    assert isinstance(outs[2], acomp.DriverError) and "driver bug" in str(outs[2])
    assert bytes(outs[3]) == bytes(64)  # type: ignore[arg-type]  # measured in bytes, not elements
    assert bytes(outs[4]) == zlib.compress(srcs[4], 1)  # type: ignore[arg-type]


def test_typed_output_overrunning_a_dst_is_refused(test_registry: Registry, mode: str) -> None:
    dsts = [bytearray(16), bytearray(100)]
    outs = acomp.compress_many([b"TYPE", b"TYPE"], "flaky", dsts=dsts)
    assert isinstance(outs[0], acomp.DriverError) and outs[0].returned == 64 and outs[0].capacity == 16
    assert bytes(outs[1]) == bytes(64)  # type: ignore[arg-type]
    assert dsts[0] == bytearray(16)  # nothing written past the refused item's bound


def test_base_exception_in_a_helper_becomes_errors_and_the_helper_lives(test_registry: Registry) -> None:
    srcs = [b"EXIT"] * 4 + [b"fine" * 20] * 60

    async def main() -> list[many.ManyResult]:
        with acomp.alloc("flaky") as tfm:
            return await many.compress_many_async(tfm, srcs)  # every share on a helper

    outs = asyncio.run(main())
    assert all(isinstance(o, acomp.DriverError) and "SystemExit" in str(o) for o in outs[:4])
    # The share that met SystemExit (at most 16 sources) failed; every other share is intact.
    assert all(bytes(o) == zlib.compress(b"fine" * 20, 1) for o in outs[16:])  # type: ignore[arg-type]
    assert POOL.wait_quiet(30)
    assert sum(t.is_alive() for t in threading.enumerate() if t.name.startswith("acomp-many-")) == POOL.size


def test_base_exception_in_the_callers_share_propagates_after_the_helpers_stop(test_registry: Registry) -> None:
    with _many_cost.forced("inline"), pytest.raises(SystemExit):
        acomp.compress_many([b"fine", b"EXIT"], "flaky")


def test_corrupt_source_fails_alone_in_decompress(mode: str) -> None:
    srcs = pages(64)
    comp = [bytes(c) for c in acomp.compress_many(srcs, "zstd")]  # type: ignore[arg-type]
    comp[5] = comp[5][:-3]  # truncated
    comp[9] = comp[9] + b"junk"  # trailing garbage
    comp[11] = b"\x00" * 40  # not zstd at all
    comp[13] = comp[13] + comp[14]  # two frames: 8 KiB, more than max_size
    back = acomp.decompress_many(comp, "zstd", max_size=4096)
    for i, b in enumerate(back):
        if i in (5, 9, 11):
            assert isinstance(b, acomp.InvalidData), (i, b)
        elif i == 13:
            assert isinstance(b, acomp.NoSpace), b
        else:
            assert bytes(b) == srcs[i], i  # type: ignore[arg-type]


def test_max_size_bounds_every_item(mode: str) -> None:
    srcs = [b"a" * 100, b"b" * 5000, b"c" * 10]
    comp = acomp.compress_many(srcs, "lz4")
    back = acomp.decompress_many(comp, "lz4", max_size=4096)  # type: ignore[arg-type]
    assert bytes(back[0]) == srcs[0] and bytes(back[2]) == srcs[2]  # type: ignore[arg-type]
    assert isinstance(back[1], acomp.AcompError)  # lz4 says EINVAL, as the kernel's


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4096"])
def test_bad_max_size_is_refused(bad: object) -> None:
    with pytest.raises(acomp.InvalidArgument, match="max_size"):
        acomp.decompress_many([b"x"], "zstd", max_size=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("srcs", [b"bytes", "str", 3, memoryview(b"abc"), None])
def test_srcs_must_be_a_sequence_of_buffers(srcs: object) -> None:
    with pytest.raises(acomp.InvalidArgument, match="srcs"):
        acomp.compress_many(srcs, "zstd")  # type: ignore[arg-type]


def test_any_iterable_of_sources() -> None:
    outs = acomp.compress_many((p for p in pages(3)), "lz4")  # type: ignore[arg-type]
    assert len(outs) == 3 and all(isinstance(o, bytes) for o in outs)


# -- caller buffers ------------------------------------------------------------------------


def test_compress_into_caller_buffers(mode: str) -> None:
    srcs = pages(20)
    dsts: list[object] = [bytearray(4200) for _ in srcs]
    dsts[3] = bytearray(10)  # too small
    dsts[4] = b"read-only"
    outs = acomp.compress_many(srcs, "zstd", dsts=dsts)
    for i, (src, out) in enumerate(zip(srcs, outs)):
        if i == 3:
            assert isinstance(out, acomp.NoSpace)
        elif i == 4:
            assert isinstance(out, acomp.InvalidArgument) and "dsts[4]" in str(out)
        else:
            assert isinstance(out, memoryview) and out.obj is dsts[i]
            assert bytes(out) == acomp.compress(src, "zstd")
            assert dsts[i][: len(out)] == out  # type: ignore[index]


def test_decompress_into_offsets_of_one_buffer(mode: str) -> None:
    """uproot5#1089: decode each basket into its place in one array."""
    sizes = [4096, 100, 0, 7000, 1]
    srcs = [bytes([i + 65]) * n for i, n in enumerate(sizes)]
    comp = acomp.compress_many(srcs, "zstd")
    offsets = [0]
    for n in sizes:
        offsets.append(offsets[-1] + n)
    out = bytearray(offsets[-1])
    back = acomp.decompress_many(comp, "zstd", out=out, offsets=offsets)  # type: ignore[arg-type]
    assert out == b"".join(srcs)
    for i, b in enumerate(back):
        assert isinstance(b, memoryview) and b.nbytes == sizes[i]


def test_decompress_into_a_too_small_span_fails_alone(mode: str) -> None:
    srcs = pages(4)
    comp = acomp.compress_many(srcs, "zstd")
    out = bytearray(4 * 4096)
    offsets = [0, 4096, 4096 + 100, 2 * 4096 + 100, 3 * 4096 + 100]
    back = acomp.decompress_many(comp, "zstd", out=out, offsets=offsets)  # type: ignore[arg-type]
    assert isinstance(back[1], acomp.NoSpace)
    assert [bytes(back[i]) for i in (0, 2, 3)] == [srcs[i] for i in (0, 2, 3)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dsts": [bytearray(10)]}, "dsts"),
        ({"dsts": bytearray(10)}, "dsts"),
        ({"out": bytearray(10)}, "together"),
        ({"out": bytearray(10), "offsets": [0, 5]}, "offsets"),
        ({"out": bytearray(10), "offsets": [0, 6, 5]}, "offsets"),
        ({"out": bytearray(10), "offsets": [0, 5, 11]}, "offsets"),
        ({"out": b"read-only!", "offsets": [0, 5, 10]}, "writable"),
        ({"out": bytearray(10), "offsets": [0, 5, 10], "dsts": [bytearray(1)] * 2}, "not both"),
    ],
)
def test_caller_buffer_mistakes_name_the_argument(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(acomp.InvalidArgument, match=match):
        acomp.decompress_many([b"a", b"b"], "zstd", **kwargs)  # type: ignore[arg-type]


# -- asyncio and threads -------------------------------------------------------------------


def test_async_matches_sync() -> None:
    srcs = pages(500, 1024)

    async def main() -> tuple[list[many.ManyResult], list[many.ManyResult]]:
        with acomp.alloc("zstd") as tfm:
            comp = await many.compress_many_async(tfm, srcs)
            back = await many.decompress_many_async(tfm, comp, max_size=1024)  # type: ignore[arg-type]
            return comp, back

    comp, back = asyncio.run(main())
    assert [bytes(c) for c in comp] == [acomp.compress(s, "zstd") for s in srcs]  # type: ignore[arg-type]
    assert [bytes(b) for b in back] == srcs  # type: ignore[arg-type]


def test_async_empty_and_inline() -> None:
    async def main() -> list[many.ManyResult]:
        with acomp.alloc("lz4") as tfm:
            assert await many.compress_many_async(tfm, []) == []
            with _many_cost.forced("inline"):
                return await many.compress_many_async(tfm, pages(2))

    assert len(asyncio.run(main())) == 2


def test_cancel_stops_the_call_and_leaves_no_share_running(test_registry: Registry) -> None:
    srcs = [b"%d" % i for i in range(1000)]

    async def main() -> None:
        with acomp.alloc("gate") as tfm:
            task = asyncio.ensure_future(many.compress_many_async(tfm, srcs))
            assert await asyncio.to_thread(Gate.entered.wait, 30)  # a share runs on a helper
            task.cancel()
            for _ in range(100):  # loop turns (not time) for the task to stop the shares not started
                await asyncio.sleep(0)
            Gate.gate.set()  # the running shares may now end
            with pytest.raises(asyncio.CancelledError):
                await task
            # The task ended only after its running shares did: nothing still works for it.
            assert Gate.active == 0

    asyncio.run(main())
    assert 0 < Gate.calls < len(srcs)  # the shares not started never ran
    assert POOL.wait_quiet(30)


def test_async_timeout_raises_timedout_after_the_running_shares(test_registry: Registry) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        # Timers fire in deadline order: the call's 10 ms timeout first, then the gate opens.
        loop.call_later(0.2, Gate.gate.set)
        with acomp.alloc("gate") as tfm:
            with pytest.raises(acomp.TimedOut):
                await many.compress_many_async(tfm, [b"a"] * 100, timeout=0.01)
            assert Gate.gate.is_set() and Gate.active == 0

    asyncio.run(main())


def test_no_thread_left_behind() -> None:
    srcs = pages(300, 2048)

    def helpers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("acomp-many-")]

    def round_trip() -> None:
        with _many_cost.forced("spread"):
            comp = acomp.compress_many(srcs, "zstd")
            acomp.decompress_many(comp, "zstd", max_size=2048)  # type: ignore[arg-type]

        async def cancelled() -> None:
            with acomp.alloc("lz4") as tfm:
                task = asyncio.ensure_future(many.compress_many_async(tfm, srcs * 20))
                await asyncio.sleep(0)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        asyncio.run(cancelled())

    round_trip()
    assert POOL.wait_quiet(30)
    before = set(threading.enumerate())
    assert len(helpers()) <= POOL.size
    for _ in range(5):
        round_trip()
    assert POOL.wait_quiet(30)
    assert POOL.busy() == 0
    assert [t for t in threading.enumerate() if t not in before] == []  # no thread started since
    assert len(helpers()) <= POOL.size


def test_dead_helper_is_replaced() -> None:
    dead = threading.Thread(target=lambda: None, name="acomp-many-dead")
    dead.start()
    dead.join()
    POOL._threads.append(dead)  # as if a helper had died
    with _many_cost.forced("spread"):
        outs = acomp.compress_many(pages(64), "zstd")
    assert all(isinstance(o, memoryview | bytes) for o in outs)
    assert all(t.is_alive() for t in POOL._threads)


# -- the choice between inline and spread ---------------------------------------------------


def _cost_of(alg: str, srcs: list[bytes], op: str = "compress") -> _many_cost.Cost:
    with acomp.alloc(alg) as tfm:
        n, total = len(srcs), sum(map(len, srcs)) + len(srcs)
        return _many_cost.cost_of((type(tfm.driver), op, (total // n).bit_length() >> 1))


def _threshold(monkeypatch: pytest.MonkeyPatch, ns: float) -> None:
    """Pin the spread threshold (helpers recompute it from their wake-ups)."""
    monkeypatch.setattr(_many_pool, "_spread_min", lambda _wake: ns)
    monkeypatch.setattr(POOL, "spread_min_ns", ns)


def test_a_call_estimated_below_the_threshold_runs_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    if not POOL.helpers:
        pytest.skip("one core: nothing ever spreads")
    srcs = pages(64)
    cost = _cost_of("zstd", srcs)
    cost.inline = 1e-6  # "64 pages cost nothing": below any threshold
    _threshold(monkeypatch, 1e9)
    for _ in range(4):
        acomp.compress_many(srcs, "zstd")
    assert cost.calls == 0 and cost.ratios == 0  # never considered for spreading
    assert cost.small == 4 and cost.inline > 1e-6  # but one in 4 is timed


def test_a_big_call_is_measured_as_a_pair_and_the_ratio_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    if not POOL.helpers:
        pytest.skip("one core: nothing ever spreads")
    srcs = pages(64)
    cost = _cost_of("zstd", srcs)
    _threshold(monkeypatch, 0.0)  # every call is big enough
    for _ in range(_many_cost.PAIRS_TO_TRUST):
        acomp.compress_many(srcs, "zstd")
    assert cost.ratios == _many_cost.PAIRS_TO_TRUST  # the first calls always spread, each one a pair
    cost.ratio = 1.0  # spreading measured e times dearer: only every EXPLORE_EVERY-th call spreads
    for _ in range(2 * _many_cost.EXPLORE_EVERY):
        acomp.compress_many(srcs, "zstd")
        cost.ratio = 1.0
    assert cost.ratios == _many_cost.PAIRS_TO_TRUST + 2
    cost.ratio = -1.0  # cheaper: every call spreads
    before = cost.ratios
    for _ in range(3):
        acomp.compress_many(srcs, "zstd")
        cost.ratio = -1.0
    assert cost.ratios == before + 3


def test_transform_cache_follows_the_registry(test_registry: Registry) -> None:
    assert bytes(acomp.compress_many([b"abc"], "flaky")[0]) == zlib.compress(b"abc", 1)  # type: ignore[arg-type]
    old = get_registry()
    reset_registry(Registry(autoload=False))
    try:
        with pytest.raises(acomp.AlgorithmNotFound):
            acomp.compress_many([b"abc"], "flaky")
    finally:
        reset_registry(old)


def test_release_transforms_closes_this_threads_cache() -> None:
    many.release_transforms()
    acomp.compress_many([b"a"], "zstd")
    acomp.compress_many([b"a"], "lz4")
    assert many.release_transforms() == 2
    assert many.release_transforms() == 0
    assert bytes(acomp.compress_many([b"abc"], "zstd")[0]) == acomp.compress(b"abc", "zstd")  # type: ignore[arg-type]


def test_exports() -> None:
    assert acomp.compress_many is many.compress_many
    assert acomp.decompress_many is many.decompress_many
    assert len(acomp.__all__) <= 32


def test_the_guide_runs_as_written() -> None:
    """Every python block of docs/many-buffers.md, in order, in one namespace."""
    guide = Path(__file__).resolve().parents[2] / "docs" / "many-buffers.md"
    blocks = re.findall(r"```python\n(.*?)```", guide.read_text(), re.S)
    assert len(blocks) >= 4
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(guide), "exec"), namespace)


def test_the_speed_table_measures_every_row() -> None:
    """acomp.cli.speed_table on a few pages: every row of issue 16 is there (no time is asserted)."""
    from acomp.cli.speed_table import render, speed_table

    seen: list[str] = []
    rows = speed_table(pages(64), repeat=1, progress=seen.append)
    assert seen == ["many buffers", "calls of 8 pages", "the per-page call", "deflate-iaa", "zswap"]
    paths = [r.path for r in rows]
    assert len(paths) == 11 and len(set(paths)) == 11
    for r in rows:
        if r.ratio is None:
            assert r.note.startswith("skipped") and r.meets_goal is None
        else:
            assert r.ratio > 0 and r.goal is not None and r.meets_goal in (True, False)
    assert [r.peer_ratio is not None for r in rows[:3]] == [True, True, True]
    assert all(r.path in render(rows) for r in rows)
