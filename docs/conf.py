"""Sphinx configuration for the acomp documentation.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Pages are Markdown (MyST).  The API reference comes from docstrings (autodoc).
No network is used: intersphinx is off.

Some pages are written alongside the code they describe and may not exist yet
when the docs are built (the emulated-IAA, zswap and CLI guides, the sample
plugin's README).  Nothing here names them in a static toctree or link, because
a toctree entry or link to a missing page is a warning (and a toctree glob that
matches nothing is a warning too).  Instead, ``source-read`` hooks below:

* replace the ``<!-- acomp:guides -->`` marker in ``index.md`` with a toctree
  of the guide pages that exist, plus any other page not in a toctree;
* turn a Markdown link to an optional page that does not exist into plain text.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Import the source tree (and the bundled plugins) even when not installed.
for path in (ROOT / "plugins", ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# -- project -----------------------------------------------------------------------

project = "acomp"
author = "the acomp developers"
copyright = "the acomp developers"
try:
    import acomp as _acomp

    release = _acomp.__version__
except Exception:  # the build must not depend on the package importing cleanly
    release = "0.1.0"
version = ".".join(release.split(".")[:2])

# -- general -------------------------------------------------------------------------

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]
# sphinx.ext.intersphinx stays off: CI has no network.

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"

# Our own pages: the "User guide" toctree in index.md lists exactly these.
OWN_PAGES = [
    "quickstart",
    "concepts",
    "kernel-map",
    "chaining-and-segmentation",
    "plugins",
    "hooks",
    "api",
    "benchmarks",
    "reliability",
]
# Guides written with the code they describe; listed when they exist, in this order.
GUIDE_PAGES = ["iaa", "zswap", "cli"]

exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "requirements.txt",
    # A sample plugin is a project of its own: only its README is a page.
    "examples/**/tests",
    "examples/**/src",
    "examples/**/build",
    "examples/**/*.egg-info",
]
# Any other Markdown/reST file under examples/ (changelogs, licences, ...) is
# not a page of this site either.
for _p in sorted((DOCS / "examples").glob("**/*")) if (DOCS / "examples").is_dir() else []:
    if _p.suffix in (".md", ".rst") and not (_p.name == "README.md" and _p.parent.parent == DOCS / "examples"):
        exclude_patterns.append(_p.relative_to(DOCS).as_posix())

# MyST: heading anchors so pages can link to sections (`page.md#section`).
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# autodoc: document members in source order; signatures carry the type hints.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True}  # ":members:" is given per directive in api.md
# Unresolvable Python references stay silent (the default); real warnings are not suppressed.
nitpicky = False
# One exception: MyST's "non-consecutive header level" (an H1 followed by an H3).  It only
# changes how a page nests in the sidebar, never loses content or a link, and the guide pages
# written with the code (iaa, zswap, cli, the sample plugin's README) are not ours to police
# at build time.  Our own pages are kept free of it (build with this line removed to check).
suppress_warnings = ["myst.header"]

# -- HTML ------------------------------------------------------------------------------

html_theme = "alabaster"
html_title = f"acomp {release}"
html_static_path = ["_static"] if (DOCS / "_static").is_dir() else []

# -- pages that may or may not exist yet -------------------------------------------------

_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s#]+\.md)(#[^)]*)?\)")
_ANY_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")


def _page_exists(docname: str) -> bool:
    return any((DOCS / f"{docname}{suffix}").is_file() for suffix in (".md", ".rst"))


def _excluded(rel: str) -> bool:
    from sphinx.util.matching import Matcher

    return Matcher(exclude_patterns)(rel)


def _extra_pages() -> tuple[list[str], list[str]]:
    """(guide pages that exist, any other page that no static toctree lists)."""
    guides = [name for name in GUIDE_PAGES if _page_exists(name)]
    examples = sorted(
        p.relative_to(DOCS).with_suffix("").as_posix()
        for p in (DOCS / "examples").glob("*/README.md")
        if not _excluded(p.relative_to(DOCS).as_posix())
    )
    known = {"index", *OWN_PAGES, *guides, *examples}
    others = []
    for p in sorted(DOCS.rglob("*")):
        rel = p.relative_to(DOCS).as_posix()
        if p.suffix not in (".md", ".rst") or rel.startswith("_build/") or _excluded(rel):
            continue
        docname = p.relative_to(DOCS).with_suffix("").as_posix()
        if docname not in known and not _is_orphan(p):
            others.append(docname)
    return guides + examples, others


def _is_orphan(path: Path) -> bool:
    head = path.read_text(encoding="utf-8", errors="replace")[:400]
    return bool(re.search(r"^orphan:\s*true\s*$|^:orphan:", head, re.MULTILINE))


def _toctree(caption: str, entries: list[str]) -> str:
    if not entries:
        return ""
    body = "\n".join(entries)
    return f"```{{toctree}}\n:caption: {caption}\n:maxdepth: 2\n\n{body}\n```\n"


def _on_source_read(app: object, docname: str, source: list[str]) -> None:
    text = source[0]
    if docname == "index" and "<!-- acomp:guides -->" in text:
        guides, others = _extra_pages()
        block = _toctree("Guides", guides) + "\n" + _toctree("More", others)
        text = text.replace("<!-- acomp:guides -->", block)
    if docname.startswith("examples/"):
        # A sample project's README links its own folders (``[tests](tests/)``), which work on
        # a code host but are no page here: keep the words and show the path as code.
        here = (DOCS / docname).parent

        def unlink_folder(m: re.Match[str]) -> str:
            target = m.group(2)
            if "://" in target or target.startswith(("#", "mailto:")):
                return m.group(0)
            if target.endswith("/") or (here / target).is_dir():
                return f"{m.group(1)} (`{target}`)"
            return m.group(0)

        text = _ANY_LINK.sub(unlink_folder, text)
    if docname in OWN_PAGES or docname == "index":
        here = (DOCS / docname).parent

        def unlink_missing(m: re.Match[str]) -> str:
            if "://" in m.group(2):
                return m.group(0)
            target = (here / m.group(2)).resolve()
            try:
                rel = target.relative_to(DOCS).as_posix()
            except ValueError:  # outside docs/: not a page of this site
                return m.group(0)
            if target.is_file() and not _excluded(rel):
                return m.group(0)
            return m.group(1)  # the page is not there (yet): keep the words, drop the link

        text = _MARKDOWN_LINK.sub(unlink_missing, text)
    source[0] = text


def _always_reread(app: object, env: object, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    # index and api depend on which other pages and modules exist, not only on their own
    # text: re-read them on every (incremental) build, and every page whose links may change.
    return ["index", "api", *OWN_PAGES]


def setup(app: object) -> dict[str, object]:
    app.connect("source-read", _on_source_read)  # type: ignore[attr-defined]
    app.connect("env-get-outdated", _always_reread)  # type: ignore[attr-defined]
    return {"parallel_read_safe": True, "parallel_write_safe": True}
