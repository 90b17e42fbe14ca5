"""The built-in page corpus, and ``acomp corpus``, which shows or saves it.

4 KiB pages of real data for benchmarks, workloads and ``acomp advise``.

Built deterministically from files already on the machine, plus zero pages
and random pages, in a stated mix (:data:`DEFAULT_MIX`, by page count):

============  =====  ==========================================================
kind          share  source
============  =====  ==========================================================
``text``       40 %  the Python standard library's ``.py`` files
``shlib``      25 %  shared libraries (``*.so*``) in ``/usr/lib``, ``/usr/lib64``
                     and one directory level below them (``/usr/lib/x86_64-linux-gnu``)
``binary``     20 %  regular files in ``/usr/bin``
``zero``       10 %  all-zero pages (zswap never sees these: the swap layer's
                     zero-page bitmap takes them, but a compressor benchmark should)
``random``      5 %  incompressible pages from ``random.Random(seed).randbytes``
============  =====  ==========================================================

How pages are taken from files: the sorted list of candidate files of a kind is
shuffled with ``random.Random(seed)`` (so the same files on the same machine
give the same corpus), and from each file up to :data:`PAGES_PER_FILE` *full*
pages are read at evenly spaced, page-aligned offsets (so a big library
contributes its headers, code and data, not only its first page).  Files are
read only as far as needed; a kind with too few files is topped up by cycling
over the pages it has, and a kind with none at all (e.g. no ``/usr/bin``) is
replaced by ``text``, or, if even that is missing, by a deterministic synthetic
text.  The kinds are then interleaved by a seeded shuffle.  The pages depend
on the files installed, so two machines give different (but each stable)
corpora: :attr:`Corpus.digest` identifies one.

A user's own pages come from :mod:`acomp.cli.pages` instead (``--pages FILE``,
``--pid``, ``--core``, ``--dump``).

Corpora are cached in memory per (``n_pages``, ``seed``, ``mix``).
"""

from __future__ import annotations

import argparse
import functools
import glob
import hashlib
import os
import random
import sysconfig
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from acomp.cli.fileio import open_output
from acomp.cli.output import dump_json, fmt_num, render_table
from acomp.request import PAGE_SIZE

__all__ = [
    "DEFAULT_MIX",
    "DEFAULT_SEED",
    "PAGES_PER_FILE",
    "Corpus",
    "add_parser",
    "build_corpus",
    "run",
]

#: The default mix: (kind, share of pages); shares sum to 1.
DEFAULT_MIX: tuple[tuple[str, float], ...] = (
    ("text", 0.40),
    ("shlib", 0.25),
    ("binary", 0.20),
    ("zero", 0.10),
    ("random", 0.05),
)
DEFAULT_SEED = 0
#: Pages taken from one file at most, at evenly spaced offsets.
PAGES_PER_FILE = 4
#: A file larger than this contributes pages from its first part only.
_MAX_SPAN = 64 * 1024 * 1024
_ZERO_PAGE = bytes(PAGE_SIZE)


@attrs.define(frozen=True, slots=True)
class Corpus:
    """A list of pages and where they came from."""

    #: The pages, each exactly ``PAGE_SIZE`` bytes.
    pages: tuple[bytes, ...]
    #: The kind of each page (``text``, ``shlib``, ``binary``, ``zero``, ``random``, ``file``).
    kinds: tuple[str, ...]
    #: One line saying what this corpus is.
    description: str
    #: Files pages were read from, per kind.
    files_used: dict[str, int] = attrs.field(factory=dict)

    def __len__(self) -> int:
        return len(self.pages)

    @property
    def nbytes(self) -> int:
        return len(self.pages) * PAGE_SIZE

    @property
    def digest(self) -> str:
        """A short SHA-256 of the pages, in order (identifies the corpus)."""
        h = hashlib.sha256()
        for page in self.pages:
            h.update(page)
        return h.hexdigest()[:16]

    def counts(self) -> dict[str, int]:
        """Pages per kind."""
        return dict(Counter(self.kinds))

    def cycle(self, n: int, start: int = 0) -> Iterator[bytes]:
        """``n`` pages, cycling through the corpus from ``start``."""
        size = len(self.pages)
        for i in range(n):
            yield self.pages[(start + i) % size]


