"""``benchmarks/bench_floors.py`` runs: every row it prints is measured, on a few pages.

Its figures are benchmarks (docs/benchmarks.md); this only keeps the script working, so the
floors quoted in the docs stay reproducible.  No time is asserted.
"""

from __future__ import annotations

import json

import pytest
from hardening_helpers import load_benchmark

from acomp.cli.corpus import build_corpus

floors = load_benchmark("bench_floors")


@pytest.fixture(scope="module")
def pages() -> list[bytes]:
    return [bytes(p) for p in build_corpus(64).pages]


def test_every_row_has_its_three_sides(pages: list[bytes]) -> None:
    rows = []
    for part in (floors._per_page_rows, floors._eight_rows, floors._iaa_rows, floors._zswap_rows):
        rows += part(pages, 1)
    paths = [r["path"] for r in rows]
    assert "zswap store + load, lz4" in paths and "lz4, a call with only 8 pages" in paths
    for r in rows:
        assert r["skeleton"] > 0 and r["ours"] > 0, r
        assert r["goal"] in (1.05, 1.10, 1.12, 1.25, 1.30, 1.45)
    text = floors.render(rows)
    assert all(p in text for p in paths)


def test_main_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert floors.main(["--pages", "48", "--repeat", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"path", "goal", "skeleton", "ours", "reference"} <= set(rows[0])
