"""Load: 2 x cores and 16 threads storing, loading, invalidating, shrinking, switching compressor.

Bounded to a few seconds per run; ``python benchmarks/load.py --seconds 30``
is the long run.  A watchdog (a join deadline that dumps every thread's stack)
turns a deadlock into a failure with the stacks instead of a hung CI job.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hardening_helpers import load_benchmark

load = load_benchmark("load")

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)


@pytest.mark.parametrize("threads", sorted({2 * CORES, 16}))
def test_threads_under_load_keep_every_page(iaa: object, tmp_path: Path, threads: int) -> None:
    res = load.run_load(str(tmp_path / "swap"), threads=threads, seconds=2.0, seed=threads, deadline_s=90)
    # run_load failed already on a changed page, a hang (with stacks) or a broken invariant.
    by_op = res["by_op"]
    assert {"swap_out", "swap_in", "invalidate", "shrink"} <= set(by_op)
    assert res["pages_checked"] > 0 and res["zswap"]["stored_pages"] == 0
    assert res["zswap"]["written_back_pages"] > 0  # writeback raced with the rest
    assert res["pools_left"] >= 1


def test_watchdog_reports_a_hang_with_stacks() -> None:
    """The watchdog itself: a thread stuck on a lock is reported with its stack, not waited for."""
    import threading

    lock = threading.Lock()
    lock.acquire()

    def take_the_lock() -> None:
        with lock:
            pass

    t = threading.Thread(target=take_the_lock, name="stuck-on-purpose", daemon=True)
    t.start()
    report = load.join_or_dump([t], 0.2)
    lock.release()
    t.join(5)
    assert report is not None and "stuck-on-purpose" in report and "take_the_lock" in report
    assert load.join_or_dump([t], 1.0) is None  # released: nothing to report
