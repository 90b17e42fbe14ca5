"""docs/testing.md states the kit's table and budgets; these tests keep it in step with the code."""

from __future__ import annotations

from pathlib import Path

import acomp.testing

DOC = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def _rows(first_header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header starts with ``| first_header |``."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_the_property_table_is_the_kits() -> None:
    names = [row[0].strip("`") for row in _rows("property")]
    assert names == list(acomp.testing.PROPERTIES)


def test_the_skip_column_matches_the_properties_that_can_skip() -> None:
    can_skip = {p.name for p in acomp.testing.PROPERTIES.values() if p.skips}
    documented = {row[0].strip("`") for row in _rows("property") if row[3] not in ("—", "") and "never" not in row[3]}
    assert documented == can_skip


def test_the_profile_table_is_the_kits() -> None:
    budgets = {row[0].strip("`"): int(row[1]) for row in _rows("profile")}
    assert budgets == acomp.testing.PROFILES


def test_the_options_are_the_kits() -> None:
    import inspect

    options = {row[0].split("`")[1] for row in _rows("option")}
    params = set(inspect.signature(acomp.testing.check_driver).parameters) - {"driver"}
    assert params <= options, params - options
