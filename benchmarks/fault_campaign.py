"""Fault campaign: zswap + a file-backed SwapDevice on the emulated IAA, under injected faults.

One *phase* per fault kind of :data:`acomp_iaa.FAULT_KINDS` (plus ``mixed``,
all at once), and one per disk fault (``disk_enospc``, ``disk_eio``,
``disk_short``: the swap file's writes fail with ENOSPC or EIO, its reads
with EIO, or its writes come back short, at a seeded rate): the IAA machine
is reset, ``verify_compress`` is switched on, faults are injected, and
``threads`` threads swap folios out and in (each owning its own slots, with a
model of what each slot holds) while a helper thread shrinks the pool.  A
swap-out the disk refuses raises (the folio was not swapped out: the model
forgets its slots, which must then read back empty).  In the ``timeout`` and ``mixed``
phases a chaos thread injects one completion timeout at a time: the driver
disables itself (compress fails fast with ENODEV, decompress runs in
software), stays disabled a moment, and is re-enabled with
``acomp_iaa.enable()``.

What is checked, every phase: every page swapped in equals the page swapped
out (a failed zswap load keeps its entry and is retried; a page still
unreadable after ``MAX_RETRIES`` would count as lost), then every slot is
drained, ``Zswap.verify()`` holds and no entry is left.

What is reported, per phase: faults injected (the IAA's own count), the IAA
completions and fallbacks, zswap's counters (stored, rejected, written back,
failed decompressions), the swap device's, and the worker-side figures
(pages swapped out, pages checked, retries per errno).

Usage::

    python benchmarks/fault_campaign.py [--threads 4] [--ops 3000] [--seed 1] [--phase NAME ...]

The bounded version runs in ``tests/hardening/test_fault_campaign.py``.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import random
import tempfile
import threading
import time
from collections import Counter
from typing import Any

import acomp
from acomp import PAGE_SIZE
from acomp.zswap import SwapDevice, Zswap

#: Fault rates per phase (per eligible descriptor, seeded).  ``timeouts`` is a
#: count of disable/re-enable cycles the chaos thread drives.
PHASES: dict[str, dict[str, Any]] = {
    "timeout": {"rates": {}, "timeouts": 4},
    "comp_buf_overflow": {"rates": {"comp_buf_overflow": 0.05}, "timeouts": 0},
    "analytics_error": {"rates": {"analytics_error": 0.10}, "timeouts": 0},
    "verify_mismatch": {"rates": {"verify_mismatch": 0.05}, "timeouts": 0},
    "einval": {"rates": {"einval": 0.03}, "timeouts": 0},
    "mixed": {
        "rates": {"comp_buf_overflow": 0.02, "analytics_error": 0.05, "verify_mismatch": 0.02, "einval": 0.01},
        "timeouts": 4,
    },
    # The swap file's faults: a fraction of its pwrite (and, for EIO, preadv) calls.
    "disk_enospc": {"rates": {}, "timeouts": 0, "disk": ("enospc", 0.3)},
    "disk_eio": {"rates": {}, "timeouts": 0, "disk": ("eio", 0.2)},
    "disk_short": {"rates": {}, "timeouts": 0, "disk": ("short", 0.5)},
}

SLOTS_PER_THREAD = 64
#: A failed swap-in is retried this often before the page counts as lost.
MAX_RETRIES = 64


def make_page(rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.1:
        return bytes(PAGE_SIZE)
    if kind < 0.3:
        return rng.randbytes(PAGE_SIZE)
    words = [b"%d" % rng.getrandbits(20), b"zswap", b"iaa", b"\x00\x01\x02\x03"]
    out = bytearray()
    while len(out) < PAGE_SIZE:
        out += rng.choice(words) + b" "
    return bytes(out[:PAGE_SIZE])


class DiskFaults:
    """Replaces ``os.pwrite`` / ``os.preadv`` for one file descriptor: fails or shortens some calls."""

    def __init__(self, fd: int, kind: str, rate: float, seed: int) -> None:
        self.fd, self.kind, self.rate = fd, kind, rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self._pwrite, self._preadv = os.pwrite, os.preadv

    def _hit(self, what: str) -> bool:
        with self.lock:
            if self.rng.random() >= self.rate:
                return False
            self.injected[what] += 1
            return True

    def pwrite(self, fd: int, data: Any, pos: int) -> int:
        if fd == self.fd and self._hit(f"write_{self.kind}"):
            if self.kind == "short":
                view = memoryview(data)
                with self.lock:
                    n = self.rng.randrange(0, view.nbytes)
                return self._pwrite(fd, view[:n], pos) if n else 0
            raise OSError(errno.ENOSPC if self.kind == "enospc" else errno.EIO, "injected disk fault")
        return self._pwrite(fd, data, pos)

    def preadv(self, fd: int, buffers: Any, pos: int) -> int:
        if fd == self.fd and self.kind == "eio" and self._hit("read_eio"):
            raise OSError(errno.EIO, "injected disk fault")
        return self._preadv(fd, buffers, pos)

    def __enter__(self) -> DiskFaults:
        os.pwrite, os.preadv = self.pwrite, self.preadv  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        os.pwrite, os.preadv = self._pwrite, self._preadv  # type: ignore[assignment]


class _Worker:
    """One thread's slots, its model of them, and its tallies."""

    def __init__(self, tid: int, dev: SwapDevice, seed: int) -> None:
        self.tid = tid
        self.dev = dev
        self.rng = random.Random(seed * 1000 + tid)
        self.base = tid * SLOTS_PER_THREAD
        self.model: dict[int, bytes] = {}
        self.out = bytearray(PAGE_SIZE)
        self.pages_out = 0
        self.pages_checked = 0
        self.mismatches: list[int] = []
        self.lost: list[int] = []
        self.retries: Counter[str] = Counter()
        self.sources: Counter[str] = Counter()
        #: Swap-outs the swap device refused (zswap and the disk both failing), per errno.
        self.swap_out_errors: Counter[str] = Counter()

    def swap_in(self, off: int) -> None:
        expect = self.model.pop(off, None)
        for _attempt in range(MAX_RETRIES):
            try:
                src = self.dev.swap_in(off, self.out)
                break
            except acomp.AcompError as exc:  # the entry stays: try again
                self.retries[exc.errname] += 1
        else:
            self.lost.append(off)
            return
        if expect is None:
            if src is not None:
                self.mismatches.append(off)
            return
        self.sources[src or "none"] += 1
        self.pages_checked += 1
        if src is None or self.out != expect:
            self.mismatches.append(off)

    def run(self, ops: int) -> None:
        rng = self.rng
        for _ in range(ops):
            op = rng.random()
            if op < 0.45:
                nr = rng.choice([1, 4, 16])
                off = self.base + rng.randrange(0, SLOTS_PER_THREAD, nr)
                pages = [make_page(rng) for _ in range(nr)]
                try:
                    self.dev.swap_out(off, b"".join(pages))
                except acomp.AcompError as exc:  # not swapped out: the slots are empty now
                    self.swap_out_errors[exc.errname] += 1
                    for i in range(nr):
                        self.model.pop(off + i, None)
                    continue
                self.model.update((off + i, p) for i, p in enumerate(pages))
                self.pages_out += nr
            elif op < 0.9:
                self.swap_in(self.base + rng.randrange(SLOTS_PER_THREAD))
            else:
                off = self.base + rng.randrange(SLOTS_PER_THREAD)
                self.dev.invalidate(off)
                self.model.pop(off, None)

    def drain(self) -> None:
        for off in sorted(self.model):
            self.swap_in(off)


