"""Fixtures for the emulated IAA: every test starts from and leaves a fresh machine."""

from __future__ import annotations

import glob
import os
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # deflate_check, the independent reader

import acomp_iaa


def _engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "-engine" in t.name and t.name.startswith("iaa")]


@pytest.fixture(autouse=True)
def iaa_state() -> Iterator[None]:
    acomp_iaa.reset()
    yield
    assert acomp_iaa.reset(timeout=5.0), "engine threads did not stop"
    assert not _engine_threads(), "engine threads left running"


def _real_pages(limit: int = 96) -> list[bytes]:
    """4 KiB chunks of real files: stdlib sources and shared libraries."""
    files = sorted(glob.glob(os.path.join(os.path.dirname(os.__file__), "*.py")))[:40]
    files += sorted(glob.glob("/usr/lib/x86_64-linux-gnu/*.so*"))[:10]
    pages: list[bytes] = []
    for path in files:
        try:
            with open(path, "rb") as f:
                data = f.read(8 * 4096)
        except OSError:
            continue
        pages.extend(data[i : i + 4096] for i in range(0, len(data) - 4095, 4096))
        if len(pages) >= limit:
            break
    return pages[:limit]


@pytest.fixture(scope="session")
def real_pages() -> list[bytes]:
    pages = _real_pages()
    assert len(pages) >= 16
    return pages


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """``cli("seed", "--json") -> (exit status, stdout, stderr)`` through ``acomp.cli.main``."""
    from acomp.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        rc = main(list(args))
        out, err = capsys.readouterr()
        return rc, out, err

    return run
