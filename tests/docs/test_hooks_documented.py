"""Every plugin hook specification has a section in docs/hooks.md (and every section a hook).

A hook section is a Markdown heading whose text is exactly the hook's name
(optionally in backticks), e.g. ``## acomp_register_drivers``.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import acomp.hookspecs

HOOKS_MD = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"
_HEADING = re.compile(r"^#{1,6}\s+`?([^`\n]+?)`?\s*#*\s*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def hookspec_names() -> list[str]:
    """The functions of acomp.hookspecs marked by its HookspecMarker."""
    marker = f"{acomp.hookspecs.PROJECT}_spec"  # pluggy stores the spec options here
    return sorted(
        name
        for name, fn in inspect.getmembers(acomp.hookspecs, inspect.isfunction)
        if getattr(fn, marker, None) is not None
    )


def documented_headings(text: str) -> set[str]:
    """Heading texts of a Markdown page, ignoring fenced code blocks."""
    return {m.group(1).strip() for m in _HEADING.finditer(_FENCE.sub("", text))}


def test_hookspecs_found() -> None:
    # Guards the test itself: if pluggy's marker attribute changed, nothing would be checked.
    assert "acomp_register_drivers" in hookspec_names()


@pytest.mark.parametrize("hook", hookspec_names())
def test_hook_is_documented(hook: str) -> None:
    headings = documented_headings(HOOKS_MD.read_text(encoding="utf-8"))
    assert hook in headings, f"hook {hook!r} has no section (a heading '## {hook}') in docs/hooks.md"


def test_documented_hooks_exist() -> None:
    headings = documented_headings(HOOKS_MD.read_text(encoding="utf-8"))
    stale = sorted(h for h in headings if h.startswith("acomp_") and h not in hookspec_names())
    assert not stale, f"docs/hooks.md documents hooks that acomp.hookspecs does not define: {stale}"
