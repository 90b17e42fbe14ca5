"""Every test docs/reliability.md names as holding a promise exists (the page stays true)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "reliability.md").read_text()


def _named() -> list[tuple[str, str]]:
    """(file, test) for each ``path.py::test_x`` and each following ``::test_y`` of one table cell."""
    out: list[tuple[str, str]] = []
    for cell in PAGE.split("|"):
        current = ""
        for m in re.finditer(r"`(tests/[\w/]+\.py|[\w]+\.py)?(?:::(test_\w+))?`", cell):
            path, test = m.group(1), m.group(2)
            if path:
                current = path
            if test and current:
                out.append((current, test))
    return out


def _resolve(path: str) -> Path:
    if path.startswith("tests/"):
        return ROOT / path
    (found,) = list((ROOT / "tests").rglob(path))  # a bare file name is unique under tests/
    return found


def test_the_page_names_tests() -> None:
    assert len(_named()) >= 30  # guards the parser itself


def test_every_named_test_exists() -> None:
    missing = []
    for path, test in _named():
        file = _resolve(path)
        if not file.exists() or not re.search(rf"^def {test}\b", file.read_text(), re.M):
            missing.append(f"{path}::{test}")
    assert not missing, missing
