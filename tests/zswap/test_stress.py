"""Many threads swapping out, in, invalidating, shrinking and switching compressors at once."""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from acomp import PAGE_SIZE
from acomp.zswap import SwapDevice, Zswap

THREADS = 4
OPS = 400
SLOTS_PER_THREAD = 64


@pytest.fixture(autouse=True)
def fast_switching() -> Iterator[None]:
    """Switch threads often, so races show up within a few hundred operations."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def page(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.1:
        return bytes(PAGE_SIZE)
    if kind < 0.3:
        return rng.randbytes(PAGE_SIZE)
    return (b"%d " % rng.getrandbits(40) * 700)[:PAGE_SIZE]


@pytest.mark.parametrize("compressors", [("ztest", "ztest1"), ("zstd", "lz4", "deflate")])
def test_threads_keep_every_page(tmp_path: Path, compressors: tuple[str, ...]) -> None:
    z = Zswap(compressors[0], total_ram=400 * PAGE_SIZE)  # 80 pool pages: the shrinker runs
    dev = SwapDevice(tmp_path / "swap", zswap=z, nr_slots=THREADS * SLOTS_PER_THREAD)
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker(tid: int) -> None:
        rng = random.Random(tid)
        base = tid * SLOTS_PER_THREAD
        model: dict[int, bytes] = {}
        out = bytearray(PAGE_SIZE)
        try:
            for _ in range(OPS):
                op = rng.random()
                if op < 0.45:
                    nr = rng.choice([1, 4, 16])
                    off = base + rng.randrange(0, SLOTS_PER_THREAD, nr)
                    pages = [page(rng) for _ in range(nr)]
                    dev.swap_out(off, b"".join(pages))
                    model.update((off + i, p) for i, p in enumerate(pages))
                elif op < 0.85:
                    off = base + rng.randrange(SLOTS_PER_THREAD)
                    src = dev.swap_in(off, out)
                    expect = model.pop(off, None)
                    assert (src is None) == (expect is None), (off, src)
                    if expect is not None:
                        assert out == expect, f"slot {off} from {src} differs"
                else:
                    off = base + rng.randrange(SLOTS_PER_THREAD)
                    dev.invalidate(off)
                    model.pop(off, None)
            for off, expect in model.items():  # drain: everything comes back
                assert dev.swap_in(off, out) is not None and out == expect, off
        except BaseException as exc:
            errors.append(exc)

    def shrinker() -> None:
        try:
            while not stop.is_set():
                z.shrink(8)
                stop.wait(0.001)
        except BaseException as exc:
            errors.append(exc)

    def switcher() -> None:
        rng = random.Random(99)
        try:
            while not stop.is_set():
                z.set_compressor(rng.choice(compressors))
                stop.wait(0.01)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    helpers = [threading.Thread(target=shrinker), threading.Thread(target=switcher)]
    for t in workers + helpers:
        t.start()
    for t in workers:
        t.join(60)
    stop.set()
    for t in helpers:
        t.join(10)
    assert z.drain()
    try:
        assert not errors, errors[0]
        assert not any(t.is_alive() for t in workers + helpers)
        st = z.stats()
        assert st["stored_pages"] == 0  # every page was swapped in or invalidated
        assert st["zswpout"] > 0 and st["zswpin"] > 0
        assert st["written_back_pages"] > 0 and dev.stats()["pswpin"] > 0  # the shrinker took part
        z.verify()
        assert st["pool_total_size"] == 0
        assert len(z.pools()) == 1  # old pools went with their last entry
    finally:
        z.close()
        dev.close()


def test_concurrent_stores_same_pool_share_nothing_but_the_allocator() -> None:
    """Direct Zswap use from threads: per-CPU contexts, counters add up."""
    with Zswap("ztest", total_ram=1 << 30, store_incompressible=True, nr_cpus=2) as z:
        errors: list[BaseException] = []

        def run(tid: int) -> None:
            try:
                rng = random.Random(tid)
                out = bytearray(PAGE_SIZE)
                for i in range(50):
                    off = tid * 1000 + i * 16
                    pages = [page(rng) for _ in range(16)]
                    assert z.store(off, b"".join(pages))
                    for j in range(0, 16, 3):
                        assert z.load(off + j, out) and out == pages[j]
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors[0]
        st = z.stats()
        assert st["zswpout"] == THREADS * 50 * 16
        assert st["zswpin"] == THREADS * 50 * 6
        assert st["stored_pages"] == THREADS * 50 * 10
        (pool,) = z.pools()
        assert pool.info()["contexts"] == 2  # one per modelled CPU, however many threads
        z.verify()
