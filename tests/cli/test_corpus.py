"""The page corpus: deterministic, documented mix, user files; ``acomp corpus``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from acomp_cli_helpers import run_process

from acomp import PAGE_SIZE
from acomp.cli.corpus import DEFAULT_MIX, _build, build_corpus
from acomp.cli.pages import load_corpus


def test_deterministic_and_sized() -> None:
    a = build_corpus(300, seed=3)
    _build.cache_clear()
    b = build_corpus(300, seed=3)
    assert a is not b and a.pages == b.pages and a.digest == b.digest
    assert len(a) == 300 and all(len(p) == PAGE_SIZE for p in a.pages)
    assert build_corpus(300, seed=4).digest != a.digest


def test_mix() -> None:
    c = build_corpus(1000)
    counts = c.counts()
    assert counts["zero"] == 100 and counts["random"] == 50
    assert sum(counts.values()) == 1000
    assert all(p == bytes(PAGE_SIZE) for p, k in zip(c.pages, c.kinds) if k == "zero")
    shares = dict(DEFAULT_MIX)
    assert abs(sum(shares.values()) - 1.0) < 1e-9


def test_load_pages_pads(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_bytes(b"a" * (PAGE_SIZE + 10))
    c = load_corpus(str(f), 0, 1)
    assert len(c) == 2 and c.pages[1] == b"a" * 10 + bytes(PAGE_SIZE - 10)


def test_corpus_command(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rc, out, _ = cli("corpus", "--pages", "100", "--json")
    assert rc == 0
    doc = json.loads(out)
    assert {k["kind"] for k in doc["kinds"]} >= {"zero", "random"}
    dest = tmp_path / "pages.bin"
    rc, _, _ = cli("corpus", "--pages", "10", "-o", str(dest))
    assert rc == 0 and dest.stat().st_size == 10 * PAGE_SIZE


def test_corpus_command_file_and_stdout(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "mine.bin"
    f.write_bytes(b"z" * (3 * PAGE_SIZE))
    rc, out, _ = cli("corpus", "--pages", str(f), "--json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["kinds"] == [{"kind": "file", "pages": 3, "files": 1, "zlib6_ratio": doc["kinds"][0]["zlib6_ratio"]}]
    r = run_process(["corpus", "--pages", "5", "--seed", "2", "-o", "-"])
    assert r.returncode == 0 and r.stdout == b"".join(build_corpus(5, seed=2).pages)


def test_build_corpus_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one page"):
        build_corpus(0)
    with pytest.raises(ValueError, match="unknown corpus kind"):
        build_corpus(10, mix=(("text", 0.5), ("video", 0.5)))
    with pytest.raises(ValueError, match="must be >= 0"):
        build_corpus(10, mix=(("text", 1.5), ("zero", -0.5)))
    with pytest.raises(ValueError, match="sum to more than 0"):
        build_corpus(10, mix=(("zero", 0.0),))
    assert build_corpus(10, mix=(("zero", 1.0),)).counts() == {"zero": 10}
    big = tmp_path / "big"
    big.write_bytes(bytes(5 * PAGE_SIZE))
    assert len(load_corpus(str(big), 0, 1, limit=2)) == 2
