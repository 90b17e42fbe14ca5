"""``acomp advise``: its page sources on known memory, its figures against the raw libraries, its model.

No timed assertions: the orderings that rest on measured codec times are in
``-m slow`` tests; the default run checks counts, ratios, bounds and the
model's arithmetic.
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from acomp_cli_helpers import assert_one_line_error
from acomp_model_plugins import BATCH, FIXED, PER_OUT_BYTE

from acomp import PAGE_SIZE
from acomp.cli import kernel_model
from acomp.cli.advise import zswap_parameters
from acomp.cli.pagefacts import ENTRY_METADATA_BYTES, zsmalloc_footprint

KEYS = {"source", "compressors", "recommendation"}
SOURCE_KEYS = {"kind", "pages", "zero_pages", "same_filled_pages", "skipped_pages"}
COMPRESSOR_KEYS = {
    "driver",
    "params",
    "ratio",
    "pool_bytes",
    "metadata_bytes",
    "size_histogram",
    "compress_ns",
    "decompress_ns",
    "kernel_model",
}


def known_pages(seed: int = 7) -> tuple[list[bytes], dict[str, int]]:
    """8 zero, 5 same-filled (not zero), 10 compressible and 6 incompressible pages, shuffled."""
    rng = random.Random(seed)
    text = Path(textwrap.__file__).read_bytes() + Path(json.__file__).read_bytes()
    pages = [bytes(PAGE_SIZE)] * 8
    pages += [bytes([b]) * PAGE_SIZE for b in (0x5A, 0xFF, 0x01)]
    pages += [b"ABCDEFGH" * (PAGE_SIZE // 8), struct.pack("<Q", 0xDEADBEEF) * (PAGE_SIZE // 8)]
    for i in range(10):
        start = (i * 3001) % (len(text) - PAGE_SIZE)
        pages.append(text[start : start + PAGE_SIZE])
    pages += [rng.randbytes(PAGE_SIZE) for _ in range(6)]
    rng.shuffle(pages)
    return pages, {"pages": 29, "zero_pages": 8, "same_filled_pages": 5}


def raw_ratio(driver: str, pages: list[bytes]) -> float:
    """The raw library's ratio on the non-zero pages (what zswap would give the compressor)."""
    import lz4.block
    import zstandard

    def deflate(p: bytes) -> bytes:
        c = zlib.compressobj(-1, zlib.DEFLATED, -11, 9)
        return c.compress(p) + c.flush()

    fns = {
        "lz4-generic": lambda p: lz4.block.compress(p, store_size=False),
        "zstd-generic": zstandard.ZstdCompressor(level=3).compress,
        "deflate-generic": deflate,
    }
    seen = [p for p in pages if p != bytes(PAGE_SIZE)]
    return len(seen) * PAGE_SIZE / sum(len(fns[driver](p)) for p in seen)


