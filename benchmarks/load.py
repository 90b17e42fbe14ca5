"""Load run: N threads storing, loading, invalidating, shrinking and switching compressor at once.

Each thread owns ``SLOTS_PER_THREAD`` swap slots of one shared
:class:`~acomp.zswap.SwapDevice` (a real file) in front of one
:class:`~acomp.zswap.Zswap`, keeps a model of what each slot holds, and for
``seconds`` picks at random: swap a folio (1, 4 or 16 pages) out, swap a page
in and compare it with the model, invalidate a slot, ``Zswap.shrink``, or
``Zswap.set_compressor`` (software drivers and the emulated IAA, so old
pools stay readable while new stores go elsewhere).  The pool is small, so the
limit-driven shrinker writes back too.

A watchdog joins the threads against a deadline; a run that does not finish
(deadlock) fails with every thread's stack.  At the end every slot is
drained and compared, and ``Zswap.verify()`` must hold with no entry left.

Reports operations per second (all threads together) and per operation kind.

Usage::

    python benchmarks/load.py [--threads 4 16] [--seconds 30] [--seed 1]

The bounded version runs in ``tests/hardening/test_load.py``.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import random
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from typing import Any

import acomp
from acomp import PAGE_SIZE
from acomp.zswap import SwapDevice, Zswap

SLOTS_PER_THREAD = 64
COMPRESSORS = ("zstd", "lz4", "deflate-generic", "deflate-iaa")


def make_page(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.05:
        return bytes(PAGE_SIZE)
    if kind < 0.25:
        return rng.randbytes(PAGE_SIZE)
    words = [b"%d" % rng.getrandbits(20), b"load", b"zswap", b"\x00\x01\x02\x03"]
    out = bytearray()
    while len(out) < PAGE_SIZE:
        out += rng.choice(words) + b" "
    return bytes(out[:PAGE_SIZE])


def stacks() -> str:
    """Every live thread's stack, as text: what a deadlock report shows."""
    names = {t.ident: t.name for t in threading.enumerate()}
    return "\n".join(
        f"--- thread {names.get(ident, '?')} ---\n" + "".join(traceback.format_stack(frame))
        for ident, frame in sys._current_frames().items()
    )


def join_or_dump(threads: list[threading.Thread], deadline_s: float) -> str | None:
    """The watchdog: join ``threads`` within ``deadline_s`` overall; None, or a report with every stack.

    A deadline for *deadlock*, not a performance bound: the runs it guards
    take a fraction of it.
    """
    end = time.monotonic() + deadline_s
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    if not stuck:
        return None
    return f"threads {stuck} still running after {deadline_s}s (deadlock?):\n{stacks()}"


def available_compressors() -> tuple[str, ...]:
    names = {r.driver_name for r in acomp.algorithms()} | {r.alg_name for r in acomp.algorithms()}
    return tuple(c for c in COMPRESSORS if c in names)


