"""Chains and batches with planted failures: every request gets exactly its own outcome."""

from __future__ import annotations

import errno
import os
import random
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

import acomp
from acomp.registry import Registry

TEXT = b"".join(b"line %d: some text that compresses nicely\n" % i for i in range(200))

# One planted outcome per request: what the request carries decides its expected errno.
Plan = list[tuple[str, int]]  # (kind, seed)
kinds = st.sampled_from(["ok", "ok", "ok", "small_dst", "corrupt"])
plans = st.lists(st.tuples(kinds, st.integers(0, 2**16)), min_size=1, max_size=20)


def _page(seed: int) -> bytes:
    rnd = random.Random(seed)
    start = rnd.randrange(0, len(TEXT) - 4096)
    return TEXT[start : start + rnd.randrange(1, 4097)]


def _decompress_reqs(tfm: acomp.Transform, plan: Plan) -> tuple[list[acomp.Request], list[int | None]]:
    """Requests to decompress, with corrupt inputs and too-small dsts planted."""
    reqs, expected = [], []
    for kind, seed in plan:
        page = _page(seed)
        blob = acomp.compress(page, tfm.driver_name)
        if kind == "corrupt":
            blob = b"\xff" * 7 + blob  # not a deflate stream any more
            reqs.append(acomp.Request(blob, bytearray(4096)))
            expected.append(errno.EINVAL)
        elif kind == "small_dst" and len(page) > 1:
            reqs.append(acomp.Request(blob, bytearray(len(page) - 1)))
            expected.append(errno.ENOSPC)
        else:
            reqs.append(acomp.Request(blob, bytearray(4096), data=page))
            expected.append(None)
    return reqs, expected


def _check(reqs: list[acomp.Request], expected: list[int | None]) -> None:
    for i, (req, want) in enumerate(zip(reqs, expected)):
        if want is None:
            assert req.err is None, (i, req.err)
            assert bytes(req.dst[: req.dlen]) == req.data, i
        else:
            assert req.err is not None and req.err.errno == want, (i, req.err)
            assert req.dlen == 0


@pytest.mark.parametrize("driver", ["testz-generic", "testz-batch"])
@given(plan=plans)
def test_chain_each_request_gets_its_own_outcome(registry: Registry, driver: str, plan: Plan) -> None:
    tfm = acomp.alloc(driver)
    reqs, expected = _decompress_reqs(tfm, plan)
    head = acomp.reqchain_init(reqs[0])
    for req in reqs[1:]:
        acomp.request_chain(req, head)
    assert all(isinstance(r.err, acomp.InProgress) for r in reqs[1:])
    tfm.decompress(head)  # a chain head never raises for one request
    _check(reqs, expected)


def test_chain_on_an_opted_in_driver_goes_through_its_batch_hook(registry: Registry) -> None:
    from core_drivers import ZlibBatching

    tfm = acomp.alloc("testz-batch")
    reqs = [acomp.Request(_page(i), bytearray(4096)) for i in range(10)]
    for req in reqs[1:]:
        acomp.request_chain(req, reqs[0])
    tfm.compress(reqs[0])
    assert ZlibBatching.batch_calls == [4, 4, 2]
    assert all(r.err is None and r.dlen > 0 for r in reqs)


@given(plan=plans.filter(lambda p: len(p) <= 4))
def test_batch_mixed_outcomes(registry: Registry, plan: Plan) -> None:
    tfm = acomp.alloc("testz-batch")
    reqs, expected = _decompress_reqs(tfm, plan)
    assert tfm.batch_decompress(reqs) == all(e is None for e in expected)
    _check(reqs, expected)


def test_batch_larger_than_batch_size_is_einval(registry: Registry) -> None:
    tfm = acomp.alloc("testz-batch")
    with pytest.raises(acomp.InvalidArgument, match="exceeds batch_size 4"):
        tfm.batch_compress([acomp.Request(b"x") for _ in range(5)])
    single = acomp.alloc("testz-generic")
    assert single.batch_size == 1 and not single.has_async_batching
    with pytest.raises(acomp.InvalidArgument):
        single.batch_compress([acomp.Request(b"x"), acomp.Request(b"y")])
    assert single.batch_compress([]) is True


def test_zstd_batch_path_with_mixed_outcomes() -> None:
    tfm = acomp.alloc("zstd-generic")
    # v5: crypto_acomp_batch_size() is 1 without async batching; zstd's hook serves chains (REQ_CHAIN).
    assert tfm.batch_size == 1 and not tfm.has_async_batching
    pages = [_page(i) for i in range(8)]
    reqs = [acomp.Request(p, bytearray(4200)) for p in pages]
    reqs[3] = acomp.Request(os.urandom(4096), bytearray(100))  # incompressible into 100 bytes
    for r in reqs[1:]:
        acomp.request_chain(r, reqs[0])
    assert tfm.compress(reqs[0]) == 0  # the last request's code
    for i, req in enumerate(reqs):
        if i == 3:
            assert req.err is not None and req.err.errno == errno.ENOSPC
        else:
            assert req.err is None
            assert acomp.decompress(bytes(req.dst[: req.dlen]), "zstd") == pages[i]