def _watchdog() -> Any:
    """``benchmarks/load.py``, whose ``join_or_dump`` is the watchdog both runs use."""
    import importlib.util
    import sys

    name = "acomp_bench_load"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(os.path.dirname(__file__), "load.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def run_phase(
    name: str,
    path: str,
    *,
    threads: int = 4,
    ops: int = 3000,
    seed: int = 1,
    total_ram: int = 2048 * PAGE_SIZE,
    timeouts: int | None = None,
    hold_s: float = 0.02,
    deadline_s: float = 300.0,
) -> dict[str, Any]:
    """Run one phase; return its figures (raises AssertionError if a page was lost or differs)."""
    import acomp_iaa

    spec = PHASES[name]
    n_timeouts = spec["timeouts"] if timeouts is None else timeouts
    acomp_iaa.reset()
    acomp_iaa.configure(completion_timeout_s=2.0)
    acomp_iaa.set_driver_attr("verify_compress", True)
    if n_timeouts:  # v5: only the sync path's completion spin limit disables the driver
        acomp_iaa.set_driver_attr("sync_mode", "sync")
    acomp_iaa.seed_faults(seed)
    for kind, rate in spec["rates"].items():
        acomp_iaa.set_fault_rate(kind, rate)
    z = Zswap("deflate-iaa", total_ram=total_ram)
    dev = SwapDevice(path, zswap=z, nr_slots=threads * SLOTS_PER_THREAD)
    workers = [_Worker(t, dev, seed) for t in range(threads)]
    errors: list[BaseException] = []
    stop = threading.Event()
    cycles = [0]

    def guarded(fn: Any) -> Any:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:
                errors.append(exc)
                stop.set()

        return run

    def work(w: _Worker) -> Any:
        return guarded(lambda: (w.run(ops), w.drain()))

    def chaos() -> None:
        # Spread the timeouts over the run: one at a time, each followed by a
        # disabled spell (stores see ENODEV, loads go to software), then enable().
        gap = 0.05
        while cycles[0] < n_timeouts and not stop.is_set():
            if stop.wait(gap):
                break
            acomp_iaa.inject_fault("timeout", count=1)
            t0 = time.monotonic()
            while acomp_iaa.stats()["enabled"] and not stop.is_set() and time.monotonic() - t0 < 5:
                time.sleep(0.001)
            if acomp_iaa.stats()["enabled"]:
                continue  # no descriptor came by (the run is ending)
            stop.wait(hold_s)
            acomp_iaa.enable()
            cycles[0] += 1

    def shrinker() -> None:
        while not stop.is_set():
            z.shrink(8)
            stop.wait(0.002)

    disk = DiskFaults(dev.fileno(), *spec["disk"], seed=seed) if "disk" in spec else None
    if disk is not None:
        disk.__enter__()
    t0 = time.perf_counter()
    pool = [threading.Thread(target=work(w), name=f"campaign-{w.tid}", daemon=True) for w in workers]
    helpers = [
        threading.Thread(target=guarded(chaos), name="campaign-chaos", daemon=True),
        threading.Thread(target=guarded(shrinker), name="campaign-shrink", daemon=True),
    ]
    for t in pool + helpers:
        t.start()
    hang = _watchdog().join_or_dump(pool, deadline_s)
    stop.set()
    hang = hang or _watchdog().join_or_dump(helpers, 30.0)
    elapsed = time.perf_counter() - t0
    if disk is not None:
        disk.__exit__()
    if hang:
        raise AssertionError(f"phase {name}: {hang}")
    if errors:
        raise errors[0]
    acomp_iaa.clear_faults()
    acomp_iaa.enable()
    assert z.drain()
    z.verify()
    iaa = acomp_iaa.stats()
    zs = z.stats()
    sw = dev.stats()
    result: dict[str, Any] = {
        "phase": name,
        "threads": threads,
        "ops_per_thread": ops,
        "seconds": round(elapsed, 2),
        "injected": {k: v for k, v in iaa["faults"]["injected"].items() if v},
        "disk_injected": dict(disk.injected) if disk is not None else {},
        "swap_out_errors": dict(sum((w.swap_out_errors for w in workers), Counter())),
        "timeout_cycles": cycles[0],
        "pages_swapped_out": sum(w.pages_out for w in workers),
        "pages_checked": sum(w.pages_checked for w in workers),
        "swap_in_from": dict(sum((w.sources for w in workers), Counter())),
        "load_retries": dict(sum((w.retries for w in workers), Counter())),
        "mismatches": sum(len(w.mismatches) for w in workers),
        "lost": sum(len(w.lost) for w in workers),
        "iaa": {
            k: iaa[k]
            for k in (
                "total_comp_calls",
                "total_decomp_calls",
                "total_sw_decomp_calls",
                "total_completion_timeout_errors",
                "completion_spin_timeouts",
                "total_completion_comp_buf_overflow_errors",
                "total_completion_einval_errors",
                "verify_mismatches",
                "disabled_rejects",
            )
            if k in iaa
        },
        "zswap": {
            k: zs[k]
            for k in (
                "zswpout",
                "zswpin",
                "written_back_pages",
                "decompress_fail",
                "decompress_failover",
                "reject_compress_fail",
                "reject_compress_poor",
                "reject_reclaim_fail",
                "pool_limit_hit",
                "rejected_folios",
                "stored_pages",
            )
        },
        "swap": {k: sw[k] for k in ("pswpout", "pswpin", "swpout_zero", "zswap_rejected_folios")},
    }
    z.close()
    dev.close()
    acomp_iaa.reset()
    assert result["mismatches"] == 0, f"phase {name}: {result['mismatches']} pages came back different"
    assert result["lost"] == 0, f"phase {name}: {result['lost']} pages could not be read back"
    assert zs["stored_pages"] == 0, f"phase {name}: {zs['stored_pages']} entries left after draining"
    return result


def run_campaign(directory: str, phases: list[str] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Every phase (or the named ones), each on its own swap file in ``directory``."""
    out = []
    for name in phases or list(PHASES):
        out.append(run_phase(name, os.path.join(directory, f"swap-{name}"), **kwargs))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--ops", type=int, default=3000, help="operations per thread per phase")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--phase", action="append", choices=list(PHASES), help="run only this phase (repeatable)")
    ap.add_argument("--json", action="store_true", help="print one JSON object per phase")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for res in run_campaign(tmp, args.phase, threads=args.threads, ops=args.ops, seed=args.seed):
            if args.json:
                print(json.dumps(res))
                continue
            print(f"== {res['phase']}: {res['threads']} threads x {res['ops_per_thread']} ops, {res['seconds']} s")
            for key in (
                "injected",
                "disk_injected",
                "swap_out_errors",
                "timeout_cycles",
                "pages_swapped_out",
                "pages_checked",
                "swap_in_from",
                "load_retries",
                "mismatches",
                "lost",
                "iaa",
                "zswap",
                "swap",
            ):
                print(f"   {key}: {res[key]}")


if __name__ == "__main__":
    main()