def run_load(
    path: str,
    *,
    threads: int = 4,
    seconds: float = 3.0,
    seed: int = 1,
    compressors: tuple[str, ...] | None = None,
    total_ram: int = 2048 * PAGE_SIZE,
    deadline_s: float = 120.0,
) -> dict[str, Any]:
    """Run the load; return its figures.  AssertionError on a lost or changed page, or a hang."""
    comps = compressors or available_compressors()
    z = Zswap(comps[0], total_ram=total_ram)
    dev = SwapDevice(path, zswap=z, nr_slots=threads * SLOTS_PER_THREAD)
    errors: list[str] = []
    counts: list[Counter[str]] = [Counter() for _ in range(threads)]
    checked = [0] * threads
    end_at = time.monotonic() + seconds

    def worker(tid: int) -> None:
        rng = random.Random(seed * 7919 + tid)
        base = tid * SLOTS_PER_THREAD
        model: dict[int, bytes] = {}
        out = bytearray(PAGE_SIZE)
        c = counts[tid]
        # Pages come from a small per-thread corpus, each stamped with a serial
        # number, so every page swapped out is distinct (a stale page shows) and
        # the harness costs little next to zswap.
        corpus = [make_page(rng) for _ in range(64)]
        serial = 0

        def fresh_page() -> bytes:
            nonlocal serial
            serial += 1
            p = rng.choice(corpus)
            if not any(p[:64]):
                return p  # keep zero pages zero: they take the zero-map path
            return serial.to_bytes(8, "little") + p[8:]

        def swap_in(off: int) -> None:
            expect = model.pop(off, None)
            src = dev.swap_in(off, out)
            if (src is None) != (expect is None) or (expect is not None and out != expect):
                errors.append(f"thread {tid}: slot {off} from {src} differs")
            elif expect is not None:
                checked[tid] += 1

        try:
            while time.monotonic() < end_at and not errors:
                op = rng.random()
                if op < 0.40:
                    nr = rng.choice([1, 4, 16])
                    off = base + rng.randrange(0, SLOTS_PER_THREAD, nr)
                    pages = [fresh_page() for _ in range(nr)]
                    dev.swap_out(off, b"".join(pages))
                    model.update((off + i, p) for i, p in enumerate(pages))
                    c["swap_out"] += 1
                    c["pages_out"] += nr
                elif op < 0.80:
                    swap_in(base + rng.randrange(SLOTS_PER_THREAD))
                    c["swap_in"] += 1
                elif op < 0.92:
                    off = base + rng.randrange(SLOTS_PER_THREAD)
                    dev.invalidate(off)
                    model.pop(off, None)
                    c["invalidate"] += 1
                elif op < 0.99:
                    z.shrink(rng.choice([1, 8, 32]))
                    c["shrink"] += 1
                else:
                    z.set_compressor(rng.choice(comps))
                    c["set_compressor"] += 1
            for off in sorted(model):  # drain: every page comes back as it went out
                swap_in(off)
                c["swap_in"] += 1
        except BaseException as exc:
            errors.append(f"thread {tid}: {exc!r}\n{traceback.format_exc()}")

    pool = [threading.Thread(target=worker, args=(t,), name=f"load-{t}", daemon=True) for t in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    hang = join_or_dump(pool, seconds + deadline_s)
    elapsed = time.perf_counter() - t0
    if hang:
        raise AssertionError(hang)
    assert not errors, errors[0]
    assert z.drain(), "the background shrinker did not finish"
    z.verify()
    st = z.stats()
    total = sum(counts, Counter())
    pages_out = total.pop("pages_out", 0)
    ops = sum(total.values())
    result = {
        "threads": threads,
        "seconds": round(elapsed, 2),
        "ops": ops,
        "ops_per_s": round(ops / elapsed),
        "by_op": dict(total),
        "pages_swapped_out": pages_out,
        "pages_checked": sum(checked),
        "compressors": list(comps),
        "pools_left": len(z.pools()),
        "zswap": {
            k: st[k]
            for k in (
                "zswpout",
                "zswpin",
                "written_back_pages",
                "pool_limit_hit",
                "reject_reclaim_fail",
                "stored_pages",
            )
        },
        "swap": {k: v for k, v in dev.stats().items() if k in ("pswpout", "pswpin", "swpout_zero")},
    }
    z.close()
    dev.close()
    assert st["stored_pages"] == 0, f"{st['stored_pages']} entries left after draining every slot"
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[2 * (os.cpu_count() or 2), 16])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    faulthandler.dump_traceback_later(args.seconds * len(args.threads) + 600, exit=True)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.threads:
            res = run_load(os.path.join(tmp, f"swap-{n}"), threads=n, seconds=args.seconds, seed=args.seed)
            print(
                f"{n:3d} threads, {res['seconds']:6.1f} s: {res['ops']:8d} ops, {res['ops_per_s']:7d} ops/s, "
                f"{res['pages_swapped_out']} pages out, {res['pages_checked']} pages checked; {res['by_op']}"
            )
            print(f"    zswap {res['zswap']}  swap {res['swap']}  pools left {res['pools_left']}")
    faulthandler.cancel_dump_traceback_later()


if __name__ == "__main__":
    main()
