"""``--pages FILE`` streams with a bound on pages kept: ``/dev/zero`` and pipes under an address-space limit."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

import pytest

from acomp import PAGE_SIZE

#: Far less than /dev/zero would fill, far more than the bounded commands need.
AS_LIMIT = 1536 << 20


def _limited(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))

    env = dict(os.environ)
    env.pop("ACOMP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "acomp", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        preexec_fn=limit,
        check=False,
    )


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_bench_dev_zero_is_bounded() -> None:
    r = _limited("bench", "--pages", "/dev/zero", "--max-pages", "300", "--drivers", "lz4", "--repeat", "1", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["corpus"]["pages"] == 300
    assert doc["corpus"]["kinds"] == {"file": 300}


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_bench_dev_zero_default_bound() -> None:
    r = _limited("bench", "--pages", "/dev/zero", "--drivers", "lz4", "--repeat", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["corpus"]["pages"] == 16384  # KEPT_MAX_PAGES, as --help says


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_zswap_dev_zero_is_bounded() -> None:
    r = _limited("zswap", "--pages", "/dev/zero", "--workers", "1", "--pages-per-worker", "64", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)["results"][0]
    assert res["verify"] == {"pages": 64, "mismatched": 0, "missing": 0}
    assert res["swap"]["swpout_zero"] == 64


def test_bench_pages_from_a_pipe() -> None:
    data = bytes(range(256)) * (PAGE_SIZE // 256) * 5 + b"tail"
    r = _limited("bench", "--pages", "-", "--drivers", "zstd", "--repeat", "1", "--json", stdin=data)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["corpus"]["pages"] == 6  # the last page zero-padded
