"""Nothing lost, nothing mixed up: disk faults under writeback, short writes, same-offset races,
and a swap file that is created safely and released whatever happens (issue 14, items 1-3, 13)."""

from __future__ import annotations

import errno
import gc
import os
import random
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from zswap_helpers import text_pages

import acomp
from acomp import PAGE_SIZE
from acomp.zswap import SwapDevice, Zswap

WAIT = 10.0


class FailingSwap:
    """A writeback target whose writes fail with ``code`` while ``failing``."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.failing = True
        self.pages: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def slot_lock(self, offset: int) -> threading.Lock:
        return self._lock

    def write_slot(self, offset: int, page: Any) -> None:
        if self.failing:
            raise OSError(self.code, os.strerror(self.code))
        self.pages[offset] = bytes(page)


def loaded(z: Zswap, offset: int) -> bytes | None:
    out = bytearray(PAGE_SIZE)
    return bytes(out) if z.load(offset, out) else None


# -- 1. a failed writeback keeps the page -----------------------------------------------------


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EBADF])
def test_failed_writeback_keeps_the_page_in_zswap(code: int) -> None:
    """Was: the entry left the tree before the write, so the page (and its object) were lost."""
    swap = FailingSwap(code)
    pages = text_pages(8)
    with Zswap("ztest1", swap=swap) as z:
        for i, p in enumerate(pages):
            assert z.store(i, p)
        assert z.shrink(8) == 0  # every attempt failed ...
        st = z.stats()
        assert st["reject_reclaim_fail"] > 0 and st["written_back_pages"] == 0
        assert st["stored_pages"] == 8  # ... and every page is still here
        z.verify()  # no object leaked
        assert [loaded(z, i) for i in range(8)] == pages


def test_sync_worker_keeps_disk_errors_from_the_storing_caller() -> None:
    """With shrink_async=False the store that queues the worker runs it: it must not raise."""
    swap = FailingSwap(errno.ENOSPC)
    with Zswap("ztest1", swap=swap, total_ram=200 * PAGE_SIZE, shrink_async=False) as z:
        results = [z.store(i, text_pages(1, seed=i)[0]) for i in range(2000)]  # past the limit, often
        assert not all(results) and z.stats()["reject_reclaim_fail"] > 0
        for i, ok in enumerate(results):
            if ok:
                assert loaded(z, i) == text_pages(1, seed=i)[0]
        z.verify()


def test_background_worker_survives_disk_errors_and_writes_back_once_the_disk_heals() -> None:
    swap = FailingSwap(errno.EIO)
    with Zswap("ztest1", swap=swap, total_ram=200 * PAGE_SIZE) as z:
        i = 0
        while z.stats()["reject_reclaim_fail"] == 0 and i < 20_000:
            z.store(i, text_pages(1, seed=i)[0])
            i += 1
            assert z.drain(WAIT)
        worker = z.shrinker._thread
        assert worker is not None and worker.is_alive()
        swap.failing = False
        while not swap.pages and i < 40_000:
            z.store(i, text_pages(1, seed=i)[0])
            i += 1
            assert z.drain(WAIT)
        assert swap.pages and z.shrinker._thread is worker and worker.is_alive()
        assert z.shrinker.last_error is None
        for off, page in swap.pages.items():
            assert page == text_pages(1, seed=off)[0] and off not in z.offsets()
        z.verify()


def test_swap_device_write_error_leaves_the_page_in_zswap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Zswap("ztest1") as z, SwapDevice(tmp_path / "swap", z, 64) as dev:
        pages = text_pages(4)
        assert dev.swap_out(0, b"".join(pages)) == "zswap"
        real = os.pwrite

        def full(fd: int, data: Any, pos: int) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "pwrite", full)
        assert z.shrink(8) == 0
        monkeypatch.setattr(os, "pwrite", real)
        assert dev.stats()["file_pages"] == 0 and z.stats()["stored_pages"] == 4
        out = bytearray(PAGE_SIZE)
        assert [dev.swap_in(i, out) == "zswap" and bytes(out) for i in range(4)] == pages


SMALL_DISK_SCRIPT = textwrap.dedent(
    """
    import os, sys, json
    sys.path.insert(0, {helpers!r})
    from acomp.registry import get_registry
    from zswap_helpers import PLUGIN, TestPlugin, text_pages
    get_registry().register_plugin(TestPlugin(), name=PLUGIN)
    from acomp import PAGE_SIZE, AcompError
    from acomp.zswap import SwapDevice, Zswap
    mnt = sys.argv[1]
    z = Zswap("ztest1", total_ram=400 * PAGE_SIZE, shrink_async=False)
    dev = SwapDevice(os.path.join(mnt, "swap"), z, nr_slots=4096)  # 16 MiB, sparse, on 64 KiB
    refused = set()
    for i in range(4096):
        try:
            dev.swap_out(i, text_pages(1, seed=i)[0])
        except AcompError:  # zswap and the disk full: not swapped out, the caller keeps it
            refused.add(i)
        if i % 64 == 63:
            z.shrink(32)  # writeback while the disk has room, and after it is full
    out = bytearray(PAGE_SIZE)
    lost = wrong = 0
    for i in range(4096):
        page = text_pages(1, seed=i)[0]
        where = dev.swap_in(i, out)
        if i in refused:
            wrong += where is not None  # nothing half-written may show up
            continue
        lost += where is None
        wrong += where is not None and out != page
    errors = len(refused)
    print(json.dumps({{"errors": errors, "lost": lost, "wrong": wrong,
                      "reclaim_fail": z.stats()["reject_reclaim_fail"],
                      "written_back": z.stats()["written_back_pages"]}}))
    """
)


def test_writeback_onto_a_real_full_filesystem_loses_nothing(tmp_path: Path) -> None:
    """A 64 KiB tmpfs (mounted in a private user and mount namespace) fills up mid-run."""
    unshare = shutil.which("unshare")
    if unshare is None or sys.platform != "linux":
        pytest.skip("needs util-linux unshare")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = tmp_path / "run.py"
    script.write_text(SMALL_DISK_SCRIPT.format(helpers=str(Path(__file__).parent)))
    probe = subprocess.run(
        [unshare, "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {mnt} && echo ok"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "ok" not in probe.stdout:
        pytest.skip(f"cannot mount a small tmpfs here: {probe.stderr.strip()}")
    run = subprocess.run(
        [unshare, "-rm", "sh", "-c", f'mount -t tmpfs -o size=64k tmpfs {mnt} && "{sys.executable}" {script} {mnt}'],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    import json

    res = json.loads(run.stdout.strip().splitlines()[-1])
    assert res["lost"] == 0 and res["wrong"] == 0, res
    assert res["reclaim_fail"] > 0  # the disk really filled up under writeback
    assert res["written_back"] > 0  # ... after taking some pages
    assert 0 < res["errors"] < 4096, res  # swap-outs the full disk refused, loudly


# -- 2. short writes ----------------------------------------------------------------------------


def short_pwrite(limit: int) -> Callable[[int, Any, int], int]:
    real = os.pwrite

    def pwrite(fd: int, data: Any, pos: int) -> int:
        return real(fd, memoryview(data)[:limit], pos)

    return pwrite


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was: what pwrite returned was ignored; a folio's tail came back as zeros."""
    pages = text_pages(4)
    with Zswap("ztest1", enabled=False) as z, SwapDevice(tmp_path / "swap", z, 64) as dev:
        monkeypatch.setattr(os, "pwrite", short_pwrite(1000))
        assert dev.swap_out(8, b"".join(pages)) == "file"
        z.enabled = True
        assert dev.swap_out(0, pages[0]) == "zswap"
        assert z.shrink(2) == 1  # writeback through write_slot, short writes too
        monkeypatch.undo()
        out = bytearray(PAGE_SIZE)
        assert dev.swap_in(0, out) == "file" and out == pages[0]
        for i, p in enumerate(pages):
            assert dev.swap_in(8 + i, out) == "file" and out == p


