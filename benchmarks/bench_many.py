"""Many buffers (issue 16): acomp's many-buffer calls against what a Python user would do instead.

Prints two tables from one run on ``--pages`` 4 KiB corpus pages (default
2048; real files, see :mod:`acomp.cli.corpus`):

1. the speed table of issue 16 (every row, from :mod:`acomp.cli.speed_table`);
2. the peers: per operation (zstd compress, zstd decompress, lz4 compress),
   the time of each way to do it divided by a one-thread loop of the raw
   library call: the library's own multi-threaded call where it has one
   (zstandard ``multi_*_to_buffer(threads=2)``, blosc2 ``nthreads=2`` on the
   pages stacked into one buffer of 4 KiB blocks), the loops a numcodecs or
   cramjam user writes, the same loop on two plain threads, and acomp's call
   as it decides (``auto``) and forced ``inline`` / ``spread``.  Peers that are
   not installed are left out.

Every group is measured interleaved: each repetition runs every function once,
the order alternating, and the best of ``--repeat`` (default 7) is kept.  On a
machine shared with other work, label the figures "measured under load".
Nothing here asserts a time.

Run: ``python benchmarks/bench_many.py [--pages 2048] [--repeat 7] [--json] [--plot OUT.png]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import lz4.block
import zstandard

import acomp
from acomp import _many_cost
from acomp.cli.corpus import build_corpus
from acomp.cli.speed_table import interleaved, render, speed_table

PAGE = acomp.PAGE_SIZE
Fns = dict[str, Callable[[], object]]


def _two_threads(
    pool: concurrent.futures.ThreadPoolExecutor, loop: Callable[[Sequence[Any]], object], items: list[Any]
) -> Callable[[], object]:
    half = len(items) // 2
    return lambda: list(pool.map(loop, (items[:half], items[half:])))


def _acomp(fns: Fns, call: Callable[[], object]) -> None:
    def forced(mode: Any) -> Callable[[], object]:
        def run() -> object:
            with _many_cost.forced(mode):
                return call()

        return run

    fns["acomp (auto)"] = call
    fns["acomp forced inline"] = forced("inline")
    fns["acomp forced spread"] = forced("spread")


def peer_groups(pages: list[bytes], pool: concurrent.futures.ThreadPoolExecutor) -> dict[str, Fns]:
    cctx, dctx = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
    zcomp: list[Any] = [cctx.compress(p) for p in pages]
    plain: list[Any] = list(pages)

    def zloop(items: Sequence[Any]) -> object:
        c = zstandard.ZstdCompressor(level=3).compress  # one per thread: not thread-safe
        return [c(p) for p in items]

    def unzloop(items: Sequence[Any]) -> object:
        d = zstandard.ZstdDecompressor().decompress
        return [d(c) for c in items]

    def lloop(items: Sequence[Any]) -> object:
        c = lz4.block.compress
        return [c(p, store_size=False) for p in items]

    z: Fns = {
        "raw loop (zstandard)": lambda: zloop(plain),
        "zstandard multi_compress_to_buffer(threads=2)": lambda: cctx.multi_compress_to_buffer(plain, threads=2),
        "two plain threads": _two_threads(pool, zloop, plain),
    }
    uz: Fns = {
        "raw loop (zstandard)": lambda: unzloop(zcomp),
        "zstandard multi_decompress_to_buffer(threads=2)": lambda: dctx.multi_decompress_to_buffer(zcomp, threads=2),
        "two plain threads": _two_threads(pool, unzloop, zcomp),
    }
    lz: Fns = {"raw loop (lz4.block)": lambda: lloop(plain), "two plain threads": _two_threads(pool, lloop, plain)}
    _optional_peers(pages, zcomp, pool, z, uz, lz)
    _acomp(z, lambda: acomp.compress_many(pages, "zstd"))
    _acomp(uz, lambda: acomp.decompress_many(zcomp, "zstd", max_size=PAGE))
    _acomp(lz, lambda: acomp.compress_many(pages, "lz4"))
    return {"zstd compress": z, "zstd decompress": uz, "lz4 compress": lz}


def _optional_peers(
    pages: list[bytes],
    zcomp: list[Any],
    pool: concurrent.futures.ThreadPoolExecutor,
    z: Fns,
    uz: Fns,
    lz: Fns,
) -> None:
    try:
        import numcodecs

        nz, nl = numcodecs.Zstd(level=3), numcodecs.LZ4()
        nzc = [nz.encode(p) for p in pages]
        z["numcodecs Zstd loop"] = lambda: [nz.encode(p) for p in pages]
        uz["numcodecs Zstd loop"] = lambda: [nz.decode(c) for c in nzc]
        lz["numcodecs LZ4 loop"] = lambda: [nl.encode(p) for p in pages]
    except ImportError:
        pass
    try:
        import cramjam

        def cz(items: Sequence[Any]) -> object:
            return [cramjam.zstd.compress(p, level=3) for p in items]

        def cl(items: Sequence[Any]) -> object:
            return [cramjam.lz4.compress_block(p, store_size=False) for p in items]

        z["cramjam loop"] = lambda: cz(pages)
        z["cramjam on two threads"] = _two_threads(pool, cz, list(pages))
        uz["cramjam loop"] = lambda: [cramjam.zstd.decompress(c) for c in zcomp]
        lz["cramjam loop"] = lambda: cl(pages)
        lz["cramjam on two threads"] = _two_threads(pool, cl, list(pages))
    except ImportError:
        pass
    try:
        import blosc2

        stacked = b"".join(pages)
        opts: dict[str, Any] = {
            "filters": [blosc2.Filter.NOFILTER],
            "filters_meta": [0],
            "typesize": 1,
            "nthreads": 2,
            "blocksize": PAGE,
            "splitmode": blosc2.SplitMode.NEVER_SPLIT,
        }
        zchunk = blosc2.compress2(stacked, codec=blosc2.Codec.ZSTD, clevel=3, **opts)
        name = "blosc2 nthreads=2 (pages stacked)"
        z[name] = lambda: blosc2.compress2(stacked, codec=blosc2.Codec.ZSTD, clevel=3, **opts)
        uz[name] = lambda: blosc2.decompress2(zchunk, nthreads=2)
        lz[name] = lambda: blosc2.compress2(stacked, codec=blosc2.Codec.LZ4, clevel=1, **opts)
    except ImportError:
        pass


def measure_peers(groups: dict[str, Fns], repeat: int, say: Callable[[str], None]) -> dict[str, dict[str, float]]:
    """Per group: each way's time divided by the group's first entry (the raw loop)."""
    out: dict[str, dict[str, float]] = {}
    for name, fns in groups.items():
        say(f"peers: {name}")
        t = interleaved(fns, repeat)
        ref = t[next(iter(fns))]
        out[name] = {k: v / ref for k, v in t.items()}
    return out


def plot(peers: dict[str, dict[str, float]], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(peers), 1, figsize=(9.0, 2.0 + 2.6 * len(peers)), sharex=True)
    for ax, (group, ratios) in zip(axes, peers.items()):
        names = list(ratios)[::-1]
        values = [ratios[n] for n in names]
        colors = ["tab:orange" if n.startswith("acomp") else "tab:gray" for n in names]
        ax.barh(names, values, color=colors)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_title(group, fontsize=10)
        for y, v in enumerate(values):
            ax.text(v, y, f" {v:.2f}", va="center", fontsize=8)
    axes[-1].set_xlabel("time / one-thread raw loop (lower is faster)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--pages", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true", help="JSON instead of tables")
    ap.add_argument("--plot", metavar="OUT.png", help="also save the peers as a bar chart (needs matplotlib)")
    ap.add_argument("--no-table", action="store_true", help="only the peers, not the issue 16 table")
    ap.add_argument("--label", default="", help="added to the plot's title, e.g. 'measured under load'")
    args = ap.parse_args(argv)
    pages = list(build_corpus(args.pages).pages)

    def say(msg: str) -> None:
        print(f"measuring {msg} ...", file=sys.stderr, flush=True)

    rows = [] if args.no_table else speed_table(pages, args.repeat, say)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        peers = measure_peers(peer_groups(pages, pool), args.repeat, say)
    if args.json:
        table = [{**attrs.asdict(r), "meets_goal": r.meets_goal} for r in rows]
        json.dump({"pages": len(pages), "repeat": args.repeat, "rows": table, "peers": peers}, sys.stdout, indent=1)
        print()
    else:
        if rows:
            print(f"The speed table (issue 16): {len(pages)} pages, best of {args.repeat}, interleaved\n")
            print(render(rows))
            print()
        for group, ratios in peers.items():
            print(f"{group}: time / one-thread raw loop")
            for name, r in ratios.items():
                print(f"  {name:<52} {r:6.2f}")
    if args.plot:
        title = f"{len(pages)} pages of 4 KiB, best of {args.repeat}, interleaved"
        plot(peers, args.plot, f"{title}, {args.label}" if args.label else title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
