"""``acomp compress -a ALG IN -o OUT``: a file into the page-unit container.

The container format is documented in :mod:`acomp.cli.container` (and in
``docs/cli.md``).  The input is read one unit at a time (``--unit-size``,
default ``PAGE_SIZE``); transforms that batch (``batch_size`` > 1) get
``batch_size`` units per ``tfm.batch_compress`` call.  Each unit gets a
destination of ``unit - 1`` bytes, so ``-ENOSPC`` means "did not shrink": that
unit is stored as-is, as 6.18's zswap (``store_incompressible``) stores an incompressible page.
"""

from __future__ import annotations

import argparse
import errno
import sys
from collections import Counter
from typing import IO, Any

import acomp
from acomp.cli.common import add_io_arguments, alloc_tfm, int_in_range, parse_params
from acomp.cli.container import MAX_UNIT_SIZE, MIN_UNIT_SIZE, ContainerHeader, ContainerWriter, read_exact
from acomp.cli.fileio import open_input, open_output
from acomp.cli.output import CliError
from acomp.transform import Transform

__all__ = ["add_parser", "compress_stream", "run"]

#: errnos that mean "the unit did not fit in orig_len - 1 bytes".
_NO_GAIN = {errno.ENOSPC, errno.E2BIG}


def unit_size_type(text: str) -> int:
    """A unit size in ``MIN_UNIT_SIZE..MAX_UNIT_SIZE`` (argparse type)."""
    return int_in_range(
        text,
        MIN_UNIT_SIZE,
        MAX_UNIT_SIZE,
        "an integer unit size",
        f"unit size must be in {MIN_UNIT_SIZE}..{MAX_UNIT_SIZE}, got {{value}}",
    )


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "compress",
        help="compress a file into an acomp container",
        description="Compress IN into a container of independently compressed page-sized units "
        "(format: docs/cli.md). '-' reads standard input / writes standard output.",
    )
    add_io_arguments(p, "input file, or - for standard input")
    p.add_argument("-a", "--alg", required=True, help="algorithm or driver name (see: acomp list)")
    p.add_argument(
        "--unit-size",
        type=unit_size_type,
        default=acomp.PAGE_SIZE,
        help=f"bytes per unit ({MIN_UNIT_SIZE}..{MAX_UNIT_SIZE}, default {acomp.PAGE_SIZE})",
    )
    p.add_argument(
        "-p", "--param", action="append", metavar="KEY=VALUE", help="driver parameter, e.g. level=9 (repeatable)"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="print a summary on stderr")
    p.set_defaults(func=run)


def compress_stream(
    tfm: Transform, inp: IO[bytes], out: IO[bytes], unit_size: int
) -> tuple[ContainerWriter, Counter[str]]:
    """Write ``inp`` to ``out`` as a container; returns the writer and per-errno failure counts."""
    writer = ContainerWriter(out, ContainerHeader(tfm.alg_name, tfm.driver_name, unit_size))
    bs = tfm.batch_size
    # One destination per batch slot, unit_size - 1 bytes: "did not shrink" is -ENOSPC.
    dsts = [memoryview(bytearray(unit_size - 1)) for _ in range(bs)]
    failures: Counter[str] = Counter()
    eof = False
    while not eof:
        units: list[bytes] = []
        while len(units) < bs:
            data = read_exact(inp, unit_size)
            if data:
                units.append(data)
            if len(data) < unit_size:
                eof = True
                break
        if not units:
            break
        reqs = [acomp.Request(data, dst=dsts[i][: len(data) - 1]) for i, data in enumerate(units)]
        tfm.batch_compress(reqs)  # one request runs as tfm.compress; errors are recorded per request
        for data, req in zip(units, reqs):
            payload = None
            if req.err is None:
                payload = memoryview(req.dst)[: req.dlen]
            elif req.err.errno not in _NO_GAIN:
                failures[req.err.errname] += 1
            writer.write_unit(data, payload)
    writer.finish()
    return writer, failures


def run(args: argparse.Namespace) -> int:
    tfm = alloc_tfm(args.alg, parse_params(args.param))
    with tfm, open_input(args.input) as inp, open_output(args.output) as out:
        try:
            writer, failures = compress_stream(tfm, inp, out, args.unit_size)
        except BrokenPipeError:
            raise  # the reader of our output went away: main() ends quietly
        except OSError as exc:  # output errors are CliErrors already (fileio): this is the input
            raise CliError(f"cannot read {args.input!r}: {exc.strerror or exc}") from None
    if failures:
        kinds = ", ".join(f"{n} x {name}" for name, n in sorted(failures.items()))
        print(
            f"acomp: warning: {sum(failures.values())} units failed to compress ({kinds}) and were stored as-is",
            file=sys.stderr,
        )
    if args.verbose:
        ratio = writer.total_in / writer.total_out if writer.total_out else 0.0
        print(
            f"acomp: {tfm.driver_name}: {writer.total_in} -> {writer.total_out} bytes "
            f"(ratio {ratio:.2f}), {writer.units} units, {writer.stored_units} stored as-is",
            file=sys.stderr,
        )
    return 0