CHILD = r"""
import ctypes, mmap, sys
PAGE = 4096
def region(path, flags, untouched):
    data = open(path, "rb").read()
    m = mmap.mmap(-1, len(data) + untouched * PAGE, flags=flags)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):  # a large folio would make the untouched pages exist too
        m.madvise(mmap.MADV_NOHUGEPAGE)
    m[: len(data)] = data  # every page written, zero pages too: they exist
    start = ctypes.addressof(ctypes.c_char.from_buffer(m))
    return m, start, start + len(data) + untouched * PAGE
keep = []
for path, flags in ((sys.argv[1], mmap.MAP_PRIVATE), (sys.argv[2], mmap.MAP_SHARED)):
    m, lo, hi = region(path, flags, 7)
    keep.append(m)
    print(f"{lo:x}-{hi:x}", flush=True)
sys.stdin.read()
"""


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, list[str], list[bytes], dict[str, int]]]:
    """A process holding the known pages in a private and a shared anonymous mapping (7 untouched pages each)."""
    pages, counts = known_pages()
    d = tmp_path_factory.mktemp("child")
    (d / "private").write_bytes(b"".join(pages))
    (d / "shared").write_bytes(b"".join(pages))
    p = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(d / "private"), str(d / "shared")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None and p.stdin is not None
    ranges = [p.stdout.readline().strip(), p.stdout.readline().strip()]
    try:
        yield p.pid, ranges, pages, counts
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def advise_json(cli, *args: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    rc, out, err = cli("advise", "--json", *args)
    assert rc == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("which", [0, 1], ids=["private", "shared"])
def test_pid_counts_exact_and_ratios_match_raw_libraries(cli, child, which) -> None:  # type: ignore[no-untyped-def]
    pid, ranges, pages, counts = child
    doc = advise_json(cli, "--pid", str(pid), "--range", ranges[which], "-c", "lz4,zstd,deflate-generic")
    assert set(doc) == KEYS and set(doc["source"]) == SOURCE_KEYS
    assert doc["source"] == {"kind": "pid", **counts, "skipped_pages": 0}
    for comp in doc["compressors"]:
        assert set(comp) == COMPRESSOR_KEYS
        want = raw_ratio(comp["driver"], pages)
        assert comp["ratio"] == pytest.approx(want, rel=0.01), comp["driver"]
        assert comp["size_histogram"]["rejected_pages"] == 6  # the random pages do not fit a page
        assert sum(comp["size_histogram"]["pages"]) == 29 - 8 - 6
        assert comp["metadata_bytes"] == 15 * ENTRY_METADATA_BYTES
        assert comp["kernel_model"]["sys_us_per_zswpout"] > kernel_model.ZSWAP_OWN_US_PER_PAGE
    assert doc["recommendation"]["driver"] in {"lz4-generic", "zstd-generic", "deflate-generic"}


def test_pid_whole_process(cli, child) -> None:  # type: ignore[no-untyped-def]
    pid, _ranges, _pages, counts = child
    doc = advise_json(cli, "--pid", str(pid), "-c", "lz4")
    src = doc["source"]
    assert src["pages"] >= 2 * counts["pages"]  # both regions, and the interpreter's own memory
    assert src["zero_pages"] >= 2 * counts["zero_pages"]
    assert src["same_filled_pages"] >= 2 * counts["same_filled_pages"]


def test_pid_max_pages(cli, child) -> None:  # type: ignore[no-untyped-def]
    pid, ranges, pages, _counts = child
    doc = advise_json(cli, "--pid", str(pid), "--range", ranges[0], "--max-pages", "10", "-c", "lz4")
    assert doc["source"]["pages"] == 10
    assert doc["source"]["zero_pages"] == sum(p == bytes(PAGE_SIZE) for p in pages[:10])


def test_pid_text_table(cli, child) -> None:  # type: ignore[no-untyped-def]
    pid, ranges, _pages, _counts = child
    rc, out, err = cli("advise", "--pid", str(pid), "--range", ranges[0], "-c", "lz4,zstd")
    assert rc == 0, err
    assert "29 pages in 1 anonymous mappings" in out and "7 pages never touched" in out
    assert "zero-filled 8 (27.6%" in out and "same-filled 5 (17.2%" in out
    assert "recommendation: " in out and "measured" in out


def _drop_ptrace_capability() -> None:
    """preexec: take CAP_SYS_PTRACE out of the bounding set, so root's exec'd child lacks it."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_sys_ptrace = 24, 19
    if libc.prctl(pr_capbset_drop, cap_sys_ptrace, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _run_or_skip(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(args, **kwargs)  # type: ignore[call-overload,no-any-return]
    except subprocess.SubprocessError as exc:  # the preexec could not drop the capability here
        pytest.skip(f"cannot drop CAP_SYS_PTRACE: {exc}")


def test_no_permission_is_one_clear_line(proc) -> None:  # type: ignore[no-untyped-def]
    """Another user's process, read without CAP_SYS_PTRACE (root: dropped first; others: pid 1 is root's)."""
    if os.geteuid() != 0:
        r = proc(["advise", "--pid", "1", "-c", "lz4"])
        assert_one_line_error(r.returncode, r.stderr.decode(), "permission denied", "ptrace")
        return
    if shutil.which("sleep") is None:
        pytest.skip("no sleep(1) to run as another user")
    target = subprocess.Popen(["sleep", "300"], preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
    try:
        env = {k: v for k, v in os.environ.items() if k != "ACOMP_DEBUG"}
        r = _run_or_skip(
            [sys.executable, "-m", "acomp", "advise", "--pid", str(target.pid), "-c", "lz4"],
            capture_output=True,
            env=env,
            timeout=120,
            preexec_fn=_drop_ptrace_capability,
            check=False,
        )
    finally:
        target.kill()
        target.wait(timeout=30)
    assert_one_line_error(r.returncode, r.stderr.decode(), "permission denied", "ptrace")


def test_no_such_process(cli) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = cli("advise", "--pid", str(2**22 + 12345), "-c", "lz4")
    assert_one_line_error(rc, err, "no process")


def write_core(path: Path, segments: list[bytes], *, truncate: int = 0, wide: bool = True) -> None:
    """A little-endian ELF core: a PT_NOTE, one PT_LOAD per segment, and a PT_LOAD that was not dumped."""
    phent = 56 if wide else 32
    nph = len(segments) + 2
    data_at = PAGE_SIZE
    phdrs = []
    if wide:
        ph = struct.Struct("<IIQQQQQQ")
        phdrs.append(ph.pack(4, 0, 64 + nph * phent, 0, 0, 16, 16, 4))  # PT_NOTE
    else:
        ph = struct.Struct("<IIIIIIII")
        phdrs.append(ph.pack(4, 52 + nph * phent, 0, 0, 16, 16, 0, 4))
    offset, vaddr = data_at, 0x10000
    for seg in segments:
        if wide:
            phdrs.append(ph.pack(1, 6, offset, vaddr, 0, len(seg), len(seg), PAGE_SIZE))
        else:
            phdrs.append(ph.pack(1, offset, vaddr, 0, len(seg), len(seg), 6, PAGE_SIZE))
        offset += len(seg)
        vaddr += len(seg) + PAGE_SIZE
    if wide:  # memory that was not dumped (p_filesz 0): not pages we can read
        phdrs.append(ph.pack(1, 4, offset, vaddr, 0, 0, 2 * PAGE_SIZE, PAGE_SIZE))
    else:
        phdrs.append(ph.pack(1, offset, vaddr, 0, 0, 2 * PAGE_SIZE, 4, PAGE_SIZE))
    if wide:
        head = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
        head += struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, phent, nph, 0, 0, 0)
    else:
        head = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
        head += struct.pack("<HHIIIIIHHHHHH", 4, 3, 1, 0, 52, 0, 0, 52, phent, nph, 0, 0, 0)
    blob = head + b"".join(phdrs) + b"CORE\0note-data!!"
    blob += bytes(data_at - len(blob)) + b"".join(segments)
    path.write_bytes(blob[: len(blob) - truncate] if truncate else blob)


@pytest.mark.parametrize("wide", [True, False], ids=["elf64", "elf32"])
def test_core_file(cli, tmp_path: Path, wide: bool) -> None:  # type: ignore[no-untyped-def]
    pages, counts = known_pages(3)
    core = tmp_path / "core"
    write_core(core, [b"".join(pages[:20]), b"".join(pages[20:])], wide=wide)
    doc = advise_json(cli, "--core", str(core), "-c", "lz4,zstd")
    assert doc["source"] == {"kind": "core", **counts, "skipped_pages": 0}
    for comp in doc["compressors"]:
        assert comp["ratio"] == pytest.approx(raw_ratio(comp["driver"], pages), rel=0.01)


def test_core_file_truncated_counts_skipped(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pages, _ = known_pages(3)
    core = tmp_path / "core"
    write_core(core, [b"".join(pages)], truncate=3 * PAGE_SIZE + 100)
    doc = advise_json(cli, "--core", str(core), "-c", "lz4")
    assert doc["source"]["pages"] == 29 - 4 and doc["source"]["skipped_pages"] == 4


def test_bad_core_files(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "f"
    f.write_bytes(b"hello" * 100)
    rc, _, err = cli("advise", "--core", str(f))
    assert_one_line_error(rc, err, "not an ELF file")
    f.write_bytes(b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + struct.pack("<HH", 2, 62) + bytes(60))
    rc, _, err = cli("advise", "--core", str(f))
    assert_one_line_error(rc, err, "not a core dump")


def test_raw_dump_pads_the_last_page(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pages, counts = known_pages(5)
    f = tmp_path / "dump"
    f.write_bytes(b"".join(pages) + b"\x5a" * 100)
    doc = advise_json(cli, "--dump", str(f), "-c", "zstd")
    assert doc["source"] == {"kind": "dump", "pages": 30, "zero_pages": 8, "same_filled_pages": 5, "skipped_pages": 0}
    assert doc["source"]["pages"] == counts["pages"] + 1


def _limited_advise(*args: str) -> subprocess.CompletedProcess[bytes]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))

    env = {k: v for k, v in os.environ.items() if k != "ACOMP_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "acomp", "advise", "--json", *args],
        capture_output=True,
        env=env,
        timeout=300,
        preexec_fn=limit,
        check=False,
    )


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_bounded() -> None:
    r = _limited_advise("--dump", "/dev/zero", "--max-pages", "5000", "-c", "lz4")
    assert r.returncode == 0, r.stderr
    src = json.loads(r.stdout)["source"]
    assert src["pages"] == src["zero_pages"] == 5000
    r = _limited_advise("--dump", "/dev/zero", "-c", "lz4")  # no --max-pages: the stated default bound
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["source"]["pages"] == 1 << 18


def test_sample_is_even_and_seeded(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "dump"
    f.write_bytes(b"".join(bytes([i + 1]) * PAGE_SIZE for i in range(200)))  # page i: byte i+1
    a = advise_json(cli, "--dump", str(f), "--sample", "50", "-c", "lz4")
    assert a["source"]["pages"] == 50 and a["source"]["same_filled_pages"] == 50
    from acomp.cli.pages import dump_source

    with dump_source(str(f)) as src:
        picked = [p[0] - 1 for p in src.pages(50, seed=0)]
    assert [i // 4 for i in picked] == list(range(50))  # one page in each stratum of 4
    with dump_source(str(f)) as src:
        again = [p[0] - 1 for p in src.pages(50, seed=0)]
    with dump_source(str(f)) as src:
        other = [p[0] - 1 for p in src.pages(50, seed=1)]
    assert again == picked and other != picked


def test_json_keys_and_params(cli) -> None:  # type: ignore[no-untyped-def]
    doc = advise_json(cli, "--max-pages", "64", "-c", "zstd,lz4", "-p", "zstd:level=1")
    assert set(doc) == KEYS and set(doc["recommendation"]) == {"driver", "reasons"}
    by = {c["driver"]: c for c in doc["compressors"]}
    assert by["zstd-generic"]["params"] == {"level": 1} and by["lz4-generic"]["params"] == {}
    assert doc["source"]["kind"] == "corpus" and doc["source"]["pages"] == 64
    for comp in doc["compressors"]:
        assert set(comp) == COMPRESSOR_KEYS
        km = comp["kernel_model"]
        assert {"compress_us_per_page", "decompress_us_per_page", "sys_us_per_zswpout"} <= set(km)
        assert km["sys_us_per_zswpout"] == pytest.approx(
            kernel_model.ZSWAP_OWN_US_PER_PAGE + km["compress_us_per_page"]
        )
        assert "measured here" in km["sources"]["compress"]
        h = comp["size_histogram"]
        fp_pages = sum(h["pages"])
        assert (
            fp_pages + h["rejected_pages"] + h["failed_pages"] == doc["source"]["pages"] - doc["source"]["zero_pages"]
        )


def test_model_hook_plumbing(cli, linear_model) -> None:  # type: ignore[no-untyped-def]
    """A plugin's modelled latencies become the kernel model, exactly as the hook's contract says."""
    doc = advise_json(cli, "--max-pages", "200", "-c", "lz4")
    (comp,) = doc["compressors"]
    km = comp["kernel_model"]
    assert set(km["configurations"]) == {"lz4-generic", "lz4-generic:sync", "lz4-generic:nobatch"}
    import lz4.block

    from acomp.cli.corpus import build_corpus

    sizes = [len(lz4.block.compress(p, store_size=False)) for p in build_corpus(200, 0).pages if any(p)]
    n = len(sizes)
    capped = [min(s, PAGE_SIZE) for s in sizes]
    batches = [capped[i : i + BATCH] for i in range(0, n, BATCH)]
    want_async = sum(FIXED + PER_OUT_BYTE * sum(b) for b in batches) / n / 1e3
    want_none = sum(FIXED + PER_OUT_BYTE * s for s in capped) / n / 1e3
    stored = [s for s in sizes if s <= PAGE_SIZE]
    want_dec = sum(FIXED + PER_OUT_BYTE * s for s in stored) / len(stored) / 1e3
    cfg = km["configurations"]
    assert cfg["lz4-generic"]["compress_us_per_page"] == pytest.approx(want_async)
    assert cfg["lz4-generic:sync"]["compress_us_per_page"] == pytest.approx(2 * want_async)
    assert cfg["lz4-generic:nobatch"]["compress_us_per_page"] == pytest.approx(want_none)
    assert km["decompress_us_per_page"] == pytest.approx(want_dec)
    assert km["sys_us_per_zswpout"] == pytest.approx(kernel_model.ZSWAP_OWN_US_PER_PAGE + want_async)
    assert "modelled" in km["sources"]["compress"]
    assert comp["compress_ns"]["p50"] is not None
    rc, out, _ = cli("advise", "--max-pages", "200", "-c", "lz4")
    assert rc == 0 and "lz4-generic:nobatch (no batching)" in out and " model " in out


def test_unmodelled_device_is_not_priced(cli) -> None:  # type: ignore[no-untyped-def]
    from acomp_model_plugins import real_iaa_model_answers

    if "deflate-iaa" not in {r.driver_name for r in __import__("acomp").algorithms()} or real_iaa_model_answers():
        pytest.skip("needs deflate-iaa without a model")
    doc = advise_json(cli, "--max-pages", "64", "-c", "deflate-iaa,lz4")
    iaa = next(c for c in doc["compressors"] if c["driver"] == "deflate-iaa")
    assert (
        iaa["kernel_model"]["sys_us_per_zswpout"] is None and "emulator" in iaa["kernel_model"]["sources"]["compress"]
    )
    assert doc["recommendation"]["driver"] == "lz4-generic"


def test_iaa_batching_is_cheaper_in_the_model(cli, iaa_model) -> None:  # type: ignore[no-untyped-def]
    """The seed's ordering within deflate-iaa: with batching < without (the model's, on the default corpus)."""
    doc = advise_json(cli, "-c", "deflate-iaa")
    cfg = doc["compressors"][0]["kernel_model"]["configurations"]
    sys_us = {k: v["sys_us_per_zswpout"] for k, v in cfg.items()}
    assert sys_us["deflate-iaa"] < sys_us["deflate-iaa:nobatch"], (iaa_model, sys_us)


@pytest.mark.slow
def test_seed_ordering_on_the_default_corpus(cli, iaa_model) -> None:  # type: ignore[no-untyped-def]
    """deflate-iaa with batching < without < zstd, and lz4 < zstd (measured codec times: slow-marked)."""
    doc = advise_json(cli, "-c", "deflate-iaa,zstd,lz4")
    by = {c["driver"]: c["kernel_model"] for c in doc["compressors"]}
    iaa = by["deflate-iaa"]["configurations"]
    order = [
        iaa["deflate-iaa"]["sys_us_per_zswpout"],
        iaa["deflate-iaa:nobatch"]["sys_us_per_zswpout"],
        by["zstd-generic"]["sys_us_per_zswpout"],
    ]
    assert order == sorted(order), (iaa_model, order)
    assert by["lz4-generic"]["sys_us_per_zswpout"] < by["zstd-generic"]["sys_us_per_zswpout"]


def test_plot(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    png = tmp_path / "advise.png"
    rc, _, err = cli("advise", "--max-pages", "64", "-c", "lz4,zstd", "--plot", str(png))
    assert rc == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_zswap_parameters(tmp_path: Path) -> None:
    assert zswap_parameters(str(tmp_path / "none")) is None
    (tmp_path / "compressor").write_text("zstd\n")
    (tmp_path / "enabled").write_text("Y\n")
    assert zswap_parameters(str(tmp_path)) == {"compressor": "zstd", "enabled": "Y"}


def test_zsmalloc_footprint_by_hand() -> None:
    # 4088 + the 8-byte handle is a 4096-class (huge: one page) object; 100 + 8 go to the 112 class, whose
    # zspage is 7 pages (7 x 4096 = 256 x 112: no waste, the least of any chain length).
    fp = zsmalloc_footprint([4088, 100, 100, 5000])
    assert fp.rejected_pages == 1 and fp.stored_pages == 3
    assert fp.histogram == {112: 2, 4096: 1}
    assert fp.pool_bytes == (7 + 1) * PAGE_SIZE


def test_usage_errors(cli) -> None:  # type: ignore[no-untyped-def]
    rc, _, err = cli("advise", "-c", "nosuch")
    assert_one_line_error(rc, err, "unknown compressor 'nosuch'")
    rc, _, err = cli("advise", "--range", "1000-2000")
    assert_one_line_error(rc, err, "--range needs --pid")
    rc, _, err = cli("advise", "--pid", "1", "--range", "zz")
    assert_one_line_error(rc, err, "START-END")
    rc, _, err = cli("advise", "--pid", "1", "--dump", "x")
    assert_one_line_error(rc, err, "not allowed with")


MEMORY_CHILD = r"""
import mmap, os, sys
n = int(sys.argv[1]) << 20
m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE)
text = open(os.__file__, "rb").read()[:4096 * 16]
for off in range(0, n, len(text)):
    m[off : off + len(text)] = text[: n - off]
