"""Opening the CLI's input and output files, with one-line errors and atomic replacement."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import IO

from acomp.cli.output import CliError

__all__ = ["describe_os_error", "open_input", "open_output"]


def describe_os_error(exc: OSError, path: str) -> str:
    reason = exc.strerror or exc.__class__.__name__
    return f"cannot open {path!r}: {reason}"


@contextlib.contextmanager
def open_input(path: str) -> Iterator[IO[bytes]]:
    """``path`` opened for binary reading; ``-`` is standard input."""
    if path == "-":
        yield sys.stdin.buffer
        return
    if os.path.isdir(path):
        raise CliError(f"cannot read {path!r}: is a directory")
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise CliError(describe_os_error(exc, path)) from None
    with f:
        yield f


@contextlib.contextmanager
def open_output(path: str) -> Iterator[IO[bytes]]:
    """``path`` opened for binary writing; ``-`` is standard output.

    A file is written under a temporary name in the same directory and
    renamed over ``path`` only when the block finishes without an error, so a
    failed run never leaves a half-written output (nor clobbers the input
    when both are the same file).
    """
    if path == "-":
        out = sys.stdout.buffer
        yield out
        out.flush()
        return
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CliError(f"cannot write {path!r}: is a directory")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    except OSError as exc:
        raise CliError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
