"""The speed table (issue 16): every row a ratio measured in one run, with its peer in the same run.

Each row times acomp's path and the reference it is divided by (the raw
library call, or a loop of them) on the same pages, interleaved: every
repetition runs each function once, in alternating order, and the best time
of each is kept.  Peers (what a Python user would do instead) are measured
in the same loop and reported as ratios to the same reference.

====================================  ==============================================  ========================
row                                   ours / reference                                goal
====================================  ==============================================  ========================
zstd, many pages                      ``compress_many`` / a loop of                   max(0.60, peer + 0.05)
                                      ``ZstdCompressor(level=3).compress``;
                                      peer ``multi_compress_to_buffer(threads=2)``
zstd decompress, many pages           ``decompress_many`` / a loop of                 0.70
                                      ``ZstdDecompressor().decompress``
lz4, many pages                       ``compress_many`` / a loop of                   max(0.80, peer + 0.05)
                                      ``lz4.block.compress``; peer: two plain threads
a call with only 8 pages (zstd, lz4)  ``compress_many`` of 8 / a loop of 8            1.10
one ``tfm.compress(Request)``         per page / the raw call                         1.05 zstd, 1.12 lz4
deflate-iaa batch of 8                ``tfm.batch_compress`` / isal level 0,          1.30
                                      ``Z_FIXED``, 4 KiB window, per page
deflate-iaa one page (sync)           ``tfm.compress`` / the same isal call           1.60
zswap store + load (zstd, lz4)        ``Zswap.store`` (16-page folios) + ``load``     1.25 zstd, 1.45 lz4
                                      / raw compress + decompress per page
====================================  ==============================================  ========================

A reference does the memory work ours does: where ours writes each output into a reused
buffer (the per-page call, deflate-iaa, zswap's loads) the reference drops each output instead
of keeping it in a list (2048 live 4 KiB objects cost a loop up to 15 %), and it calls the
library directly, without a wrapper frame.

The deflate-iaa rows are skipped when that driver or python-isal is missing
(the CLI imports no plugin: the driver is reached through
``acomp.alloc("deflate-iaa")``).  Zero pages are left out of the zswap rows:
the swap layer's zero-page bitmap takes them before zswap does.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

import acomp
from acomp.request import PAGE_SIZE

__all__ = [
    "SpeedRow",
    "interleaved",
    "raw_compress_loops",
    "raw_isal_loop",
    "raw_round_trip_loops",
    "render",
    "speed_table",
    "zswap_pages",
]

Progress = Callable[[str], None]


@attrs.define(frozen=True, slots=True)
class SpeedRow:
    """One row: ``ratio`` = our time / the reference's, measured in the same run."""

    #: What is measured, e.g. ``"zstd, many pages"``.
    path: str
    #: Our time divided by the reference's (None: the row was skipped, see ``note``).
    ratio: float | None
    #: The reference the ratio divides by.
    reference: str
    #: The goal: ``ratio`` must not exceed it (None: skipped).
    goal: float | None
    #: The peer (what a user would do instead), if the row has one.
    peer: str = ""
    #: The peer's time divided by the same reference.
    peer_ratio: float | None = None
    #: Why the row was skipped, or a remark.
    note: str = ""

    @property
    def meets_goal(self) -> bool | None:
        if self.ratio is None or self.goal is None:
            return None
        return self.ratio <= self.goal


