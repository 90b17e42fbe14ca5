"""The acomp exception hierarchy: every error carries the kernel errno it stands for.

The kernel reports an acomp outcome as a negative errno (``-ENOSPC`` when dst is
too small, ``-EINVAL`` for corrupt input, ...).  Here each outcome is an
:class:`AcompError` subclass whose ``errno`` attribute is that code (positive,
from the :mod:`errno` module), so callers can match on the class or on the code.
"""

from __future__ import annotations

import errno as _errno

__all__ = [
    "AcompError",
    "AcompPluginWarning",
    "AlgorithmNotFound",
    "BadMessage",
    "Busy",
    "DriverError",
    "InProgress",
    "InvalidArgument",
    "InvalidData",
    "NoDevice",
    "NoSpace",
    "NotSupported",
    "OutputOverflow",
    "TimedOut",
    "TooBig",
    "error_from_errno",
]


class AcompError(Exception):
    """Root of every error acomp raises or stores on a request (``req.err``).

    ``errno`` is the kernel error code (positive, e.g. ``errno.ENOSPC``).
    """

    errno: int = _errno.EIO

    def __init__(self, message: str = "", *, errno: int | None = None) -> None:
        if errno is not None:
            self.errno = errno
        super().__init__(message or _errno.errorcode.get(self.errno, "error"))

    @property
    def errname(self) -> str:
        """The symbolic errno name, e.g. ``"ENOSPC"``."""
        return _errno.errorcode.get(self.errno, str(self.errno))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.errname}: {self.args[0]!s})"


class AlgorithmNotFound(AcompError, LookupError):
    """No registered driver implements this algorithm or driver name (``-ENOENT``)."""

    errno = _errno.ENOENT


class InvalidArgument(AcompError, ValueError):
    """Bad arguments: wrong type, batch too large, bad parameter (``-EINVAL``)."""

    errno = _errno.EINVAL


class InvalidData(InvalidArgument):
    """Corrupt or truncated compressed input (``-EINVAL``, as the kernel's inflate says)."""


class BadMessage(AcompError):
    """A corrupt stream detected by a format check, e.g. a checksum (``-EBADMSG``)."""

    errno = _errno.EBADMSG


class NoSpace(AcompError):
    """The destination is too small for the output (``-ENOSPC``).

    zswap counts this on compress as ``reject_compress_poor``.
    """

    errno = _errno.ENOSPC


class Busy(AcompError):
    """The queue is full, or a driver attribute cannot change while bound (``-EBUSY``)."""

    errno = _errno.EBUSY


class InProgress(AcompError):
    """The request has been submitted and has not completed (``-EINPROGRESS``)."""

    errno = _errno.EINPROGRESS


class TooBig(AcompError):
    """IAA compress output overflow (``-E2BIG``)."""

    errno = _errno.E2BIG


class OutputOverflow(AcompError):
    """IAA decompress output overflow (``-EOVERFLOW``)."""

    errno = _errno.EOVERFLOW


class TimedOut(AcompError):
    """A device completion timed out (``-ETIMEDOUT``)."""

    errno = _errno.ETIMEDOUT


class NotSupported(AcompError):
    """The driver does not implement this operation (``-ENOSYS``)."""

    errno = _errno.ENOSYS


class NoDevice(AcompError):
    """The device behind a driver is gone or disabled itself (``-ENODEV``)."""

    errno = _errno.ENODEV


class DriverError(AcompError):
    """A driver broke its contract (raised a foreign exception, wrong length, ...) (``-EIO``).

    The message names the driver and the plugin that registered it.  When the
    driver returned more bytes than the dst holds, ``returned`` and ``capacity``
    say how many.
    """

    errno = _errno.EIO
    #: Bytes the driver returned, when it overran its dst.
    returned: int | None = None
    #: The dst capacity it overran.
    capacity: int | None = None


class AcompPluginWarning(UserWarning):
    """A plugin could not be imported or registered, or registered a bad driver; names the plugin."""


_BY_ERRNO: dict[int, type[AcompError]] = {
    _errno.ENOENT: AlgorithmNotFound,
    _errno.EINVAL: InvalidData,
    _errno.EBADMSG: BadMessage,
    _errno.ENOSPC: NoSpace,
    _errno.EBUSY: Busy,
    _errno.EINPROGRESS: InProgress,
    _errno.E2BIG: TooBig,
    _errno.EOVERFLOW: OutputOverflow,
    _errno.ETIMEDOUT: TimedOut,
    _errno.ENOSYS: NotSupported,
    _errno.EIO: DriverError,
    _errno.ENODEV: NoDevice,
}


def error_from_errno(code: int, message: str = "") -> AcompError:
    """Build the :class:`AcompError` subclass that stands for ``code`` (sign ignored)."""
    code = abs(code)
    cls = _BY_ERRNO.get(code, AcompError)
    return cls(message, errno=code)
