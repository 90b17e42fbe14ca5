"""zswap's per-page cost: store + load against the raw codec, in one interleaved run.

For each compressor, the same pages (real files from the corpus: stdlib
sources, shared libraries, executables; pages the codec cannot fit in a page
are left out of both sides, since v5 zswap sends their folios to the swap
device instead) are

* ``raw``: compressed then decompressed page by page with the codec's own
  Python library at the plugin's settings (``zstandard`` level 3,
  ``lz4.block``), no acomp at all;
* ``zswap``: stored as 16-page folios (64 KiB, as the seed's usemem runs)
  with ``Zswap.store`` and loaded back page by page with ``Zswap.load``
  (checked byte for byte outside the timed region).

The two alternate chunk by chunk (8 folios), which one goes first swapping
every chunk and every round; each chunk's best of ``--repeat`` rounds counts,
for each side; ``ratio`` is zswap time / raw time (issue 16's goal: zstd <=
1.25, lz4 <= 1.45).  ``mem B/pg`` is the Python memory zswap holds per
stored page (tracemalloc, measured apart from the timing), ``meta B/pg`` the
part of it beyond the stored bytes, ``pool B/pg`` the kernel's figure,
``pool_total_size`` per page.

Usage: ``python benchmarks/bench_zswap.py [--pages 2048] [--repeat 7] [zstd lz4 ...]``.
Run it against another checkout's ``acomp`` with ``PYTHONPATH=<checkout>``
for a before/after ratio.  Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable

import acomp
from acomp import PAGE_SIZE
from acomp.zswap import Zswap

FOLIO_PAGES = 16
#: Folios per timed chunk: raw and zswap alternate chunk by chunk, and each chunk's best
#: over the rounds counts, so a burst of load on a shared machine spoils one chunk, not a side.
CHUNK_FOLIOS = 8
#: The corpus' real-file kinds (no zero or random pages), by page share.
FILE_MIX = (("text", 0.5), ("shlib", 0.3), ("binary", 0.2))


def corpus_pages(n: int) -> list[bytes]:
    """``n`` real-file pages from the corpus (wherever this checkout keeps it)."""
    try:
        from acomp.cli.corpus import build_corpus
    except ImportError:
        from acomp.corpus import build_corpus  # type: ignore[no-redef]
    return list(build_corpus(n, mix=FILE_MIX).pages)


def raw_codec(name: str) -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]] | None:
    """The library calls the plugin makes, without acomp: (compress, decompress), or None."""
    if name == "zstd":
        import zstandard

        c, d = zstandard.ZstdCompressor(level=3), zstandard.ZstdDecompressor()
        return c.compress, d.decompress
    if name == "lz4":
        import lz4.block

        return (
            lambda p: lz4.block.compress(p, store_size=False),
            lambda c: lz4.block.decompress(c, uncompressed_size=PAGE_SIZE),
        )
    if name == "deflate":
        import zlib

        def comp(p: bytes) -> bytes:
            o = zlib.compressobj(1, zlib.DEFLATED, -15)
            return o.compress(p) + o.flush()

        return comp, lambda c: zlib.decompress(c, -15, PAGE_SIZE)
    return None


def one_round(
    name: str,
    comp: Callable[[bytes], bytes],
    decomp: Callable[[bytes], bytes],
    chunks: list[tuple[list[bytes], list[bytes]]],
    zswap_first: bool,
) -> tuple[list[float], list[float]]:
    """Per chunk: raw compress+decompress of its pages, and zswap store+load of them, alternating."""
    z = Zswap(name, total_ram=1 << 40)
    store, load = z.store, z.load
    out = bytearray(PAGE_SIZE)
    raw_t: list[float] = []
    zsw_t: list[float] = []
    gc.collect()
    gc.disable()
    try:
        off = 0
        for k, (pages, folios) in enumerate(chunks):
            for side in ((1, 0) if (k % 2 == 0) == zswap_first else (0, 1)):
                t0 = time.perf_counter()
                if side:
                    base = off
                    for f in folios:
                        if not store(base, f):
                            raise SystemExit(f"{name}: store at {base} rejected: {z.stats()}")
                        base += FOLIO_PAGES
                    for o in range(off, off + len(pages)):
                        load(o, out)
                    zsw_t.append(time.perf_counter() - t0)
                else:
                    outs = [comp(p) for p in pages]
                    for c in outs:
                        decomp(c)
                    raw_t.append(time.perf_counter() - t0)
            off += len(pages)
    finally:
        gc.enable()
        z.close()
    return raw_t, zsw_t


def check_zswap(name: str, folios: list[bytes], pages: list[bytes]) -> None:
    with Zswap(name, total_ram=1 << 40) as z:
        out = bytearray(PAGE_SIZE)
        for i, f in enumerate(folios):
            z.store(i * FOLIO_PAGES, f)
        for off, p in enumerate(pages):
            if not z.load(off, out) or out != p:
                raise SystemExit(f"{name}: page {off} came back different")


def memory_per_page(name: str, folios: list[bytes]) -> tuple[float, float]:
    """Python memory zswap holds per stored page: all of it, and beyond the stored bytes."""
    with Zswap(name, total_ram=1 << 40) as z:
        z.store(0, folios[0])  # contexts and buffers exist before the measurement
        z.load(0, bytearray(PAGE_SIZE))
        z.erase(0, FOLIO_PAGES)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for i, f in enumerate(folios):
            z.store(i * FOLIO_PAGES, f)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        stored = z.stored_pages()
        payload = 0
        for pool in z.pools():
            for cls in pool.zs.classes:
                objs = getattr(cls, "data", None)  # objects kept as bytes: count their bytes
                payload += sum(len(o) for o in objs if o is not None) if objs is not None else 0
        if not payload:  # a checkout whose zspages are bytearrays: their pages are the payload
            payload = z.pool_total_size()
    n = max(1, stored)
    return (after - before) / n, (after - before - payload) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("compressors", nargs="*", default=["zstd", "lz4"])
    ap.add_argument("--pages", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    corpus = corpus_pages(args.pages)
    print(f"{len(corpus)} corpus pages ({', '.join(k for k, _ in FILE_MIX)}), folios of {FOLIO_PAGES} pages,")
    print(f"best of {args.repeat} per chunk of {CHUNK_FOLIOS} folios, raw and zswap alternating;")
    print("ratio = zswap store+load time / raw compress+decompress time")
    print(
        f"{'compressor':<12}{'pages':>7}{'raw us/pg':>11}{'zswap us/pg':>13}{'ratio':>8}"
        f"{'mem B/pg':>10}{'meta B/pg':>11}{'pool B/pg':>11}"
    )
    for name in args.compressors:
        codec = raw_codec(name)
        if codec is None:
            print(f"{name:<12}skipped: no raw codec call known")
            continue
        comp, decomp = codec
        try:
            acomp.alloc(name).close()
        except acomp.AcompError as exc:
            print(f"{name:<12}skipped: {exc}")
            continue
        pages = [p for p in corpus if len(comp(p)) <= PAGE_SIZE]
        pages = pages[: len(pages) // FOLIO_PAGES * FOLIO_PAGES]
        n = len(pages)
        folios = [b"".join(pages[i : i + FOLIO_PAGES]) for i in range(0, n, FOLIO_PAGES)]
        check_zswap(name, folios, pages)
        per = CHUNK_FOLIOS * FOLIO_PAGES
        chunks = [(pages[i : i + per], folios[i // FOLIO_PAGES : (i + per) // FOLIO_PAGES]) for i in range(0, n, per)]
        best_raw = [float("inf")] * len(chunks)
        best_zsw = [float("inf")] * len(chunks)
        for r in range(args.repeat):
            raw_t, zsw_t = one_round(name, comp, decomp, chunks, zswap_first=r % 2 == 1)
            best_raw = [min(a, b) for a, b in zip(best_raw, raw_t)]
            best_zsw = [min(a, b) for a, b in zip(best_zsw, zsw_t)]
        raw, zsw = sum(best_raw), sum(best_zsw)
        mem, meta = memory_per_page(name, folios)
        with Zswap(name, total_ram=1 << 40) as z:
            for i, f in enumerate(folios):
                z.store(i * FOLIO_PAGES, f)
            pool = z.pool_total_size() / n
        print(
            f"{name:<12}{n:>7}{raw / n * 1e6:>11.2f}{zsw / n * 1e6:>13.2f}{zsw / raw:>8.2f}"
            f"{mem:>10.0f}{meta:>11.0f}{pool:>11.0f}"
        )


if __name__ == "__main__":
    main()