@pytest.mark.parametrize("driver", ["testz-generic", "testz-batch", "zstd-generic", "lz4-generic"])
def test_chains_and_batches_from_several_threads(registry: Registry, driver: str) -> None:
    if driver in ("zstd-generic", "lz4-generic"):
        from acomp.registry import Registry as R
        from acomp.registry import reset_registry

        reset_registry(R(autoload=True))
    tfm = acomp.alloc(driver)
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        try:
            rnd = random.Random(seed)
            for _ in range(30):
                pages = [_page(rnd.randrange(1 << 16)) for _ in range(tfm.batch_size)]
                reqs = [acomp.Request(p, bytearray(4200)) for p in pages]
                if rnd.random() < 0.5:
                    assert tfm.batch_compress(reqs)
                else:
                    for r in reqs[1:]:
                        acomp.request_chain(r, reqs[0])
                    tfm.compress(reqs[0])
                for p, r in zip(pages, reqs):
                    assert r.err is None
                    assert acomp.decompress(bytes(r.dst[: r.dlen]), driver) == p
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[0]


def test_chain_generic_executors_are_generic_over_items() -> None:
    polls: dict[int, int] = {}
    submitted: list[int] = []

    def submit(item: int) -> int:
        submitted.append(item)
        return -errno.EINVAL if item == 2 else -errno.EINPROGRESS

    def poll(item: int) -> int:
        polls[item] = polls.get(item, 0) + 1
        return 0 if polls[item] > 2 else -errno.EAGAIN

    # A member whose submit fails keeps its own code and is never polled.
    assert acomp.driver.do_async_req_chain([1, 2, 3], submit, poll) == [0, -errno.EINVAL, 0]
    assert submitted == [1, 2, 3] and polls == {1: 3, 3: 3}
    # v5 err_prop: the head's failed submit fails every request, none other submitted.
    submitted.clear()
    assert acomp.driver.do_async_req_chain([2, 1, 3], submit, poll) == [-errno.EINVAL] * 3
    assert submitted == [2]
    # acomp only: a bound on polling.
    never = acomp.driver.do_async_req_chain([7], lambda _: -errno.EINPROGRESS, lambda _: -errno.EAGAIN, timeout=0.01)
    assert never == [-errno.ETIMEDOUT]
    assert acomp.driver.do_req_chain([1, 2], lambda i: -i) == [-1, -2]


def test_chaining_misuse_is_einval() -> None:
    a, b = acomp.Request(b"a"), acomp.Request(b"b")
    with pytest.raises(acomp.InvalidArgument):
        acomp.request_chain(a, a)
    acomp.request_chain(b, a)
    c = acomp.Request(b"c")
    acomp.request_chain(c, b) if False else None
    with pytest.raises(acomp.InvalidArgument):
        acomp.request_chain(a, c)  # a heads its own chain
    assert a.chain == (b,) and a.requests() == [a, b]


def test_batch_with_bad_arguments_fails_only_those_requests(registry: Registry) -> None:
    tfm = acomp.alloc("testz-batch")
    good = [acomp.Request(_page(i), bytearray(4200)) for i in range(2)]
    bad_dst = acomp.Request(_page(5), 12345)  # not a buffer
    bad_src = acomp.Request(42, bytearray(100))  # type: ignore[arg-type]
    reqs = [good[0], bad_dst, bad_src, good[1]]
    assert tfm.batch_compress(reqs) is False
    assert good[0].err is None and good[1].err is None
    assert isinstance(bad_dst.err, acomp.InvalidArgument) and "dst must be a writable buffer" in str(bad_dst.err)
    assert isinstance(bad_src.err, acomp.InvalidArgument) and "src must be a bytes-like" in str(bad_src.err)


def test_batch_buffer_kinds_match_one_by_one(registry: Registry) -> None:
    """Plain buffers take the batch path's fast pass, others the checked one: the same outcome."""
    tfm = acomp.alloc("testz-batch")
    pages = [_page(i) for i in range(4)]
    want = [acomp.compress(p, "testz-batch") for p in pages]
    big = bytearray(3 * 8192)
    kinds = [
        (pages[0], bytearray(8192)),  # bytes into a bytearray: the fast pass
        (memoryview(bytearray(pages[1])), memoryview(big)[8192:16384]),  # byte views: the fast pass
        (memoryview(pages[2]).cast("B", (len(pages[2]),)), memoryview(bytearray(8192)).cast("Q")),  # typed dst
        (bytearray(pages[3]), None),  # allocated output
    ]
    reqs = [acomp.Request(src, dst) for src, dst in kinds]
    assert tfm.batch_compress(reqs) is True
    for i, r in enumerate(reqs):
        assert r.err is None, (i, r.err)
        assert r.dlen == len(want[i]), i
        assert bytes(memoryview(r.dst).cast("B")[: r.dlen]) == want[i], i
    assert bytes(big[8192 : 8192 + reqs[1].dlen]) == want[1]
    assert not any(big[:8192]) and not any(big[8192 + reqs[1].dlen :])


def test_batch_result_that_does_not_fit_fails_alone(registry: Registry) -> None:
    """A plain request whose dst is too small fails alone (ENOSPC); the other gets its output."""
    tfm = acomp.alloc("testz-batch")
    page = _page(7)
    out = acomp.compress(page, "testz-batch")
    reqs = [acomp.Request(page, bytearray(8192)), acomp.Request(page, bytearray(len(out) - 1))]
    assert tfm.batch_compress(reqs) is False
    assert reqs[0].err is None and bytes(reqs[0].dst[: reqs[0].dlen]) == out
    assert reqs[1].err is not None and reqs[1].err.errno == errno.ENOSPC and reqs[1].dlen == 0
