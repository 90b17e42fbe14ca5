"""``acomp bench``'s measurement of one driver: ratio, our times and the raw call's.

Our path is ``tfm.compress(Request(page, dst))`` per page (one ``dst`` reused,
as zswap does), or with ``batch`` ``tfm.batch_compress(reqs)`` in groups of
``batch_size``; decompression likewise.  The compressed outputs are made once,
untimed, before the timed runs (which also warms the driver up).  Each figure
is the best of ``repeat`` runs, ours and the raw call alternating.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import acomp
from acomp.cli.bench_raw import raw_calls
from acomp.cli.output import Progress
from acomp.request import PAGE_SIZE
from acomp.transform import Transform

__all__ = ["measure_driver"]

Op = Literal["compress", "decompress"]


def _compress_all(tfm: Transform, pages: Sequence[bytes], cap: int, bs: int) -> tuple[list[bytes], int]:
    """Every page's compressed form (``b""`` when it failed) and the failure count, untimed."""
    bufs = [bytearray(cap) for _ in range(bs)]
    outs: list[bytes] = []
    errors = 0
    for start in range(0, len(pages), bs):
        reqs = [acomp.Request(page, bufs[i]) for i, page in enumerate(pages[start : start + bs])]
        tfm.batch_compress(reqs)  # one request runs as tfm.compress; errors are recorded per request
        for req in reqs:
            if req.err is None:
                outs.append(bytes(memoryview(req.dst)[: req.dlen]))
            else:
                errors += 1
                outs.append(b"")
    return outs, errors


def _time_ours(tfm: Transform, op: Op, items: Sequence[bytes], cap: int, bs: int) -> int:
    """ns for one pass of ``op`` over ``items``: per item with one ``dst`` (``bs`` 1), else batches of ``bs``."""
    Request = acomp.Request
    if bs == 1:
        dst = bytearray(cap)
        call = tfm.compress if op == "compress" else tfm.decompress
        t0 = time.perf_counter_ns()
        for item in items:
            try:
                call(Request(item, dst))
            except acomp.AcompError:
                pass  # counted by the untimed pass (compress) or the round-trip check
        return time.perf_counter_ns() - t0
    batch_call = tfm.batch_compress if op == "compress" else tfm.batch_decompress
    bufs = [bytearray(cap) for _ in range(bs)]
    elapsed = 0
    for start in range(0, len(items), bs):
        reqs = [Request(item, bufs[i]) for i, item in enumerate(items[start : start + bs])]
        t0 = time.perf_counter_ns()
        batch_call(reqs)
        elapsed += time.perf_counter_ns() - t0
    return elapsed


def _time_raw(fn: Callable[[bytes], bytes], items: Sequence[bytes]) -> int:
    t0 = time.perf_counter_ns()
    for item in items:
        fn(item)
    return time.perf_counter_ns() - t0


def _verify(tfm: Transform, pages: Sequence[bytes], comp: Sequence[bytes]) -> int:
    """Pages that do not round-trip (untimed)."""
    bad = 0
    dst = bytearray(PAGE_SIZE)
    for page, data in zip(pages, comp):
        if not data:
            continue
        try:
            req = acomp.Request(data, dst)
            tfm.decompress(req)
            if memoryview(dst)[: req.dlen] != page:
                bad += 1
        except acomp.AcompError:
            bad += 1
    return bad


def measure_driver(
    name: str,
    pages: Sequence[bytes],
    *,
    batch: bool = False,
    repeat: int = 3,
    params: dict[str, object] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure one driver on ``pages``; returns a dict of results (times in ns, best of ``repeat``).

    The raw call is compared only with the driver's defaults (no ``params``).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    tfm = acomp.alloc(name, **(params or {}))
    with tfm:
        cap = max(PAGE_SIZE, tfm.driver.compress_bound(PAGE_SIZE))
        raw = raw_calls(tfm.driver_name) if not params else None
        use_batch = batch and tfm.batch_size > 1
        bs = tfm.batch_size if use_batch else 1
        comp, errors = _compress_all(tfm, pages, cap, bs)
        good = [c for c in comp if c]
        raw_comp = [raw[1](p) for p in pages] if raw is not None else []
        best: dict[str, int] = {}

        def keep(key: str, ns: int) -> None:
            best[key] = min(best.get(key, ns), ns)

        for _ in range(repeat):
            keep("c", _time_ours(tfm, "compress", pages, cap, bs))
            if progress:
                progress.update()
            if raw is not None:
                keep("rc", _time_raw(raw[1], pages))
            keep("d", _time_ours(tfm, "decompress", good, PAGE_SIZE, bs))
            if raw is not None:
                keep("rd", _time_raw(raw[2], raw_comp))
            if progress:
                progress.update()
        bad = _verify(tfm, pages, comp)
        n = len(pages)
        n_dec = max(1, len(good))
        in_bytes = n * PAGE_SIZE
        out_bytes = sum(len(c) if c else PAGE_SIZE for c in comp)
        best_c, best_d = best["c"], best["d"]
        best_rc, best_rd = best.get("rc"), best.get("rd")
        return {
            "driver": tfm.driver_name,
            "alg": tfm.alg_name,
            "path": f"batch x{tfm.batch_size}" if use_batch else "single",
            "pages": n,
            "ratio": in_bytes / out_bytes if out_bytes else None,
            "compress_mb_s": in_bytes / best_c * 1e3 if best_c else None,
            "decompress_mb_s": n_dec * PAGE_SIZE / best_d * 1e3 if best_d else None,
            "compress_us_per_page": best_c / n / 1e3,
            "decompress_us_per_page": best_d / n_dec / 1e3,
            "raw_call": raw[0] if raw else None,
            "raw_compress_us_per_page": best_rc / n / 1e3 if best_rc else None,
            "raw_decompress_us_per_page": best_rd / n / 1e3 if best_rd else None,
            "compress_vs_raw": best_c / best_rc if best_rc else None,
            "decompress_vs_raw": (best_d / n_dec) / (best_rd / n) if best_rd else None,
            "errors": errors,
            "roundtrip_failures": bad,
            "source": "measured here",
        }
