"""Helpers for the CLI tests (imported by name: tests/cli is on sys.path under pytest's prepend mode)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence

import pytest

from acomp.cli import main

Result = tuple[int, str, str]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """``cli("list", "--json") -> (exit status, stdout, stderr)`` through ``acomp.cli.main``."""

    def run(*args: str) -> Result:
        rc = main(list(args))
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def run_process(
    args: Sequence[str], stdin: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """``python -m acomp ARGS`` as a real process (the real entry point, real stderr)."""
    env = dict(os.environ)
    env.pop("ACOMP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "acomp", *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=env,
        check=False,
    )


@pytest.fixture
def proc() -> Callable[..., subprocess.CompletedProcess[bytes]]:
    return run_process


def assert_one_line_error(rc: int, err: str, *needles: str) -> None:
    """Non-zero exit, exactly one line on stderr, ``acomp: error: ...``, no traceback."""
    assert rc != 0
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("acomp: error: "), err
    for needle in needles:
        assert needle.lower() in lines[0].lower(), (needle, err)