def test_a_write_that_stops_fails_the_whole_folio_with_nothing_marked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = text_pages(4)
    with Zswap("ztest1", enabled=False) as z, SwapDevice(tmp_path / "swap", z, 64) as dev:
        calls = []
        real = os.pwrite

        def stalls(fd: int, data: Any, pos: int) -> int:
            calls.append(len(memoryview(data)))
            return real(fd, memoryview(data)[:PAGE_SIZE], pos) if len(calls) == 1 else 0

        monkeypatch.setattr(os, "pwrite", stalls)
        with pytest.raises(acomp.NoSpace):
            dev.swap_out(8, b"".join(pages))
        monkeypatch.undo()
        assert dev.stats()["file_pages"] == 0 and dev.stats()["pswpout"] == 0
        assert all(dev.swap_in(8 + i, bytearray(PAGE_SIZE)) is None for i in range(4))


# -- 3. same-offset races on a bare Zswap -----------------------------------------------------


@pytest.fixture
def fast_switching() -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def tagged(offset: int, version: int) -> bytes:
    head = b"%d:%d|" % (offset, version)
    return (head * (PAGE_SIZE // len(head) + 1))[:PAGE_SIZE]


@pytest.mark.parametrize("compressor", ["lz4", "zstd"])
def test_same_offset_races_never_return_another_slots_page(compressor: str, fast_switching: None) -> None:
    """Was: load decompressed an object freed and reused meanwhile, then returned True with it."""
    slots = 4
    ops = 3000
    bad: list[str] = []
    errors: list[BaseException] = []
    with Zswap(compressor, total_ram=1 << 30, nr_cpus=2) as z:

        def storer(seed: int) -> None:
            rng = random.Random(seed)
            try:
                for v in range(ops):
                    off = rng.randrange(slots)
                    if rng.random() < 0.3:
                        z.invalidate(off)
                    else:
                        z.store(off, tagged(off, v * 4 + seed))
            except BaseException as exc:
                errors.append(exc)

        def loader(seed: int) -> None:
            rng = random.Random(seed)
            out = bytearray(PAGE_SIZE)
            try:
                for _ in range(ops):
                    off = rng.randrange(slots)
                    if z.load(off, out):
                        head = bytes(out[:20]).split(b"|", 1)[0]
                        off_s, _, ver = head.partition(b":")
                        if int(off_s) != off or out != tagged(off, int(ver)):
                            bad.append(f"slot {off} returned {head!r}")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=storer, args=(s,)) for s in (1, 2)]
        threads += [threading.Thread(target=loader, args=(s,)) for s in (3, 4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
        assert not errors, errors[0]
        assert bad == []
        z.verify()


# -- 13. the swap file -------------------------------------------------------------------------


def test_swap_file_is_created_new_0600_and_removed_on_close(tmp_path: Path) -> None:
    path = tmp_path / "swap"
    dev = SwapDevice(path, nr_slots=8)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_size == 8 * PAGE_SIZE
    dev.close()
    assert not path.exists()
    dev.close()  # twice is fine


def test_an_existing_file_is_refused_unless_reuse(tmp_path: Path) -> None:
    """Was: opened without O_EXCL and resized."""
    path = tmp_path / "data"
    path.write_bytes(b"precious" * 100)
    with pytest.raises(acomp.AcompError, match="reuse=True") as info:
        SwapDevice(path, nr_slots=8)
    assert info.value.errno == errno.EEXIST and path.read_bytes() == b"precious" * 100
    with SwapDevice(path, nr_slots=8, reuse=True) as dev:
        assert dev.swap_out(0, text_pages(1)[0]) == "file"
    assert path.exists() and path.stat().st_size == 8 * PAGE_SIZE  # reused files are kept


@pytest.mark.parametrize("reuse", [False, True])
def test_a_symlink_is_never_followed(tmp_path: Path, reuse: bool) -> None:
    """Was: a symlink to another file truncated that file."""
    target = tmp_path / "victim"
    target.write_bytes(b"x" * 10)
    link = tmp_path / "swap"
    link.symlink_to(target)
    with pytest.raises(acomp.AcompError):
        SwapDevice(link, nr_slots=8, reuse=reuse)
    assert target.read_bytes() == b"x" * 10


def test_a_dropped_device_closes_its_file(tmp_path: Path) -> None:
    path = tmp_path / "swap"
    dev = SwapDevice(path, nr_slots=8)
    fd = dev._fd
    del dev
    gc.collect()
    with pytest.raises(OSError) as info:
        os.fstat(fd)
    assert info.value.errno == errno.EBADF and not path.exists()


def test_a_dropped_zswap_ends_its_worker_and_a_closed_device_stops_writeback(tmp_path: Path) -> None:
    """Was: the worker thread kept the zswap alive and wrote to a closed fd."""
    z = Zswap("ztest1", total_ram=200 * PAGE_SIZE)
    dev = SwapDevice(tmp_path / "swap", z, 4096)
    i = 0
    while z.shrinker._thread is None and i < 20_000:
        dev.swap_out(i, text_pages(1, seed=i)[0])
        i += 1
    worker = z.shrinker._thread
    assert worker is not None and z.drain(WAIT)
    dev.close()
    assert z.swap is None  # detached: nothing writes to the closed file
    with pytest.raises(acomp.AcompError) as info:
        dev.write_slot(0, bytes(PAGE_SIZE))
    assert info.value.errno == errno.EBADF
    ref = weakref.ref(z)
    del z, dev, info
    gc.collect()
    assert ref() is None
    worker.join(WAIT)
    assert not worker.is_alive()


def test_a_truncated_file_is_an_acomp_error(tmp_path: Path) -> None:
    path = tmp_path / "swap"
    with Zswap("ztest1", enabled=False) as z, SwapDevice(path, z, 8) as dev:
        assert dev.swap_out(2, text_pages(1)[0]) == "file"
        os.truncate(path, PAGE_SIZE)
        with pytest.raises(acomp.AcompError, match="short read") as info:
            dev.swap_in(2, bytearray(PAGE_SIZE))
        assert info.value.errno == errno.EIO and not isinstance(info.value, OSError)


def test_discard_removes_freed_pages_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "swap"
    pages = text_pages(3)
    with Zswap("ztest1", enabled=False) as z, SwapDevice(path, z, 8, discard=True) as dev:
        dev.swap_out(0, b"".join(pages))
        raw = path.read_bytes()
        assert raw[: 3 * PAGE_SIZE] == b"".join(pages)
        assert dev.swap_in(0, bytearray(PAGE_SIZE)) == "file"
        dev.invalidate(1)
        raw = path.read_bytes()
        assert raw[: 2 * PAGE_SIZE] == bytes(2 * PAGE_SIZE) and raw[2 * PAGE_SIZE : 3 * PAGE_SIZE] == pages[2]
        assert dev.stats()["discarded"] == 2
    reused = tmp_path / "kept"
    reused.write_bytes(b"")
    with Zswap("ztest1", enabled=False) as z, SwapDevice(reused, z, 8, reuse=True, discard=True) as dev:
        dev.swap_out(4, pages[0])
    assert reused.read_bytes() == bytes(8 * PAGE_SIZE)  # closing discards what was left
