"""``acomp corpus``: show (or save) the page corpus the other commands use.

The corpus and its mix are documented in :mod:`acomp.corpus`.
"""

from __future__ import annotations

import argparse
import zlib
from typing import Any

from acomp.cli.common import load_corpus
from acomp.cli.fileio import open_output
from acomp.cli.output import dump_json, fmt_num, render_table
from acomp.corpus import DEFAULT_MIX, DEFAULT_SEED

__all__ = ["add_parser", "run"]


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