def _stdlib_files() -> list[str]:
    root = sysconfig.get_paths()["stdlib"]
    return sorted(glob.glob(os.path.join(root, "*.py")) + glob.glob(os.path.join(root, "*", "*.py")))


def _shlib_files() -> list[str]:
    found: set[str] = set()
    for base in ("/usr/lib", "/usr/lib64"):
        for pattern in ("*.so*", os.path.join("*", "*.so*")):
            found.update(glob.glob(os.path.join(base, pattern)))
    return sorted(found)


def _binary_files() -> list[str]:
    return sorted(glob.glob("/usr/bin/*"))


def _unique(paths: list[str]) -> list[str]:
    """Drop paths that resolve to a file already listed (symlinks), keeping sorted order."""
    seen: set[str] = set()
    out: list[str] = []
    for path in paths:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            out.append(path)
    return out


_SOURCES = {"text": _stdlib_files, "shlib": _shlib_files, "binary": _binary_files}


def _file_pages(path: str, limit: int) -> list[bytes]:
    """Up to ``limit`` full pages of ``path`` at evenly spaced page-aligned offsets."""
    try:
        if not os.path.isfile(path):
            return []
        size = min(os.path.getsize(path), _MAX_SPAN)
        npages = size // PAGE_SIZE
        if npages == 0:
            return []
        take = min(limit, npages)
        indexes = sorted({(k * npages) // take for k in range(take)})
        pages: list[bytes] = []
        with open(path, "rb") as f:
            for idx in indexes:
                f.seek(idx * PAGE_SIZE)
                page = f.read(PAGE_SIZE)
                if len(page) == PAGE_SIZE:
                    pages.append(page)
        return pages
    except OSError:
        return []


def _pages_from_files(kind: str, n: int, seed: int) -> tuple[list[bytes], int]:
    """``n`` pages of ``kind`` and the number of files they came from."""
    files = _unique(_SOURCES[kind]())
    random.Random(f"{seed}:{kind}").shuffle(files)
    pages: list[bytes] = []
    used = 0
    for path in files:
        if len(pages) >= n:
            break
        got = _file_pages(path, min(PAGES_PER_FILE, n - len(pages)))
        if got:
            used += 1
            pages.extend(got)
    if pages and len(pages) < n:
        pages = [pages[i % len(pages)] for i in range(n)]
    return pages, used


def _synthetic_text(n: int, seed: int) -> list[bytes]:
    """Deterministic English-like text, for machines with no files to read."""
    rng = random.Random(f"{seed}:synthetic")
    words = (
        "the page swap zswap compress folio batch request chain driver device queue "
        "kernel memory reclaim pool entry store load write back latency throughput"
    ).split()
    out: list[bytes] = []
    for _ in range(n):
        buf = bytearray()
        while len(buf) < PAGE_SIZE:
            buf += (" ".join(rng.choice(words) for _ in range(12)) + ".\n").encode()
        out.append(bytes(buf[:PAGE_SIZE]))
    return out


def _shares(n: int, mix: Sequence[tuple[str, float]]) -> list[tuple[str, int]]:
    """Split ``n`` pages by the mix's shares (largest remainder, so they sum to ``n``)."""
    total = sum(share for _, share in mix)
    if total <= 0:
        raise ValueError("corpus mix shares must sum to more than 0")
    raw = [n * share / total for _, share in mix]
    counts = [int(x) for x in raw]
    left = n - sum(counts)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - counts[i]), i))
    for i in order[:left]:
        counts[i] += 1
    return [(kind, c) for (kind, _), c in zip(mix, counts)]