def interleaved(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best time (s) of each function over ``repeat`` rounds, order alternating, after one warm-up."""
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, float("inf"))
    names = list(fns)
    for r in range(repeat):
        for name in names if r % 2 == 0 else reversed(names):
            t0 = time.perf_counter()
            fns[name]()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def speed_table(
    pages: Sequence[bytes] | None = None, repeat: int = 7, progress: Progress | None = None
) -> list[SpeedRow]:
    """Measure every row (default pages: 2048 corpus pages)."""
    if pages is None:
        from acomp.cli.corpus import build_corpus

        pages = list(build_corpus(2048).pages)
    pages = [bytes(p) for p in pages]
    say = progress or (lambda _msg: None)
    rows: list[SpeedRow] = []
    for title, part in (
        ("many buffers", _many_rows),
        ("calls of 8 pages", _eight_rows),
        ("the per-page call", _per_page_rows),
        ("deflate-iaa", _iaa_rows),
        ("zswap", _zswap_rows),
    ):
        say(title)
        rows += part(pages, repeat)
    return rows


def render(rows: Sequence[SpeedRow]) -> str:
    """The rows as a plain-text table."""

    def x(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    head = ("path", "ratio", "goal", "ok", "peer", "peer ratio", "reference / note")
    body = [
        (
            r.path,
            x(r.ratio),
            "<= " + x(r.goal) if r.goal is not None else "-",
            {True: "yes", False: "NO", None: "-"}[r.meets_goal],
            r.peer or "-",
            x(r.peer_ratio),
            r.note or r.reference,
        )
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(head, *body)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- the rows ---------------------------------------------------------------------------------


def _many_rows(pages: list[bytes], repeat: int) -> list[SpeedRow]:
    import lz4.block
    import zstandard

    cctx = zstandard.ZstdCompressor(level=3)
    dctx = zstandard.ZstdDecompressor()
    zcomp: list[Any] = [cctx.compress(p) for p in pages]
    plain: list[Any] = list(pages)
    half = len(pages) // 2
    with concurrent.futures.ThreadPoolExecutor(2) as pool:

        def lz4_loop(part: Sequence[bytes] = pages) -> list[bytes]:
            c = lz4.block.compress
            return [c(p, store_size=False) for p in part]

        t = interleaved(
            {
                "zstd ours": lambda: acomp.compress_many(pages, "zstd"),
                "zstd loop": lambda: [cctx.compress(p) for p in pages],
                "zstd peer": lambda: cctx.multi_compress_to_buffer(plain, threads=2),
                "unzstd ours": lambda: acomp.decompress_many(zcomp, "zstd", max_size=PAGE_SIZE),
                "unzstd loop": lambda: [dctx.decompress(c) for c in zcomp],
                "unzstd peer": lambda: dctx.multi_decompress_to_buffer(zcomp, threads=2),
                "lz4 ours": lambda: acomp.compress_many(pages, "lz4"),
                "lz4 loop": lz4_loop,
                "lz4 peer": lambda: list(pool.map(lz4_loop, (pages[:half], pages[half:]))),
            },
            repeat,
        )
    zpeer = t["zstd peer"] / t["zstd loop"]
    lpeer = t["lz4 peer"] / t["lz4 loop"]
    return [
        SpeedRow(
            "zstd, many pages",
            t["zstd ours"] / t["zstd loop"],
            "a one-thread loop of ZstdCompressor(level=3).compress",
            max(0.60, zpeer + 0.05),
            "zstandard multi_compress_to_buffer(threads=2)",
            zpeer,
        ),
        SpeedRow(
            "zstd decompress, many pages",
            t["unzstd ours"] / t["unzstd loop"],
            "a one-thread loop of ZstdDecompressor().decompress",
            0.70,
            "zstandard multi_decompress_to_buffer(threads=2)",
            t["unzstd peer"] / t["unzstd loop"],
        ),
        SpeedRow(
            "lz4, many pages",
            t["lz4 ours"] / t["lz4 loop"],
            "a one-thread loop of lz4.block.compress",
            max(0.80, lpeer + 0.05),
            "two plain threads",
            lpeer,
        ),
    ]


def _eight_rows(pages: list[bytes], repeat: int) -> list[SpeedRow]:
    import lz4.block
    import zstandard

    cctx = zstandard.ZstdCompressor(level=3)
    groups = [pages[i : i + 8] for i in range(0, len(pages) - 7, 8)]

    def ours(alg: str) -> Callable[[], object]:
        return lambda: [acomp.compress_many(g, alg) for g in groups]

    t = interleaved(
        {
            "zstd ours": ours("zstd"),
            "zstd loop": lambda: [[cctx.compress(p) for p in g] for g in groups],
            "lz4 ours": ours("lz4"),
            "lz4 loop": lambda: [[lz4.block.compress(p, store_size=False) for p in g] for g in groups],
        },
        repeat,
    )
    return [
        SpeedRow(f"{alg}, a call with only 8 pages", t[f"{alg} ours"] / t[f"{alg} loop"], "a loop of 8 raw calls", 1.10)
        for alg in ("zstd", "lz4")
    ]


def raw_compress_loops(pages: Sequence[bytes]) -> dict[str, Callable[[], None]]:
    """The per-page rows' references: the library's compress of every page, each output dropped
    (ours writes into one reused dst), the library called directly."""
    import lz4.block
    import zstandard

    zstd_compress = zstandard.ZstdCompressor(level=3).compress
    lz4_compress = lz4.block.compress

    def zstd_raw() -> None:
        for p in pages:
            zstd_compress(p)

    def lz4_raw() -> None:
        for p in pages:
            lz4_compress(p, store_size=False)

    return {"zstd": zstd_raw, "lz4": lz4_raw}


def raw_round_trip_loops(pages: Sequence[bytes]) -> dict[str, Callable[[], None]]:
    """The zswap rows' references: the library's compress then decompress of every page, each
    output dropped (a load writes into one page), the library called directly."""
    import lz4.block
    import zstandard

    zstd_compress = zstandard.ZstdCompressor(level=3).compress
    zstd_decompress = zstandard.ZstdDecompressor().decompress
    lz4_compress, lz4_decompress = lz4.block.compress, lz4.block.decompress

    def zstd_raw() -> None:
        for p in pages:
            zstd_decompress(zstd_compress(p))

    def lz4_raw() -> None:
        for p in pages:
            lz4_decompress(lz4_compress(p, store_size=False), uncompressed_size=PAGE_SIZE)

    return {"zstd": zstd_raw, "lz4": lz4_raw}


def _per_page_rows(pages: list[bytes], repeat: int) -> list[SpeedRow]:
    raw = raw_compress_loops(pages)
    tfms = {alg: acomp.alloc(alg) for alg in raw}
    try:
        fns: dict[str, Callable[[], object]] = {}
        for alg, tfm in tfms.items():
            dst = bytearray(tfm.driver.compress_bound(PAGE_SIZE))
            fns[f"{alg} ours"] = _per_page(tfm, pages, dst)
            fns[f"{alg} raw"] = raw[alg]
        t = interleaved(fns, repeat)
    finally:
        for tfm in tfms.values():
            tfm.close()
    return [
        SpeedRow(
            f"one tfm.compress(Request(page, dst)), {alg}",
            t[f"{alg} ours"] / t[f"{alg} raw"],
            "the raw call per page",
            goal,
        )
        for alg, goal in (("zstd", 1.05), ("lz4", 1.12))
    ]


def _per_page(tfm: acomp.Transform, pages: list[bytes], dst: bytearray) -> Callable[[], object]:
    Request, compress = acomp.Request, tfm.compress

    def run() -> None:
        for p in pages:
            compress(Request(p, dst))

    return run


def _iaa_rows(pages: list[bytes], repeat: int) -> list[SpeedRow]:
    paths = ("deflate-iaa batch of 8", "deflate-iaa one page (sync)")
    ref = "isal_zlib level 0, Z_FIXED, 4 KiB window, per page"
    try:
        import isal  # noqa: F401  (the reference needs it; without it the rows are skipped)
    except ImportError:
        return [SpeedRow(p, None, ref, None, note="skipped: python-isal is not installed") for p in paths]
    try:
        tfm = acomp.alloc("deflate-iaa")
    except acomp.AcompError as exc:
        return [SpeedRow(p, None, ref, None, note=f"skipped: {exc}") for p in paths]

    n = len(pages) - len(pages) % 8
    raw = raw_isal_loop(pages[:n])
    cap = tfm.driver.compress_bound(PAGE_SIZE)
    reqs = [acomp.Request(b"", bytearray(cap)) for _ in range(8)]
    one = acomp.Request(b"", bytearray(cap))

    def batches() -> None:
        for i in range(0, n, 8):
            for j, r in enumerate(reqs):
                r.src = pages[i + j]
            tfm.batch_compress(reqs)

    def single() -> None:
        for p in pages[:n]:
            one.src = p
            tfm.compress(one)

    step = tfm.batch_size
    try:
        if step < 8:
            return [SpeedRow(p, None, ref, None, note=f"skipped: batch_size is {step}") for p in paths]
        t = interleaved({"batch": batches, "one": single, "raw": raw}, repeat)
    finally:
        tfm.close()
    return [SpeedRow(paths[0], t["batch"] / t["raw"], ref, 1.30), SpeedRow(paths[1], t["one"] / t["raw"], ref, 1.60)]


def zswap_pages(pages: Sequence[bytes]) -> list[bytes]:
    """The pages the zswap rows store, a multiple of 16 (one folio): not zero (the swap layer's
    zero map takes those), and below a page under both zstd and lz4 (v5 sends a folio with a
    page that is not to the swap device)."""
    import lz4.block
    import zstandard

    zero = bytes(PAGE_SIZE)
    cctx = zstandard.ZstdCompressor(level=3)
    work = [
        p
        for p in pages
        if p != zero
        and len(cctx.compress(p)) < PAGE_SIZE
        and len(lz4.block.compress(p, store_size=False)) < PAGE_SIZE
    ]
    return work[: len(work) - len(work) % 16]


def raw_isal_loop(pages: Sequence[bytes]) -> Callable[[], None]:
    """The deflate-iaa rows' reference: isal level 0, ``Z_FIXED``, 4 KiB window on every page,
    each output dropped (ours writes into the requests' dsts).  Needs python-isal."""
    from isal import isal_zlib

    compressobj, deflated, z_fixed = isal_zlib.compressobj, isal_zlib.DEFLATED, isal_zlib.Z_FIXED

    def raw() -> None:
        for p in pages:
            c = compressobj(0, deflated, -12, 8, z_fixed)
            c.compress(p) + c.flush()

    return raw


def _zswap_rows(pages: list[bytes], repeat: int) -> list[SpeedRow]:
    from acomp.zswap import Zswap

    work = zswap_pages(pages)
    folios = [b"".join(work[i : i + 16]) for i in range(0, len(work), 16)]
    raw = raw_round_trip_loops(work)
    fns: dict[str, Callable[[], object]] = {}
    caches: list[Any] = []
    for alg in raw:
        z = Zswap(alg, total_ram=1 << 40)
        caches.append(z)
        fns[f"{alg} zswap"] = _store_load(z, folios, len(work))
        fns[f"{alg} raw"] = raw[alg]
    try:
        t = interleaved(fns, repeat)
    finally:
        for z in caches:
            z.close()
    ref = "raw compress + decompress per page"
    return [
        SpeedRow(f"zswap store + load, {alg}", t[f"{alg} zswap"] / t[f"{alg} raw"], ref, goal)
        for alg, goal in (("zstd", 1.25), ("lz4", 1.45))
    ]


def _store_load(z: Any, folios: list[bytes], n: int) -> Callable[[], object]:
    out = bytearray(PAGE_SIZE)

    def run() -> None:
        for i, f in enumerate(folios):
            if not z.store(i * 16, f):
                raise RuntimeError(f"zswap refused folio {i}: {z.stats()}")
        load = z.load
        for off in range(n):
            if not load(off, out):
                raise RuntimeError(f"zswap lost page {off}")

    return run
