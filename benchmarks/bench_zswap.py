"""zswap overhead benchmark: store then load N pages of real file data.

Figures printed per compressor:

* ``raw``: the acomp transform called page by page on the same pages, one
  reused request, compress then decompress (the codec plus the core's thin
  sync path; no zswap);
* ``zswap``: ``Zswap.store`` of 16-page folios (64 KiB, as the seed's
  usemem runs) then ``Zswap.load`` of every page, checked byte for byte
  outside the timed region;
* ``ratio`` = zswap throughput / raw throughput (goal >= 0.80 for zstd);
* ``meta B/page``: memory zswap holds beyond the zsmalloc pages themselves,
  per stored page, measured with tracemalloc (goal <= 150 bytes).

Usage: ``python benchmarks/bench_zswap.py [--pages 20000] [--repeat 3] [zstd deflate lz4 ...]``.
Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import gc
import glob
import os
import sysconfig
import time
import tracemalloc
from collections.abc import Callable

import acomp
from acomp import PAGE_SIZE
from acomp.zswap import Zswap

FOLIO_PAGES = 16


def load_pages(n: int) -> list[bytes]:
    """``n`` pages cut from stdlib .py files (3/4) and shared libraries (1/4), in a fixed order."""
    stdlib = sysconfig.get_paths()["stdlib"]
    py = sorted(glob.glob(os.path.join(stdlib, "**", "*.py"), recursive=True))
    so = sorted(glob.glob(os.path.join(stdlib, "lib-dynload", "*.so")))
    so += sorted(glob.glob("/usr/lib/x86_64-linux-gnu/*.so*"))

    def cut(files: list[str], want: int) -> list[bytes]:
        out: list[bytes] = []
        buf = bytearray()
        for f in files:
            try:
                with open(f, "rb") as fh:
                    buf += fh.read()
            except OSError:
                continue
            while len(buf) >= PAGE_SIZE and len(out) < want:
                out.append(bytes(buf[:PAGE_SIZE]))
                del buf[:PAGE_SIZE]
            if len(out) >= want:
                break
        return out

    binary = cut(so, n // 4)
    text = cut(py, n - len(binary))
    # One binary page after every three text pages: each folio mixes both.
    out: list[bytes] = []
    while text or binary:
        out += text[:3] + binary[:1]
        del text[:3], binary[:1]
    return out


def bench_raw(tfm: acomp.Transform, pages: list[bytes]) -> float:
    req = acomp.Request(b"", bytearray(PAGE_SIZE))
    out = bytearray(PAGE_SIZE)
    comp: list[bytes] = []
    t0 = time.perf_counter()
    for p in pages:
        req.src = p
        try:
            n = tfm.compress(req)
            comp.append(bytes(req.dst[:n]) if n < PAGE_SIZE else p)
        except acomp.AcompError:
            comp.append(p)
    dreq = acomp.Request(b"", out)
    for c in comp:
        if len(c) == PAGE_SIZE:
            out[:] = c
            continue
        dreq.src = c
        tfm.decompress(dreq)
    return time.perf_counter() - t0


def bench_zswap(z: Zswap, folios: list[bytes], pages: list[bytes], check: bool) -> float:
    out = bytearray(PAGE_SIZE)
    n = len(pages)
    t0 = time.perf_counter()
    for i, f in enumerate(folios):
        if not z.store(i * FOLIO_PAGES, f):
            raise SystemExit(f"store of folio {i} rejected: {z.stats()}")
    load = z.load
    for off in range(n):
        load(off, out)
    elapsed = time.perf_counter() - t0
    if check:
        for i, f in enumerate(folios):
            z.store(i * FOLIO_PAGES, f)
        for off in range(n):
            if not z.load(off, out) or out != pages[off]:
                raise SystemExit(f"page {off} came back different")
    return elapsed


def metadata_per_page(factory: Callable[[str], acomp.Transform], name: str, folios: list[bytes]) -> float:
    z = Zswap(name, total_ram=1 << 40, transform_factory=factory)
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
    stored = int(z.stats()["stored_pages"])  # type: ignore[call-overload]
    zs_bytes = z.pool_total_size()
    z.close()
    return (after - before - zs_bytes) / max(1, stored)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("compressors", nargs="*", default=["zstd", "deflate", "lz4"])
    ap.add_argument("--pages", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    pages = load_pages(args.pages)
    n = len(pages)
    folios = [b"".join(pages[i : i + FOLIO_PAGES]) for i in range(0, n, FOLIO_PAGES)]
    print(f"{n} pages ({n * PAGE_SIZE >> 20} MiB) in {len(folios)} folios of {FOLIO_PAGES} pages")
    head = f"{'compressor':<24}{'driver':<16}{'batch':>6}{'raw us/pg':>11}{'zswap us/pg':>13}"
    print(head + f"{'ratio':>7}{'meta B/pg':>11}{'pool MiB':>10}")
    for spec in args.compressors:
        name, _, param = spec.partition(":")
        params: dict[str, object] = {}
        if param:  # e.g. zstd:batch_threads=1
            k, _, v = param.partition("=")
            params[k] = int(v) if v.lstrip("-").isdigit() else v

        def factory(alg: str, params: dict[str, object] = params) -> acomp.Transform:
            return acomp.alloc(alg, **params)

        try:
            tfm = factory(name)
        except acomp.AcompError as exc:
            print(f"{spec:<24}skipped: {exc}")
            continue
        raw = min(bench_raw(tfm, pages) for _ in range(args.repeat))
        best = float("inf")
        pool_mib = 0.0
        for r in range(args.repeat):
            z = Zswap(name, total_ram=1 << 40, transform_factory=factory)
            gc.collect()
            best = min(best, bench_zswap(z, folios, pages, check=(r == 0)))
            z.store(0, b"".join(pages[:FOLIO_PAGES]))
            for i, f in enumerate(folios):
                z.store(i * FOLIO_PAGES, f)
            pool_mib = z.pool_total_size() / (1 << 20)
            z.close()
        meta = metadata_per_page(factory, name, folios)
        print(
            f"{spec:<24}{tfm.driver_name:<16}{tfm.batch_size:>6}{raw / n * 1e6:>11.2f}"
            f"{best / n * 1e6:>13.2f}{raw / best:>7.2f}{meta:>11.1f}{pool_mib:>10.1f}"
        )
        tfm.close()


if __name__ == "__main__":
    main()
