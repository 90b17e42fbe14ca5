"""``acomp seed``: the seed's tables, reproduced where a model can, labelled where it cannot.

Every number printed carries its source:

* **seed** -- published in the seed (the patch series' cover letter; SPEC section 2);
* **seed-derived** -- arithmetic on seed figures only (e.g. sys time / zswpout);
* **model** -- computed now by the emulated IAA's timing model
  (``acomp_iaa.timing.simulate_batch_latency``), which advances a virtual
  clock from calibrated per-descriptor costs;
* **measured here** -- timed in this run on this machine (Python, not a kernel).

Table 1, the latency of ``crypto_acomp_batch_compress()`` on a batch of 8 pages
(async polling, sync request chaining, async request chaining: mean, p50,
p99), prints the seed's figure beside the model's and the difference in %.

Table 2 has the usemem30 shape (zstd, deflate-iaa without batching,
deflate-iaa with batching).  What the model cannot reproduce, it does not
pretend to: the seed's throughput, elapsed time and sys time come from a
kernel under memory pressure (reclaim, page faults, 30 processes on 112 cores),
none of which exists here.  What it can do is predict the *difference* batching
makes per page: the seed's sys time per swapped-out page drops from 34.2 to
32.5 µs (64k folios) when deflate-iaa batches; the model gives the compress
latency per page without batching (one synchronous request) and with batching
(a batch of 8 with async request chaining, divided by 8), and so its own
estimate of that saving, and of the batching sys time it implies.
``--measure`` (the default) adds a small usemem-like run through
:mod:`acomp.zswap` with each configuration, measured here.

Table 1 is :mod:`acomp.cli.seed_latency`, Table 2 :mod:`acomp.cli.seed_usemem`;
this module is the command.
"""

from __future__ import annotations

import argparse
from typing import Any

from acomp.cli.common import positive_int
from acomp.cli.output import dump_json
from acomp.cli.seed_latency import SEED_LATENCY, latency_table, plot_latency, render_latency
from acomp.cli.seed_usemem import SEED_USEMEM30, measure, render_usemem, usemem_table
from acomp.corpus import build_corpus

__all__ = ["SEED_LATENCY", "SEED_USEMEM30", "add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "seed",
        help="reproduce the seed's tables with the IAA timing model",
        description="Print the seed's batch-latency table beside the timing model's, and the usemem30 "
        "table's shape with every number labelled seed / seed-derived / model / measured here.",
    )
    p.add_argument(
        "--batches", type=positive_int, default=20_000, help="batches of 8 the model simulates per mode (default 20000)"
    )
    p.add_argument("--seed", type=int, default=0, help="the model's RNG seed")
    p.add_argument(
        "--corpus-pages",
        type=positive_int,
        metavar="N",
        help="feed the model N pages of the acomp corpus instead of its usemem-like pages",
    )
    meas = p.add_mutually_exclusive_group()
    meas.add_argument(
        "--measure",
        dest="measure",
        action="store_true",
        default=True,
        help="also run a small zswap workload per configuration (default)",
    )
    meas.add_argument("--no-measure", dest="measure", action="store_false", help="skip the measured run")
    p.add_argument(
        "--measure-pages",
        type=positive_int,
        default=1024,
        metavar="N",
        help="pages per worker in the measured run (default 1024, 2 workers)",
    )
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--plot", metavar="OUT.png", help="also save the latency table as a bar chart (needs matplotlib)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    pages = None
    source = "the model's usemem-like pages"
    if args.corpus_pages:
        corpus = build_corpus(args.corpus_pages)
        pages = list(corpus.pages)
        source = f"acomp corpus pages ({corpus.description})"
    latency = latency_table(args.batches, args.seed, pages)
    if args.plot:
        plot_latency(
            latency,
            args.plot,
            f"crypto_acomp_batch_compress() latency, batch of 8: seed vs acomp_iaa timing model "
            f"({args.batches:,} batches, {source})",
        )
    usemem = usemem_table(args.batches, args.seed, pages)
    measured = measure(args.measure_pages) if args.measure else None
    if args.json:
        dump_json(
            {
                "sources": {
                    "seed": "published in the seed (SPEC section 2)",
                    "seed_derived": "arithmetic on seed figures",
                    "model": "acomp_iaa.timing.simulate_batch_latency",
                    "measured_here": "timed in this run",
                },
                "latency": latency,
                "usemem30": usemem,
                "measured_here": measured,
            }
        )
        return 0
    print(render_latency(latency, args.batches, source))
    print()
    print(render_usemem(usemem, measured))
    return 0
