"""``acomp bench``: an lzbench-style table per driver on the page corpus.

For each driver: compression ratio, compress and decompress MB/s (10^6 bytes
of *uncompressed* data per second, as lzbench counts), µs per page, and the
ratio of our per-page time to the raw library call on the same pages (the
cost of the acomp layer), for drivers whose raw call is known:

================  =============================================================
driver            raw call
================  =============================================================
deflate-generic   ``zlib.compressobj(-1, DEFLATED, -11, 9)`` (the kernel's
                  level, window bits and memLevel); ``zlib.decompressobj(-15)``
deflate-isal      ``isal_zlib.compress(page, 1, -15)`` / ``isal_zlib.decompress``
zstd-generic      ``zstandard.ZstdCompressor(level=3)`` / ``ZstdDecompressor``
lz4-generic       ``lz4.block.compress(page, store_size=False)`` / ``decompress``
lz4hc-generic     the same with ``mode="high_compression", compression=9``
================  =============================================================

Others show ``-``.  Our path is ``tfm.compress(Request(page, dst))`` per page,
or with ``--batch`` ``tfm.batch_compress(reqs)`` in groups of ``batch_size``.
Each measurement is the best of ``--repeat`` runs, ours and the raw call
alternating, and every number comes from this run on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import acomp
from acomp.cli.common import load_corpus, positive_int
from acomp.cli.output import CliError, Progress, dump_json, fmt_num, pyplot, render_csv, render_table, save_figure
from acomp.corpus import DEFAULT_SEED, Corpus
from acomp.request import PAGE_SIZE
from acomp.transform import Transform

__all__ = ["RAW_CALLS", "add_parser", "measure_driver", "raw_calls", "run"]

DEFAULT_PAGES = 1000

RawPair = tuple[str, Callable[[bytes], bytes], Callable[[bytes], bytes]]


def _raw_deflate() -> RawPair:
    def comp(page: bytes) -> bytes:
        c = zlib.compressobj(-1, zlib.DEFLATED, -11, 9)
        return c.compress(page) + c.flush()

    def decomp(data: bytes) -> bytes:
        return zlib.decompressobj(-15).decompress(data, PAGE_SIZE)

    return "zlib(-1,-11,9)", comp, decomp


def _raw_isal() -> RawPair:
    from isal import isal_zlib

    def comp(page: bytes) -> bytes:
        out: bytes = isal_zlib.compress(page, 1, -15)
        return out

    def decomp(data: bytes) -> bytes:
        out: bytes = isal_zlib.decompress(data, -15)
        return out

    return "isal_zlib(1)", comp, decomp


def _raw_zstd() -> RawPair:
    import zstandard

    cctx = zstandard.ZstdCompressor(level=3)
    dctx = zstandard.ZstdDecompressor()
    return "zstandard(3)", cctx.compress, dctx.decompress


def _raw_lz4() -> RawPair:
    import lz4.block

    def comp(page: bytes) -> bytes:
        out: bytes = lz4.block.compress(page, store_size=False)
        return out

    def decomp(data: bytes) -> bytes:
        out: bytes = lz4.block.decompress(data, uncompressed_size=PAGE_SIZE)
        return out

    return "lz4.block", comp, decomp


def _raw_lz4hc() -> RawPair:
    import lz4.block

    def comp(page: bytes) -> bytes:
        out: bytes = lz4.block.compress(page, store_size=False, mode="high_compression", compression=9)
        return out

    def decomp(data: bytes) -> bytes:
        out: bytes = lz4.block.decompress(data, uncompressed_size=PAGE_SIZE)
        return out

    return "lz4.block hc(9)", comp, decomp


#: Driver name -> factory of (label, raw compress, raw decompress).
RAW_CALLS: dict[str, Callable[[], RawPair]] = {
    "deflate-generic": _raw_deflate,
    "deflate-isal": _raw_isal,
    "zstd-generic": _raw_zstd,
    "lz4-generic": _raw_lz4,
    "lz4hc-generic": _raw_lz4hc,
}


def raw_calls(driver_name: str) -> RawPair | None:
    """The raw library calls for a driver, or None when unknown (or not importable)."""
    factory = RAW_CALLS.get(driver_name)
    if factory is None:
        return None
    try:
        return factory()
    except ImportError:
        return None


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="lzbench-style benchmark of every driver on the page corpus",
        description="Benchmark drivers on the page corpus: ratio, MB/s, µs/page and the cost over the "
        "raw library call. All numbers are measured in this run.",
    )
    p.add_argument(
        "--pages",
        metavar="N|FILE",
        default=str(DEFAULT_PAGES),
        help=f"corpus pages (default {DEFAULT_PAGES}), or a file of your own data",
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="corpus seed")
    p.add_argument("--drivers", metavar="A,B", help="comma-separated drivers or algorithms (default: all)")
    p.add_argument("--batch", action="store_true", help="use tfm.batch_compress in groups of batch_size")
    p.add_argument("--repeat", type=positive_int, default=3, help="runs per measurement; best is kept")
    p.add_argument(
        "-p", "--param", action="append", metavar="KEY=VALUE", help="driver parameter for every driver (repeatable)"
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV output")
    fmt.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--plot", metavar="OUT.png", help="also save a bar chart (needs matplotlib)")
    p.set_defaults(func=run)


def _time_ours_single(tfm: Transform, pages: Sequence[bytes], cap: int) -> tuple[int, list[bytes], int]:
    """One compress pass through ``tfm.compress``: (ns, outputs, errors)."""
    dst = bytearray(cap)
    outs: list[bytes] = []
    errors = 0
    Request = acomp.Request
    compress = tfm.compress
    lens: list[int] = []
    t0 = time.perf_counter_ns()
    for page in pages:
        req = Request(page, dst)
        try:
            lens.append(compress(req))
        except acomp.AcompError:
            lens.append(-1)
    elapsed = time.perf_counter_ns() - t0
    # Outputs are re-made untimed (the timed loop reuses one dst, as zswap does).
    for page, n in zip(pages, lens):
        if n < 0:
            errors += 1
            outs.append(b"")
        else:
            req = Request(page, dst)
            try:
                compress(req)
                outs.append(bytes(memoryview(dst)[: req.dlen]))
            except acomp.AcompError:
                errors += 1
                outs.append(b"")
    return elapsed, outs, errors


def _time_ours_batch(tfm: Transform, pages: Sequence[bytes], cap: int) -> tuple[int, list[bytes], int]:
    bs = max(1, tfm.batch_size)
    bufs = [bytearray(cap) for _ in range(bs)]
    Request = acomp.Request
    outs: list[bytes] = []
    errors = 0
    elapsed = 0
    for start in range(0, len(pages), bs):
        group = pages[start : start + bs]
        reqs = [Request(page, bufs[i]) for i, page in enumerate(group)]
        t0 = time.perf_counter_ns()
        if len(reqs) > 1:
            tfm.batch_compress(reqs)
        else:
            try:
                tfm.compress(reqs[0])
            except acomp.AcompError:
                pass
        elapsed += time.perf_counter_ns() - t0
        for req in reqs:
            if req.err is None:
                outs.append(bytes(memoryview(req.dst)[: req.dlen]))
            else:
                errors += 1
                outs.append(b"")
    return elapsed, outs, errors


def _time_ours_decompress(tfm: Transform, comp: Sequence[bytes], batch: bool) -> tuple[int, int]:
    bs = max(1, tfm.batch_size) if batch else 1
    bufs = [bytearray(PAGE_SIZE) for _ in range(bs)]
    Request = acomp.Request
    errors = 0
    if bs == 1:
        dst = bufs[0]
        decompress = tfm.decompress
        t0 = time.perf_counter_ns()
        for data in comp:
            try:
                decompress(Request(data, dst))
            except acomp.AcompError:
                errors += 1
        return time.perf_counter_ns() - t0, errors
    elapsed = 0
    for start in range(0, len(comp), bs):
        reqs = [Request(data, bufs[i]) for i, data in enumerate(comp[start : start + bs])]
        t0 = time.perf_counter_ns()
        if len(reqs) > 1:
            ok = tfm.batch_decompress(reqs)
        else:
            try:
                tfm.decompress(reqs[0])
                ok = True
            except acomp.AcompError:
                ok = False
        elapsed += time.perf_counter_ns() - t0
        if not ok:
            errors += sum(1 for r in reqs if r.err is not None)
    return elapsed, errors


def _time_raw(fn: Callable[[bytes], bytes], items: Sequence[bytes]) -> int:
    t0 = time.perf_counter_ns()
    for item in items:
        fn(item)
    return time.perf_counter_ns() - t0


def _verify(tfm: Transform, pages: Sequence[bytes], comp: Sequence[bytes]) -> int:
    """Pages that do not round-trip (untimed)."""
    bad = 0
    for page, data in zip(pages, comp):
        if not data:
            continue
        try:
            req = acomp.Request(data, bytearray(PAGE_SIZE))
            tfm.decompress(req)
            if bytes(memoryview(req.dst)[: req.dlen]) != page:
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
    """Measure one driver on ``pages``; returns a dict of results (times in ns, best of ``repeat``)."""
    tfm = acomp.alloc(name, **(params or {}))
    with tfm:
        cap = max(PAGE_SIZE, tfm.driver.compress_bound(PAGE_SIZE))
        raw = raw_calls(tfm.driver_name) if not params else None
        use_batch = batch and tfm.batch_size > 1
        best_c = best_d = best_rc = best_rd = None
        comp: list[bytes] = []
        errors = 0
        raw_comp = [raw[1](p) for p in pages] if raw is not None else []
        for _ in range(repeat):
            if use_batch:
                c_ns, comp, errors = _time_ours_batch(tfm, pages, cap)
            else:
                c_ns, comp, errors = _time_ours_single(tfm, pages, cap)
            best_c = c_ns if best_c is None else min(best_c, c_ns)
            if progress:
                progress.update()
            if raw is not None:
                rc = _time_raw(raw[1], pages)
                best_rc = rc if best_rc is None else min(best_rc, rc)
            good = [c for c in comp if c]
            d_ns, _ = _time_ours_decompress(tfm, good, use_batch)
            best_d = d_ns if best_d is None else min(best_d, d_ns)
            if raw is not None:
                rd = _time_raw(raw[2], raw_comp)
                best_rd = rd if best_rd is None else min(best_rd, rd)
            if progress:
                progress.update()
        bad = _verify(tfm, pages, comp)
        n = len(pages)
        n_dec = max(1, sum(1 for c in comp if c))
        in_bytes = n * PAGE_SIZE
        out_bytes = sum(len(c) if c else PAGE_SIZE for c in comp)
        assert best_c is not None and best_d is not None
        result: dict[str, Any] = {
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
        return result


HEADERS = [
    "driver",
    "path",
    "ratio",
    "comp MB/s",
    "decomp MB/s",
    "comp us/page",
    "decomp us/page",
    "comp x raw",
    "decomp x raw",
    "raw call",
    "errors",
]


def _row(r: dict[str, Any]) -> list[object]:
    def x(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}x"

    return [
        r["driver"],
        r["path"],
        fmt_num(r["ratio"]),
        fmt_num(r["compress_mb_s"], 1),
        fmt_num(r["decompress_mb_s"], 1),
        fmt_num(r["compress_us_per_page"]),
        fmt_num(r["decompress_us_per_page"]),
        x(r["compress_vs_raw"]),
        x(r["decompress_vs_raw"]),
        r["raw_call"] or "-",
        r["errors"] + r["roundtrip_failures"],
    ]


def _select(spec: str | None) -> list[str]:
    records = acomp.algorithms()
    if not spec:
        return [r.driver_name for r in records]
    names: list[str] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        try:
            rec = acomp.get_registry().lookup(item)
        except acomp.AlgorithmNotFound:
            known = ", ".join(sorted({r.driver_name for r in records}))
            raise CliError(f"unknown algorithm {item!r} (known: {known})") from None
        if rec.driver_name not in names:
            names.append(rec.driver_name)
    if not names:
        raise CliError("--drivers: no driver named", code=2)
    return names


def plot(results: Sequence[dict[str, Any]], path: str, title: str) -> None:
    """A bar chart of compress/decompress MB/s and ratio per driver (matplotlib, imported lazily)."""
    plt = pyplot()
    labels = [f"{r['driver']}\n{r['path']}" for r in results]
    fig, axes = plt.subplots(1, 3, figsize=(max(9, 2.2 * len(results)), 4))
    for ax, key, name in zip(
        axes,
        ("compress_mb_s", "decompress_mb_s", "ratio"),
        ("compress MB/s", "decompress MB/s", "ratio"),
    ):
        ax.bar(range(len(results)), [r[key] or 0 for r in results])
        ax.set_xticks(range(len(results)))
        ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
        ax.set_title(name)
    save_figure(plt, fig, title, path)


def run(args: argparse.Namespace) -> int:
    from acomp.cli.common import parse_params

    params = parse_params(args.param)
    names = _select(args.drivers)
    corpus: Corpus = load_corpus(args.pages, args.seed, DEFAULT_PAGES)
    results: list[dict[str, Any]] = []
    with Progress(len(names) * args.repeat * 2, "bench") as bar:
        for name in names:
            bar.set_label(name)
            try:
                results.append(
                    measure_driver(
                        name, corpus.pages, batch=args.batch, repeat=args.repeat, params=params, progress=bar
                    )
                )
            except acomp.AcompError as exc:
                raise CliError(f"{name}: {exc}") from None
    title = f"acomp bench: {corpus.description} [digest {corpus.digest}], best of {args.repeat}, measured here"
    if args.json:
        dump_json(
            {
                "corpus": {
                    "description": corpus.description,
                    "pages": len(corpus),
                    "digest": corpus.digest,
                    "kinds": corpus.counts(),
                },
                "repeat": args.repeat,
                "batch": args.batch,
                "source": "measured here",
                "results": results,
            }
        )
    elif args.csv:
        keys = list(results[0]) if results else []
        sys.stdout.write(render_csv(keys, [[r[k] for k in keys] for r in results]))
    else:
        print(render_table(HEADERS, [_row(r) for r in results], title=title))
        print(
            "MB/s = 10^6 bytes of uncompressed data per second; 'x raw' = our time per page / the raw "
            "library call's on the same pages."
        )
    if args.plot:
        plot(results, args.plot, title)
    bad = [r for r in results if r["roundtrip_failures"]]
    if bad:
        names_bad = ", ".join(r["driver"] for r in bad)
        print(f"acomp: warning: pages did not round-trip with {names_bad}", file=sys.stderr)
        return 1
    return 0