print("ready", flush=True)
sys.stdin.read()
"""


def advise_peak_rss(mib: int) -> tuple[dict, int]:  # type: ignore[type-arg]
    """advise -c lz4 on a child holding ``mib`` MiB: (its JSON, its peak RSS in bytes, from wait4)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", MEMORY_CHILD, str(mib)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "ready"
        env = {k: v for k, v in os.environ.items() if k != "ACOMP_DEBUG"}
        out_r, out_w = os.pipe()
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", "acomp", "advise", "--json", "--pid", str(holder.pid), "-c", "lz4"],
            env,
            file_actions=[(os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_CLOSE, out_r)],
        )
        os.close(out_w)
        with os.fdopen(out_r, "rb") as f:
            out = f.read()
        _, status, usage = os.wait4(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    return json.loads(out), usage.ru_maxrss * 1024


def test_memory_is_bounded_while_advising_on_a_big_process() -> None:
    doc, rss = advise_peak_rss(256)
    assert doc["source"]["pages"] >= 256 * 256
    assert rss < 200 << 20, f"peak RSS {rss >> 20} MiB"


@pytest.mark.slow
def test_memory_is_bounded_on_a_1_gib_process() -> None:
    doc, rss = advise_peak_rss(1024)
    assert doc["source"]["pages"] >= 1024 * 256
    assert rss < 200 << 20, f"peak RSS {rss >> 20} MiB"
