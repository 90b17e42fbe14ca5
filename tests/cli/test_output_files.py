"""``-o PATH`` and standard output as real processes: special files, modes, symlinks, pipes, full disks, SIGTERM.

Devices are never the system's own: the tests make their twins with ``mknod``
(root only) in a temporary directory, so a regression cannot replace
``/dev/null``.
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from acomp_cli_helpers import assert_one_line_error, run_process

from acomp import PAGE_SIZE
from acomp.cli.corpus import build_corpus

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _acomp(*args: str) -> list[str]:
    return [sys.executable, "-m", "acomp", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ACOMP_DEBUG", None)
    return env


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


def test_fifo_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader exists, so the writer's open succeeds
    try:
        r = run_process(["corpus", "--pages", "3", "--seed", "1", "-o", str(fifo)])
        assert r.returncode == 0, r.stderr
        got = b""
        while chunk := os.read(reader, 1 << 16):
            got += chunk
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode), "the FIFO was replaced"
    assert got == b"".join(build_corpus(3, seed=1).pages)
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(not ROOT, reason="mknod needs root")
def test_character_device_is_written_not_replaced(tmp_path: Path) -> None:
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a twin of /dev/null
    src = tmp_path / "in.bin"
    src.write_bytes(os.urandom(3 * PAGE_SIZE))
    r = run_process(["compress", "-a", "lz4", str(src), "-o", str(null)])
    assert r.returncode == 0, r.stderr
    st = null.stat()
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(not ROOT, reason="mknod needs root")
def test_full_device_is_one_clear_line(tmp_path: Path) -> None:
    full = tmp_path / "full"
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # a twin of /dev/full: every write is ENOSPC
    src = tmp_path / "in.bin"
    src.write_bytes(os.urandom(20 * PAGE_SIZE))
    r = run_process(["compress", "-a", "lz4", str(src), "-o", str(full)])
    assert_one_line_error(r.returncode, r.stderr.decode(), "cannot write", "No space left on device")
    assert stat.S_ISCHR(full.stat().st_mode)
    with open(full, "wb") as stdout:  # standard output on a full disk, and a table printed to it
        for args in (["compress", "-a", "lz4", str(src), "-o", "-"], ["list"]):
            p = subprocess.run(_acomp(*args), stdout=stdout, stderr=subprocess.PIPE, env=_env(), timeout=60)
            assert_one_line_error(p.returncode, p.stderr.decode(), "No space left on device")


def test_file_size_limit_is_one_clear_line_and_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(os.urandom(64 * PAGE_SIZE))
    out = tmp_path / "out.acomp"

    def limit() -> None:  # a full disk for this process: writes past 16 KiB fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))

    p = subprocess.run(
        _acomp("compress", "-a", "lz4", str(src), "-o", str(out)),
        capture_output=True,
        env=_env(),
        timeout=60,
        preexec_fn=limit,
    )
    assert_one_line_error(p.returncode, p.stderr.decode(), f"cannot write '{out}'", "File too large")
    assert not out.exists() and _leftovers(tmp_path) == []


def test_existing_mode_is_kept(tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(b"secret " * 2000)
    out = tmp_path / "private.acomp"
    out.write_bytes(b"old")
    out.chmod(0o600)
    r = run_process(["compress", "-a", "zstd", str(src), "-o", str(out)])
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes() != b"old"


def test_symlink_is_followed(tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(b"data " * 3000)
    real = tmp_path / "sub" / "real.acomp"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "link.acomp"
    link.symlink_to(real)
    r = run_process(["compress", "-a", "lz4", str(src), "-o", str(link)])
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes()[:8] == b"\x89ACMP\r\n\x1a"
    back = tmp_path / "back.bin"
    assert run_process(["decompress", str(link), "-o", str(back)]).returncode == 0
    assert back.read_bytes() == src.read_bytes()
    assert _leftovers(tmp_path) == [] and _leftovers(real.parent) == []


def test_stdout_reader_going_away_exits_zero(tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(os.urandom(4 << 20))  # more than a pipe holds: the writer blocks, then gets EPIPE
    p = subprocess.Popen(
        _acomp("compress", "-a", "lz4", str(src), "-o", "-"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert p.stdout is not None and p.stderr is not None
    head = p.stdout.read(10)  # `| head -c 10`
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 0, err
    assert head[:8] == b"\x89ACMP\r\n\x1a" and err == ""


def test_sigterm_leaves_no_temporary_file(tmp_path: Path) -> None:
    out = tmp_path / "out.acomp"
    p = subprocess.Popen(
        _acomp("compress", "-a", "lz4", "-", "-o", str(out)),
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert p.stdin is not None and p.stderr is not None
    p.stdin.write(os.urandom(3 * PAGE_SIZE))
    p.stdin.flush()  # the input stays open: the run waits for more, with its temporary file made
    deadline = time.monotonic() + 60
    while not _leftovers(tmp_path) and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.01)  # waiting for a state, bounded; no assertion depends on timing
    assert _leftovers(tmp_path), "the run made no temporary file to clean up"
    p.send_signal(signal.SIGTERM)
    err = p.stderr.read().decode()
    rc = p.wait(timeout=60)
    p.stdin.close()
    assert rc == 128 + signal.SIGTERM
    assert_one_line_error(rc, err, "terminated")
    assert _leftovers(tmp_path) == [] and not out.exists()
