"""The ``acomp`` command line (also ``python -m acomp``).

Subcommands, one module each: ``list`` (:mod:`acomp.cli.list`), ``compress`` /
``decompress`` (:mod:`acomp.cli.compress`, :mod:`acomp.cli.decompress`, format in
:mod:`acomp.cli.container`), ``bench`` (:mod:`acomp.cli.bench`; measurement in
:mod:`acomp.cli.bench_measure`, raw library calls in :mod:`acomp.cli.bench_raw`),
``zswap`` (:mod:`acomp.cli.zswap_cmd`; the workload in :mod:`acomp.cli.usemem`),
``seed`` (:mod:`acomp.cli.seed`; tables in :mod:`acomp.cli.seed_latency` and
:mod:`acomp.cli.seed_usemem`) and ``corpus`` (:mod:`acomp.cli.corpus`).  Shared
argument types and allocation: :mod:`acomp.cli.common`; tables, JSON and the
progress bar: :mod:`acomp.cli.output`.  Documentation: ``docs/cli.md``.

Every failure is one line on stderr, ``acomp: error: <what>``, and a non-zero
exit status (2 for bad usage, 1 otherwise, 130 when interrupted); never a
traceback, unless ``ACOMP_DEBUG=1`` asks for one.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

import acomp
from acomp.cli.output import CliError

__all__ = ["main"]

_DEBUG_ENV = "ACOMP_DEBUG"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (raised, so :func:`main` prints them its way)."""

    def error(self, message: str) -> NoReturn:
        prog = self.prog.split(" ", 1)[1] + ": " if " " in self.prog else ""
        raise CliError(f"{prog}{message} (see: {self.prog} --help)", code=2)


def build_parser() -> argparse.ArgumentParser:
    from acomp.cli import bench, compress, corpus, decompress, seed, zswap_cmd
    from acomp.cli import list as list_cmd

    parser = _Parser(
        prog="acomp",
        description="acomp: the Linux kernel's crypto acomp API and zswap, modelled in Python.",
        epilog="Run 'acomp COMMAND --help' for a command's options. Docs: docs/cli.md",
    )
    parser.add_argument("--version", action="version", version=f"acomp {acomp.__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and plugin warnings")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    list_cmd.add_parser(sub)
    compress.add_parser(sub)
    decompress.add_parser(sub)
    bench.add_parser(sub)
    zswap_cmd.add_parser(sub)
    seed.add_parser(sub)
    corpus.add_parser(sub)
    __import__("acomp.cli.new_plugin", fromlist=["add_parser"]).add_parser(sub)  # acomp new-plugin
    _plugin_commands(sub)
    return parser


def _plugin_commands(sub: argparse._SubParsersAction[Any]) -> None:
    """Commands plugins add through ``acomp_register_commands``; one plugin's failure costs only its own."""
    from acomp.registry import get_registry

    pm = get_registry().pm
    get_registry().plugin_names()  # load the entry points first
    for impl in pm.hook.acomp_register_commands.get_hookimpls():
        try:
            impl.function(subparsers=sub)
        except Exception as exc:
            warnings.warn(
                f"acomp: plugin {impl.plugin_name!r} failed to add its commands: {exc!r}",
                acomp.driver.AcompPluginWarning,
                stacklevel=2,
            )


def _error(message: str) -> None:
    text = " ".join(str(message).split())  # one line, whatever the message held
    print(f"acomp: error: {text}", file=sys.stderr)
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``acomp`` command line; returns the exit status."""
    debug = os.environ.get(_DEBUG_ENV, "") not in ("", "0") or "--debug" in (argv or sys.argv[1:])
    with warnings.catch_warnings():
        if not debug:
            # Plugins that fail to load say so with a warning; `acomp list` reports them.
            warnings.simplefilter("ignore", acomp.driver.AcompPluginWarning)
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            if not getattr(args, "command", None):
                parser.print_help(sys.stderr)
                return 2
            return int(args.func(args))
        except CliError as exc:
            _error(str(exc))
            return exc.code
        except SystemExit as exc:  # --help / --version
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except KeyboardInterrupt:
            _error("interrupted")
            return 130
        except BrokenPipeError:
            # The reader went away (e.g. `acomp list | head`): not an error of ours.
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            return 0
        except acomp.AcompError as exc:
            if debug:
                raise
            _error(f"{exc.errname}: {exc}")
            return 1
        except MemoryError:
            _error("out of memory")
            return 1
        except Exception as exc:
            if debug:
                raise
            _error(f"internal error: {exc!r} (run with ACOMP_DEBUG=1 for a traceback)")
            return 1