def build_corpus(n_pages: int, seed: int = DEFAULT_SEED, mix: Sequence[tuple[str, float]] = DEFAULT_MIX) -> Corpus:
    """``n_pages`` pages in the given mix, deterministic for a machine and ``seed`` (cached)."""
    if n_pages < 1:
        raise ValueError(f"a corpus needs at least one page, got {n_pages}")
    for kind, share in mix:
        if kind not in (*_SOURCES, "zero", "random"):
            raise ValueError(f"unknown corpus kind {kind!r}")
        if share < 0:
            raise ValueError(f"corpus share of {kind!r} must be >= 0, got {share}")
    return _build(n_pages, seed, tuple(mix))


@functools.lru_cache(maxsize=16)
def _build(n_pages: int, seed: int, mix: tuple[tuple[str, float], ...]) -> Corpus:
    tagged: list[tuple[str, bytes]] = []
    files_used: dict[str, int] = {}
    for kind, count in _shares(n_pages, mix):
        if count == 0:
            continue
        if kind == "zero":
            tagged.extend(("zero", _ZERO_PAGE) for _ in range(count))
        elif kind == "random":
            rng = random.Random(f"{seed}:random")
            tagged.extend(("random", rng.randbytes(PAGE_SIZE)) for _ in range(count))
        else:
            pages, used = _pages_from_files(kind, count, seed)
            actual = kind
            if not pages and kind != "text":
                pages, used = _pages_from_files("text", count, seed)
                actual = "text"
            if not pages:
                pages, used, actual = _synthetic_text(count, seed), 0, "synthetic"
            files_used[actual] = files_used.get(actual, 0) + used
            tagged.extend((actual, p) for p in pages)
    random.Random(f"{seed}:order").shuffle(tagged)
    kinds = tuple(k for k, _ in tagged)
    all_pages = tuple(p for _, p in tagged)
    counts = Counter(kinds)
    mix_text = ", ".join(f"{k} {counts[k]}" for k in sorted(counts, key=lambda k: -counts[k]))
    return Corpus(
        pages=all_pages,
        kinds=kinds,
        description=f"{n_pages} pages (seed {seed}): {mix_text}",
        files_used=files_used,
    )


# -- acomp corpus ---------------------------------------------------------------------------


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "corpus",
        help="describe or save the page corpus",
        description="Build the page corpus (stdlib .py files, /usr/lib shared libraries, /usr/bin binaries, "
        "zero and random pages; see docs/cli.md) and show its mix, or save it to a file.",
    )
    p.add_argument("--pages", metavar="N|FILE", default="1000", help="pages (default 1000), or a file")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="corpus seed")
    p.add_argument("-o", "--output", metavar="OUT", help="write the pages to OUT (- for stdout)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from acomp.cli.pages import load_corpus  # the page sources build on this module

    corpus = load_corpus(args.pages, args.seed, 1000)
    if args.output:
        with open_output(args.output) as out:
            for page in corpus.pages:
                out.write(page)
        if args.output == "-":
            return 0
    kinds: dict[str, list[bytes]] = {}
    for kind, page in zip(corpus.kinds, corpus.pages):
        kinds.setdefault(kind, []).append(page)
    rows = []
    info = []
    for kind, pages in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        packed = sum(len(zlib.compress(p, 6)) for p in pages)
        ratio = len(pages) * len(pages[0]) / packed
        share = dict(DEFAULT_MIX).get(kind)
        rows.append(
            [
                kind,
                len(pages),
                "-" if share is None else f"{share * 100:.0f}%",
                corpus.files_used.get(kind, 0),
                fmt_num(ratio),
            ]
        )
        info.append({"kind": kind, "pages": len(pages), "files": corpus.files_used.get(kind, 0), "zlib6_ratio": ratio})
    if args.json:
        dump_json({"description": corpus.description, "digest": corpus.digest, "kinds": info})
    else:
        print(
            render_table(
                ["kind", "pages", "target share", "files", "zlib-6 ratio"],
                rows,
                title=f"corpus: {corpus.description} [digest {corpus.digest}]",
            )
        )
    return 0
