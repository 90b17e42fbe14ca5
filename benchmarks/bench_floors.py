"""The CPython floor under issue 16's unmet rows: bare skeletons timed beside ours and the raw call.

A skeleton does only the work each page needs on the kernel's path, in the
plainest Python: no caller checks, no error paths, no fault hooks, no state
machine, no kernel-named helper calls.  It is not an implementation (it would
fail the conformance kit and the IAA and zswap tests); it is the least any
faithful implementation in CPython has to run.  A goal below a skeleton's
ratio cannot be met by such an implementation; a goal above it leaves the
difference between the two for checks, errors and kernel behaviour.

Rows (every ratio: time / the raw reference, all measured in one
interleaved run, best of ``--repeat``, on ``--pages`` corpus pages):

* ``deflate-iaa batch of 8`` (goal 1.30), reference the raw isal call (level
  0, ``Z_FIXED``, 4 KiB window).  ``codec``: the device's own format,
  ``acomp_iaa.fixed.deflate_fixed`` (isal's stream rewritten into IAA's one
  fixed block).  ``skeleton``: per batch, 8 descriptors popped from a free
  list and filled, two call counters each, the device's codec, the
  completion status, two byte counters, the descriptor freed, one timing
  record; the core's part: the sources and capacities, each output copied
  into its request's dst, ``dlen`` and ``err``.  ``ours``:
  ``tfm.batch_compress(reqs)``.
* ``zswap store + load`` (goals zstd 1.25, lz4 1.45), reference the codec's
  compress then decompress per page.  ``skeleton``: v5's unbatched frame with
  no zsmalloc at all: per page a slice of the folio, the context mutex, the
  library's compress (its bytes kept, not even copied), an entry object; the
  folio's entries into a dict under the tree lock; on load the lookup, the
  mutex, the library's decompress copied into the page, the entry removed
  under the tree lock.  ``ours``: ``Zswap.store`` of 16-page folios and
  ``Zswap.load`` of every page.
* ``one tfm.compress(Request)`` (goals zstd 1.05, lz4 1.12), reference the
  library call per page.  ``skeleton``: a ``Request(page, dst)``, the library
  call, the output copied into ``dst``, ``dlen`` and ``err`` set.  ``ours``:
  ``tfm.compress(Request(page, dst))``.
* ``lz4, a call with 8 pages`` (goal 1.10), reference a loop of 8 raw calls.
  ``skeleton``: what a many-buffer call cannot skip: the sources are bytes of
  one size (one bound), every source gets a result or its own error, every
  output is bytes within its bound.  ``ours``: ``acomp.compress_many(g, "lz4")``.

Run: ``python benchmarks/bench_floors.py [--pages 2048] [--repeat 7] [--json]``.
Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

import lz4.block
import zstandard

import acomp
from acomp import PAGE_SIZE
from acomp.cli.corpus import build_corpus
from acomp.cli.speed_table import (
    interleaved,
    raw_compress_loops,
    raw_isal_loop,
    raw_round_trip_loops,
    zswap_pages,
)
from acomp.zswap import Zswap

FOLIO_PAGES = 16
Row = dict[str, Any]


# -- deflate-iaa ------------------------------------------------------------------------


class _Desc:
    __slots__ = ("capacity", "fault", "op", "output", "src", "status")
    capacity: int
    fault: str | None
    op: str
    output: bytes
    src: bytes
    status: int


def _iaa_rows(pages: list[bytes], repeat: int) -> list[Row]:
    try:
        from acomp_iaa.fixed import HAVE_ISAL, deflate_fixed  # the device's codec, as bench_iaa.py uses it
    except ImportError:
        return []
    if not HAVE_ISAL:
        return []
    tfm = acomp.alloc("deflate-iaa")
    n = len(pages) - len(pages) % 8
    cap = tfm.driver.compress_bound(PAGE_SIZE)
    reqs = [acomp.Request(b"", bytearray(cap)) for _ in range(8)]
    free = [_Desc() for _ in range(64)]
    g = [0] * 13
    wq = [0] * 64
    records: list[list[tuple[int, int, int, bool]]] = []

    def device(srcs: list[bytes], caps: list[int]) -> list[bytes | None]:
        descs = []
        for i, s in enumerate(srcs):  # alloc + fill + update_total_comp_calls
            d = free.pop()
            d.op, d.src, d.capacity, d.status, d.fault = "compress", s, caps[i], 0, None
            g[0] += 1
            wq[0] += 1
            descs.append(d)
        out: list[bytes | None] = [None] * len(srcs)
        record = []
        for i, d in enumerate(descs):  # the device's work, the poll, the byte counters, the free
            o = deflate_fixed(d.src, "isal")
            if len(o) <= d.capacity:
                d.output, d.status = o, 1
            if d.status == 1:
                k = len(o)
                g[3] += k
                wq[1] += k
                out[i] = o
                record.append((0, len(d.src), k, False))
            d.src = d.output = b""
            free.append(d)
        records.append(record)
        if len(records) > 1024:
            records.clear()
        return out

    def skeleton() -> None:
        for i in range(0, n, 8):
            for j, r in enumerate(reqs):
                r.src = pages[i + j]
            res = device(pages[i : i + 8], [len(r.dst) for r in reqs])
            for r, o in zip(reqs, res):
                assert o is not None  # the corpus's pages all fit
                k = len(o)
                memoryview(r.dst)[:k] = o
                r.dlen, r.err = k, None

    def ours() -> None:
        for i in range(0, n, 8):
            for j, r in enumerate(reqs):
                r.src = pages[i + j]
            tfm.batch_compress(reqs)

    def codec() -> None:
        for p in pages[:n]:
            deflate_fixed(p, "isal")

    try:
        t = interleaved({"raw": raw_isal_loop(pages[:n]), "codec": codec, "skeleton": skeleton, "ours": ours}, repeat)
    finally:
        tfm.close()
    return [_row("deflate-iaa batch of 8", 1.30, t, "isal level 0, Z_FIXED, 4 KiB window, per page")]


# -- zswap ------------------------------------------------------------------------------


class _Entry:
    __slots__ = ("length", "obj", "pool", "referenced")

    def __init__(self, obj: bytes, length: int) -> None:
        self.obj, self.length, self.pool, self.referenced = obj, length, None, True


def _zswap_skeleton(
    comp: Callable[[Any], bytes], decomp: Callable[[bytes], bytes], folios: list[bytes], n: int
) -> Callable[[], None]:
    mutex, tree_lock = threading.Lock(), threading.Lock()
    tree: dict[int, _Entry] = {}
    page = bytearray(PAGE_SIZE)
    into = memoryview(page)

    def run() -> None:
        for f, folio in enumerate(folios):
            mv = memoryview(folio)
            entries = []
            for start in range(0, FOLIO_PAGES * PAGE_SIZE, PAGE_SIZE):
                src = mv[start : start + PAGE_SIZE]
                mutex.acquire()
                out = comp(src)
                mutex.release()
                entries.append(_Entry(out, len(out)))
            off = f * FOLIO_PAGES
            tree_lock.acquire()
            tree.update(zip(range(off, off + FOLIO_PAGES), entries))
            tree_lock.release()
        for off in range(n):
            e = tree.get(off)
            mutex.acquire()
            into[:] = decomp(e.obj)  # type: ignore[union-attr]
            mutex.release()
            tree_lock.acquire()
            del tree[off]
            tree_lock.release()

    return run


def _zswap_rows(pages: list[bytes], repeat: int) -> list[Row]:
    work = zswap_pages(pages)
    n = len(work)
    folios = [b"".join(work[i : i + FOLIO_PAGES]) for i in range(0, n, FOLIO_PAGES)]
    cctx, dctx = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
    lz4_comp = functools.partial(lz4.block.compress, store_size=False)
    lz4_decomp = functools.partial(lz4.block.decompress, uncompressed_size=PAGE_SIZE)
    # The reference is the speed table's: the library called directly (a partial adds a call).
    raw = raw_round_trip_loops(work)
    codecs: dict[str, tuple[Callable[[Any], bytes], Callable[[bytes], bytes]]] = {
        "zstd": (cctx.compress, dctx.decompress),
        "lz4": (lz4_comp, lz4_decomp),
    }
    fns: dict[str, Callable[[], object]] = {}
    caches: list[Zswap] = []
    for alg, (comp, decomp) in codecs.items():
        z = Zswap(alg, total_ram=1 << 40)
        caches.append(z)
        fns[f"{alg} raw"] = raw[alg]
        fns[f"{alg} skeleton"] = _zswap_skeleton(comp, decomp, folios, n)
        fns[f"{alg} ours"] = _zswap_store_load(z, folios, n)
    try:
        t = interleaved(fns, repeat)
    finally:
        for z in caches:
            z.close()
    return _alg_rows("zswap store + load, {}", {"zstd": 1.25, "lz4": 1.45}, t, "raw compress + decompress per page")


def _zswap_store_load(z: Zswap, folios: list[bytes], n: int) -> Callable[[], None]:
    out = bytearray(PAGE_SIZE)

    def run() -> None:
        for f, folio in enumerate(folios):
            if not z.store(f * FOLIO_PAGES, folio):
                raise RuntimeError(f"zswap refused folio {f}")
        for off in range(n):
            if not z.load(off, out):
                raise RuntimeError(f"zswap lost page {off}")

    return run


# -- the per-page call ---------------------------------------------------------------------


def _per_page_rows(pages: list[bytes], repeat: int) -> list[Row]:
    zstd_compress = zstandard.ZstdCompressor(level=3).compress
    lz4_compress = lz4.block.compress
    Request = acomp.Request
    tfms = {alg: acomp.alloc(alg) for alg in ("zstd", "lz4")}
    raw = raw_compress_loops(pages)
    dst = bytearray(PAGE_SIZE + 512)

    def zstd_skeleton() -> None:
        view = memoryview(dst)
        for p in pages:
            r = Request(p, dst)
            o = zstd_compress(r.src)
            k = len(o)
            view[:k] = o
            r.dlen, r.err = k, None

    def lz4_skeleton() -> None:
        view = memoryview(dst)
        for p in pages:
            r = Request(p, dst)
            o = lz4_compress(r.src, store_size=False)
            k = len(o)
            view[:k] = o
            r.dlen, r.err = k, None

    def ours(tfm: acomp.Transform) -> Callable[[], None]:
        out = bytearray(tfm.driver.compress_bound(PAGE_SIZE))
        compress = tfm.compress

        def run() -> None:
            for p in pages:
                compress(Request(p, out))

        return run

    fns: dict[str, Callable[[], object]] = {
        "zstd raw": raw["zstd"],
        "zstd skeleton": zstd_skeleton,
        "zstd ours": ours(tfms["zstd"]),
        "lz4 raw": raw["lz4"],
        "lz4 skeleton": lz4_skeleton,
        "lz4 ours": ours(tfms["lz4"]),
    }
    try:
        t = interleaved(fns, repeat)
    finally:
        for tfm in tfms.values():
            tfm.close()
    return _alg_rows("one tfm.compress(Request), {}", {"zstd": 1.05, "lz4": 1.12}, t, "the raw call per page")


# -- a many-buffer call of 8 pages ----------------------------------------------------------


def _eight_rows(pages: list[bytes], repeat: int) -> list[Row]:
    groups = [pages[i : i + 8] for i in range(0, len(pages) - 7, 8)]
    with acomp.alloc("lz4") as tfm:
        bound = tfm.driver.compress_bound  # a pure function of the size: it outlives the transform
    flat = {bytes}

    def compress(s: bytes, cap: int) -> bytes:
        out: bytes = lz4.block.compress(s, store_size=False)
        return out

    def one_call(srcs: Sequence[bytes]) -> list[Any]:
        if not set(map(type, srcs)) <= flat or len(set(map(len, srcs))) != 1:
            raise RuntimeError("the skeleton takes only bytes sources of one size (the corpus has no other)")
        cap = bound(len(srcs[0]))
        out: list[Any] = []
        for s in srcs:
            try:
                out.append(compress(s, cap))
            except Exception as exc:
                out.append(exc)
        if set(map(type, out)) != flat or max(map(len, out)) > cap:
            raise RuntimeError("an output that is not bytes within its bound (lz4 never returns one)")
        return out

    t = interleaved(
        {
            "raw": lambda: [[lz4.block.compress(p, store_size=False) for p in g] for g in groups],
            "skeleton": lambda: [one_call(g) for g in groups],
            "ours": lambda: [acomp.compress_many(g, "lz4") for g in groups],
        },
        repeat,
    )
    return [_row("lz4, a call with only 8 pages", 1.10, t, "a loop of 8 raw calls")]


# -- report ---------------------------------------------------------------------------------


def _row(path: str, goal: float, t: dict[str, float], reference: str) -> Row:
    ref = t["raw"]
    return {
        "path": path,
        "goal": goal,
        "reference": reference,
        **{k: t[k] / ref for k in ("codec", "skeleton", "ours") if k in t},
    }


def _alg_rows(path: str, goals: dict[str, float], t: dict[str, float], reference: str) -> list[Row]:
    """One row per algorithm from timings named ``"<alg> raw"``, ``"<alg> skeleton"``, ``"<alg> ours"``."""
    rows = []
    for alg, goal in goals.items():
        mine = {k.split(" ", 1)[1]: v for k, v in t.items() if k.startswith(alg + " ")}
        rows.append(_row(path.format(alg), goal, mine, reference))
    return rows


def render(rows: Sequence[Row]) -> str:
    head = ("path", "goal", "codec", "skeleton", "ours", "skeleton <= goal")
    lines = [f"{head[0]:<32} {head[1]:>5} {head[2]:>6} {head[3]:>9} {head[4]:>6}  {head[5]}"]
    for r in rows:
        codec = f"{r['codec']:.2f}" if "codec" in r else "-"
        fits = "yes" if r["skeleton"] <= r["goal"] else "NO"
        lines.append(
            f"{r['path']:<32} {r['goal']:>5.2f} {codec:>6} {r['skeleton']:>9.2f} {r['ours']:>6.2f}  {fits}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--pages", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="JSON instead of a table")
    args = ap.parse_args(argv)
    pages = [bytes(p) for p in build_corpus(args.pages).pages]
    rows: list[Row] = []
    parts = (
        ("the per-page call", _per_page_rows),
        ("8 pages", _eight_rows),
        ("deflate-iaa", _iaa_rows),
        ("zswap", _zswap_rows),
    )
    for title, part in parts:
        print(f"measuring {title} ...", file=sys.stderr, flush=True)
        rows += part(pages, args.repeat)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"\nFloors (issue 16): {len(pages)} pages, best of {args.repeat}, interleaved; time / raw reference\n")
        print(render(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
