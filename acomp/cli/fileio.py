"""Opening the CLI's input and output files: one-line errors, atomic replacement of regular files."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from typing import IO, Any

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


class _CheckedWriter(io.BufferedWriter):
    """A buffered writer whose write errors are one-line CLI errors naming the output.

    A reader that went away (``EPIPE``) stays a :class:`BrokenPipeError`:
    ``main`` treats it as the end of the output, not a failure.
    """

    def __init__(self, raw: io.FileIO, what: str) -> None:
        super().__init__(raw, buffer_size=1 << 16)
        self.what = what

    def _failed(self, exc: OSError) -> CliError:
        reason = exc.strerror or exc.__class__.__name__
        return CliError(f"cannot write {self.what}: {reason}")

    def write(self, data: Any) -> int:
        try:
            return super().write(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._failed(exc) from None

    def flush(self) -> None:
        try:
            super().flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._failed(exc) from None

    def discard(self) -> None:
        """Close without flushing what is buffered (after a failure)."""
        with contextlib.suppress(OSError, ValueError):
            self.raw.close()


@contextlib.contextmanager
def _writer(fd: int, what: str, *, closefd: bool) -> Iterator[IO[bytes]]:
    """A checked writer on ``fd``: flushed when the block ends, dropped when it fails."""
    out = _CheckedWriter(io.FileIO(fd, "wb", closefd=closefd), what)
    try:
        yield out
        out.flush()
    except BaseException:
        out.discard()
        raise
    out.close()


def _stdout() -> contextlib.AbstractContextManager[IO[bytes]]:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stdout (tests): no descriptor
        return contextlib.nullcontext(sys.stdout.buffer)
    sys.stdout.flush()
    return _writer(fd, "standard output", closefd=False)


@contextlib.contextmanager
def open_output(path: str) -> Iterator[IO[bytes]]:
    """``path`` opened for binary writing; ``-`` is standard output.

    * A regular file (or none yet) is written under a temporary name in the
      same directory and renamed over ``path`` only when the block finishes
      without an error, so a failed or interrupted run (an error, Ctrl-C,
      SIGTERM) never leaves a half-written output or a temporary file, nor
      clobbers the input when both are the same file.  An existing file keeps
      its permission bits (and, for root, its owner); a new one gets
      ``0666 & ~umask``.  Its other hard links, if any, keep the old content.
    * A symlink is followed: the file it points to is replaced, the link stays.
    * Anything else (a FIFO, a character device such as ``/dev/null``, a
      block device, a socket) is opened and written in place, never replaced.

    A write that fails (``ENOSPC``, ``EFBIG``, ``EIO``) is a one-line
    :class:`CliError` naming the output.
    """
    if path == "-":
        with _stdout() as out:
            yield out
        return
    if os.path.isdir(path):
        raise CliError(f"cannot write {path!r}: is a directory")
    try:
        st: os.stat_result | None = os.stat(path)  # through symlinks
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise CliError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:
            fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise CliError(f"cannot write {path!r}: {exc.strerror or exc}") from None
        with _writer(fd, repr(path), closefd=True) as out:
            yield out
        return
    target = os.path.realpath(path) if os.path.islink(path) else path
    directory = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(target) + ".", suffix=".tmp")
    except OSError as exc:
        raise CliError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    try:
        with _writer(fd, repr(path), closefd=True) as out:
            yield out
        _copy_identity(tmp, st)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _copy_identity(tmp: str, st: os.stat_result | None) -> None:
    """Give the new file the old one's permission bits and owner (or the umask's bits for a new one)."""
    if st is None:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        return
    if hasattr(os, "chown") and os.geteuid() == 0:
        with contextlib.suppress(OSError):
            os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, stat.S_IMODE(st.st_mode) & 0o777)  # never setuid/setgid: writing a file drops them
