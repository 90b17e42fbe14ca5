"""``acomp seed``: the seed's tables, reproduced where a model can, labelled where it cannot.

Added to the ``acomp`` command line by the IAA plugin (``acomp_register_commands``).
Every number printed carries its source:

* **seed** -- published in the seed (the patch series' cover letter; SPEC section 2);
* **seed-derived** -- arithmetic on seed figures only (e.g. sys time / zswpout);
* **model (fitted)** -- the emulated IAA's timing model on what it was
  calibrated on: Table 1, the latency of ``crypto_acomp_batch_compress()`` on
  a batch of 8 pages (async polling, sync and async request chaining);
* **model (predicted)** -- the model or the emulation on what it was *not*
  fitted on: the usemem30 batching saving per page (Table 2), and Table 3's
  out-of-sample predictions with their error against the seed (the batching
  saving, the gain from global compress WQs, the per-WQ balance);
* **measured here** -- timed in this run on this machine (Python, not a kernel).

The emulated driver is configured as the seed's runs were: the seed's machine
(2 packages x 56 cores, 4 IAA devices per package, 2 WQs each), ``async``
mode, ``verify_compress`` off, global compress WQs (``g_wqs_per_iaa=1``,
``g_consec_descs_per_gwq=1``).  The command resets the emulated machine when
it is done.

Table 1 is :mod:`acomp_iaa.seed.latency`, Table 2 :mod:`acomp_iaa.seed.usemem`,
Table 3 :mod:`acomp_iaa.seed.predictions`; this module is the command.  It
uses the CLI's helpers (tables, JSON, plots, the corpus, the zswap workload),
imported when it runs: it is a CLI command hosted by the plugin.
"""

from __future__ import annotations

import argparse
from typing import Any

from acomp_iaa.seed.latency import SEED_LATENCY, latency_table, plot_latency, render_latency
from acomp_iaa.seed.predictions import predictions, render_predictions, wq_balance
from acomp_iaa.seed.usemem import SEED_USEMEM30, measure, render_usemem, usemem_table

__all__ = ["SEED_LATENCY", "SEED_USEMEM30", "add_parser", "run", "seed_machine"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "seed",
        help="reproduce the seed's tables with the IAA timing model",
        description="Print the seed's batch-latency table beside the timing model's (fitted on it), the "
        "usemem30 table's shape and the model's out-of-sample predictions, every number labelled seed / "
        "seed-derived / model (fitted) / model (predicted) / measured here.",
    )
    p.add_argument(
        "--batches",
        type=_positive_int,
        default=20_000,
        help="batches of 8 the model simulates per mode (default 20000)",
    )
    p.add_argument("--seed", type=int, default=0, help="the model's RNG seed")
    p.add_argument(
        "--corpus-pages",
        type=_positive_int,
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
        type=_positive_int,
        default=1024,
        metavar="N",
        help="pages per worker in the measured run (default 1024, 2 workers)",
    )
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--plot", metavar="OUT.png", help="also save the latency table as a bar chart (needs matplotlib)")
    p.set_defaults(func=run)


def seed_machine() -> None:
    """Configure the emulated IAA as the seed's runs (unbound; the first transform binds it)."""
    import acomp_iaa

    acomp_iaa.reset()
    acomp_iaa.configure(acomp_iaa.Topology.seed_machine())
    for name, value in (
        ("sync_mode", "async"),
        ("verify_compress", False),
        ("g_wqs_per_iaa", 1),
        ("g_consec_descs_per_gwq", 1),
    ):
        acomp_iaa.set_driver_attr(name, value)


def run(args: argparse.Namespace) -> int:
    import acomp_iaa
    from acomp.cli.output import dump_json

    pages = None
    source = "the model's usemem-like pages"
    if args.corpus_pages:
        from acomp.cli.corpus import build_corpus

        corpus = build_corpus(args.corpus_pages)
        pages = list(corpus.pages)
        source = f"acomp corpus pages ({corpus.description})"
    try:
        latency = latency_table(args.batches, args.seed, pages)
        if args.plot:
            plot_latency(
                latency,
                args.plot,
                f"crypto_acomp_batch_compress() latency, batch of 8: seed vs acomp_iaa timing model (fitted) "
                f"({args.batches:,} batches, {source})",
            )
        usemem = usemem_table(args.batches, args.seed, pages)
        seed_machine()
        balance = wq_balance()
        predicted = predictions(args.batches, args.seed, pages, balance)
        seed_machine()
        measured = measure(args.measure_pages) if args.measure else None
    finally:
        acomp_iaa.reset()
    if args.json:
        dump_json(
            {
                "sources": {
                    "seed": "published in the seed (SPEC section 2)",
                    "seed_derived": "arithmetic on seed figures",
                    "model_fitted": "acomp_iaa.timing.simulate_batch_latency on Table 1, which it was calibrated on",
                    "model_predicted": "the model or the emulation on what it was not fitted on",
                    "measured_here": "timed in this run",
                },
                "machine": {
                    "topology": "2 packages x 56 cores, 4 IAA/package, 2 WQs/device",
                    "sync_mode": "async",
                    "g_wqs_per_iaa": 1,
                    "g_consec_descs_per_gwq": 1,
                },
                "latency": latency,
                "usemem30": usemem,
                "predictions": predicted,
                "wq_balance": balance,
                "measured_here": measured,
            }
        )
        return 0
    print(render_latency(latency, args.batches, source))
    print()
    print(render_usemem(usemem, measured))
    print()
    print(render_predictions(predicted))
    return 0
