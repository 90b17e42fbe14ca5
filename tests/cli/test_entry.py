"""The real entry points: ``python -m acomp`` and the ``acomp`` console script."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest
from acomp_cli_helpers import run_process

import acomp


def test_python_m_acomp() -> None:
    r = run_process(["--version"])
    assert r.returncode == 0 and acomp.__version__ in r.stdout.decode()
    r = run_process(["list"])
    assert r.returncode == 0 and b"zstd-generic" in r.stdout
    assert b"Traceback" not in r.stderr


def test_help_exits_zero() -> None:
    for sub in ("list", "compress", "decompress", "bench", "zswap", "seed", "corpus"):
        r = run_process([sub, "--help"])
        assert r.returncode == 0, sub
        assert b"usage:" in r.stdout


def test_no_command_is_usage_error() -> None:
    r = run_process([])
    assert r.returncode == 2


def test_console_script() -> None:
    exe = shutil.which("acomp")
    if exe is None:
        pytest.skip("the acomp console script is not on PATH")
    r = subprocess.run([exe, "list", "--json"], capture_output=True, timeout=60, check=False)
    assert r.returncode == 0 and b'"drivers"' in r.stdout


def test_broken_pipe_is_quiet() -> None:
    r = subprocess.run(
        f"{shlex.quote(sys.executable)} -m acomp list --proc | head -1",  # this interpreter, not PATH's
        shell=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert b"Traceback" not in r.stderr
