"""The ``acomp`` command line (also ``python -m acomp``).

Subcommands, one module each: ``list`` (:mod:`acomp.cli.list`), ``compress`` /
``decompress`` (:mod:`acomp.cli.compress`, :mod:`acomp.cli.decompress`; their
format in :mod:`acomp.cli.container`), ``bench`` (:mod:`acomp.cli.bench`),
``zswap`` (:mod:`acomp.cli.zswap`; the usemem-like workload it shares with
``seed`` in :mod:`acomp.cli.usemem`), ``advise`` (:mod:`acomp.cli.advise`) and
``corpus`` (:mod:`acomp.cli.corpus`, with the corpus itself) and ``new-plugin``
(:mod:`acomp.cli.new_plugin`, a plugin package skeleton).  Plugins add
commands through the ``acomp_register_commands`` hook: ``seed`` comes with the
IAA plugin (``plugins/acomp_iaa/seed``).
Shared by several commands: the page sources (:mod:`acomp.cli.pages`), the raw
library calls (:mod:`acomp.cli.bench_raw`), argument types
(:mod:`acomp.cli.common`), files (:mod:`acomp.cli.fileio`) and tables, JSON and
progress bars (:mod:`acomp.cli.output`).  Documentation: ``docs/cli.md``.

Every failure is one line on stderr, ``acomp: error: <what>``, and a non-zero
exit status (2 for bad usage, 1 otherwise, 130 when interrupted by Ctrl-C, 143
by SIGTERM: both unwind, so no temporary file stays behind); never a
traceback, unless ``ACOMP_DEBUG=1`` asks for one.  A reader that goes away
(``acomp ... -o - | head``) ends the run quietly with status 0.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

import acomp
from acomp.cli.output import CliError

__all__ = ["main"]

_DEBUG_ENV = "ACOMP_DEBUG"
#: Errors only a write can get: the disk is full, a quota or a file size limit is reached.
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every ``finally`` and ``with`` block unwinds."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While ``main`` runs: SIGTERM raises :class:`_Terminated` (only from the main thread, only over SIG_DFL)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not (
        signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (raised, so :func:`main` prints them its way)."""

    def error(self, message: str) -> NoReturn:
        prog = self.prog.split(" ", 1)[1] + ": " if " " in self.prog else ""
        raise CliError(f"{prog}{message} (see: {self.prog} --help)", code=2)


def build_parser() -> argparse.ArgumentParser:
    from acomp.cli import advise, bench, compress, corpus, decompress, new_plugin, zswap
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
    zswap.add_parser(sub)
    advise.add_parser(sub)
    corpus.add_parser(sub)
    new_plugin.add_parser(sub)
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


def _flush_stdout() -> None:
    """Flush what the command printed, so a full disk is an error here, not at interpreter exit."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise CliError(f"cannot write standard output: {exc.strerror or exc}") from None


def _error(message: str) -> None:
    text = " ".join(str(message).split())  # one line, whatever the message held
    print(f"acomp: error: {text}", file=sys.stderr)
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``acomp`` command line; returns the exit status."""
    debug = os.environ.get(_DEBUG_ENV, "") not in ("", "0") or "--debug" in (argv or sys.argv[1:])
    with warnings.catch_warnings(), _sigterm_unwinds():
        if not debug:
            # Plugins that fail to load say so with a warning; `acomp list` reports them.
            warnings.simplefilter("ignore", acomp.driver.AcompPluginWarning)
        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            if not getattr(args, "command", None):
                parser.print_help(sys.stderr)
                return 2
            status = int(args.func(args))
            _flush_stdout()
            return status
        except CliError as exc:
            _error(str(exc))
            return exc.code
        except SystemExit as exc:  # --help / --version
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except KeyboardInterrupt:
            _error("interrupted")
            return 130
        except _Terminated:
            _error("terminated")
            return 128 + signal.SIGTERM
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
            if isinstance(exc, OSError) and exc.errno in _FULL:
                # A write of the command's own output (stdout, a plot) hit a full disk or a size limit.
                _error(f"cannot write the output: {exc.strerror or exc}")
            else:
                _error(f"internal error: {exc!r} (run with ACOMP_DEBUG=1 for a traceback)")
            return 1
