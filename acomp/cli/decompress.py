"""``acomp decompress IN -o OUT``: a container back into the original bytes.

The container names its algorithm (see :mod:`acomp.cli.container`); the
best driver of that algorithm decompresses it, or the one given with ``-a``
(any driver of the same wire format reads it).  Every unit's length and
CRC-32, the end marker and the whole-file CRC are checked; the output file is
only put in place when all checks pass.
"""

from __future__ import annotations

import argparse
import sys
from typing import IO, Any

import acomp
from acomp.cli.common import add_io_arguments, alloc_tfm, parse_params
from acomp.cli.container import ContainerError, ContainerReader, Unit
from acomp.cli.fileio import open_input, open_output
from acomp.cli.output import CliError
from acomp.transform import Transform

__all__ = ["add_parser", "decompress_stream", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "decompress",
        help="decompress an acomp container",
        description="Decompress an acomp container IN (made by 'acomp compress') into OUT. "
        "'-' reads standard input / writes standard output.",
    )
    add_io_arguments(p, "container file, or - for standard input")
    p.add_argument("-a", "--alg", help="decompress with this algorithm or driver instead of the container's")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE", help="driver parameter (repeatable)")
    p.add_argument("-v", "--verbose", action="store_true", help="print a summary on stderr")
    p.set_defaults(func=run)


def _decompress_group(
    tfm: Transform, reader: ContainerReader, group: list[Unit], dsts: list[memoryview], out: IO[bytes]
) -> None:
    """Decompress the packed units of ``group`` in one batch call (into ``dsts``), check and write all."""
    packed = [u for u in group if not u.stored]
    reqs = [acomp.Request(u.payload, dst=dsts[i][: u.orig_len]) for i, u in enumerate(packed)]
    tfm.batch_decompress(reqs)  # one request runs as tfm.decompress; errors are recorded per request
    results = iter(reqs)
    for unit in group:
        if unit.stored:
            data: bytes | memoryview = unit.payload
        else:
            req = next(results)
            if req.err is not None:
                raise ContainerError(
                    "corrupt",
                    f"corrupt container: unit {unit.index} does not decompress ({req.err.errname}: {req.err})",
                )
            data = memoryview(req.dst)[: req.dlen]
        reader.check_unit(unit, data)
        out.write(data)


def decompress_stream(tfm: Transform | None, reader: ContainerReader, out: IO[bytes], name: str | None) -> Transform:
    """Decompress every unit of ``reader`` to ``out``.

    Without ``tfm``, allocates ``name``, or the container's algorithm when ``name`` is None.
    """
    if tfm is None:
        tfm = _alloc_for(reader, name, {})
    bs = tfm.batch_size
    dsts = [memoryview(bytearray(reader.header.unit_size)) for _ in range(bs)]
    group: list[Unit] = []
    for unit in reader.units():
        group.append(unit)
        if len(group) >= bs:
            _decompress_group(tfm, reader, group, dsts, out)
            group = []
    if group:
        _decompress_group(tfm, reader, group, dsts, out)
    reader.verify_end()
    return tfm


def _alloc_for(reader: ContainerReader, name: str | None, params: dict[str, object]) -> Transform:
    """``name`` (``-a``), else the container's algorithm, with one-line errors."""
    if name:
        return alloc_tfm(name, params)
    header = reader.header
    try:
        return acomp.alloc(header.alg_name, **params)
    except acomp.AlgorithmNotFound:
        raise CliError(
            f"the container needs algorithm {header.alg_name!r} (written by driver "
            f"{header.driver_name!r}), which no registered driver implements"
        ) from None
    except acomp.AcompError as exc:
        raise CliError(f"cannot allocate {header.alg_name!r}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    with open_input(args.input) as inp:
        try:
            reader = ContainerReader(inp)
            tfm = _alloc_for(reader, args.alg, params)
            with tfm, open_output(args.output) as out:
                decompress_stream(tfm, reader, out, args.alg)
        except ContainerError as exc:
            raise CliError(f"{args.input}: {exc}") from None
        except BrokenPipeError:
            raise  # the reader of our output went away: main() ends quietly
        except OSError as exc:  # output errors are CliErrors already (fileio): this is the input
            raise CliError(f"cannot read {args.input!r}: {exc.strerror or exc}") from None
    if args.verbose:
        h = reader.header
        print(
            f"acomp: {args.input}: {h.alg_name} (written by {h.driver_name}), unit size {h.unit_size}, "
            f"{reader.units_read} units, decompressed by {tfm.driver_name}",
            file=sys.stderr,
        )
    return 0
