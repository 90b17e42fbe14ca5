"""The request (kernel: ``struct acomp_req``) and its flags.

A request carries one source buffer and one destination buffer.  ``dst`` is a
writable buffer whose length is the capacity, or ``None``: then the transform
allocates the output, bounded by ``dlen`` when it is non-zero, else by
:data:`DST_MAX` for decompression and by the driver's worst-case bound for
compression.  On completion ``dlen`` holds the bytes written and ``err`` is
``None`` or the :class:`~acomp.errors.AcompError` of this request alone.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import Any, Union

import attrs

from acomp.errors import AcompError, InProgress, InvalidArgument
from acomp.workers import report_unraisable

#: What a request accepts as ``src``: any object exposing the buffer protocol
#: (typed as the common ones; ``collections.abc.Buffer`` needs Python 3.12).
BufferLike = Union[bytes, bytearray, memoryview]

__all__ = [
    "DST_MAX",
    "MAX_CHAIN_LEN",
    "MAX_SRC_SIZE",
    "MAX_UNITS",
    "PAGE_SIZE",
    "Request",
    "RequestFlags",
    "byte_view",
    "reqchain_init",
    "request_chain",
]

#: The page size of the kernel we model (zswap's unit).
PAGE_SIZE = 4096

#: Largest source a request (or a segmented request, all units together) may carry;
#: bigger is EINVAL.  Bounds every allocation a request can cause.
MAX_SRC_SIZE = 64 * 1024 * 1024

#: Most requests one chain may hold (longer chains are EINVAL): bounds the book keeping.
MAX_CHAIN_LEN = 4096

#: Most units one segmented request may carry (bounds the per-request lists).
MAX_UNITS = 4096

#: Upper bound on an output the transform allocates for ``dst=None`` when the
#: request gives no ``dlen`` (kernel: ``CRYPTO_ACOMP_DST_MAX``, 128 KiB).
DST_MAX = 128 * 1024


class RequestFlags(enum.IntFlag):
    """Request flags, with the kernel's values."""

    #: ``CRYPTO_ACOMP_REQ_POLL`` (0x2 in the seed's v5, where ``CRYPTO_ACOMP_ALLOC_OUTPUT``
    #: is 0x1): the request completes by polling, not by its callback.
    POLL = 0x00000002
    #: ``CRYPTO_TFM_REQ_MAY_BACKLOG``: a full queue backlogs the request (EBUSY) instead of failing.
    MAY_BACKLOG = 0x00000400


def byte_view(obj: object, name: str, *, writable: bool = False) -> memoryview:
    """``obj`` as a flat byte view (its ``len`` is its size in bytes); ``InvalidArgument`` naming ``name``.

    Any C-contiguous buffer is accepted: a typed or multi-dimensional view is
    cast to bytes; a strided one, a non-buffer, or (``writable``) a read-only
    one is refused, saying which.
    """
    try:
        mv = memoryview(obj)  # type: ignore[arg-type]
    except TypeError:
        what = "a writable buffer" if writable else "a bytes-like object"
        raise InvalidArgument(f"{name} must be {what}, got {type(obj).__name__}") from None
    if not mv.c_contiguous:
        raise InvalidArgument(f"{name} must be a C-contiguous buffer (got a strided view)")
    if writable and mv.readonly:
        raise InvalidArgument(f"{name} must be a writable buffer, got a read-only {type(obj).__name__}")
    return mv if mv.ndim == 1 and mv.format == "B" else mv.cast("B")


# Request life cycle; kept as plain ints on the hot path.
IDLE, PENDING, DONE = 0, 1, 2


@attrs.define(slots=True, eq=False, init=False)
class Request:
    """One compression or decompression request (kernel: ``struct acomp_req``).

    ``eq=False``: a request is an identity (it may sit in a chain, a set or a
    queue), never compared by value.  ``__init__`` is written out: attrs'
    generated one looks up the private fields' defaults per call, which
    measured 100 ns of a 6.8 µs lz4 page (one request per page is the norm).
    """

    #: Input bytes (any object supporting the buffer protocol).
    src: BufferLike
    #: Writable destination (its length is the capacity) or ``None`` (allocated).
    dst: Any = None
    #: :class:`RequestFlags` bits.
    flags: int = 0
    #: Called exactly once with the request when an async submission completes.
    callback: Callable[[Request], None] | None = None
    #: Caller's cookie for the callback (kernel: ``req->base.data``).
    data: Any = None
    #: In: capacity bound when ``dst`` is None (0 = default); out: bytes written.
    dlen: int = 0
    #: ``None`` or the error of this request alone.
    err: AcompError | None = None
    #: Segmentation: when non-zero, ``src`` is split into units of this size and
    #: ``seg_dlens`` gets one entry per unit (length, or ``-errno``).
    unit_size: int = 0
    #: Segmentation results (one per unit): compressed length, or a negative errno.
    seg_dlens: list[int] | None = attrs.field(default=None, repr=False)

    _chain: list[Request] | None = attrs.field(default=None, init=False, repr=False)
    #: IDLE (never submitted), PENDING (in flight) or DONE.
    _state: int = attrs.field(default=IDLE, init=False, repr=False)
    _event: threading.Event | None = attrs.field(default=None, init=False, repr=False)
    #: The core's own completion hook (an asyncio awaiter), run after the caller's callback.
    _notify: Callable[[Request], None] | None = attrs.field(default=None, init=False, repr=False)

    def __init__(
        self,
        src: BufferLike,
        dst: Any = None,
        flags: int = 0,
        callback: Callable[[Request], None] | None = None,
        data: Any = None,
        dlen: int = 0,
        err: AcompError | None = None,
        unit_size: int = 0,
        seg_dlens: list[int] | None = None,
    ) -> None:
        self.src = src
        self.dst = dst
        self.flags = flags
        self.callback = callback
        self.data = data
        self.dlen = dlen
        self.err = err
        self.unit_size = unit_size
        self.seg_dlens = seg_dlens
        self._chain = None
        self._state = IDLE
        self._event = None
        self._notify = None

    # -- results -----------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the request has completed (sync or async)."""
        return self._state == DONE

    def output(self) -> bytes:
        """The ``dlen`` bytes written to ``dst``; raises ``err`` if the request failed."""
        if self.err is not None:
            raise self.err
        if self.dst is None:
            return b""
        return bytes(memoryview(self.dst)[: self.dlen])

    def wait(self, timeout: float | None = None) -> bool:
        """Block until an async submission completes; False on timeout."""
        if self._state != PENDING:
            return True
        event = self._event
        if event is None:
            event = threading.Event()
            self._event = event
        # Re-check after publishing the event: the completer sets DONE first,
        # then reads _event, so one of the two sides always sees the other.
        if self._state != PENDING:
            return True
        return event.wait(timeout)

    # -- chain -------------------------------------------------------------------

    @property
    def chain(self) -> tuple[Request, ...]:
        """The requests chained behind this head (not including the head)."""
        return tuple(self._chain) if self._chain else ()

    def requests(self) -> list[Request]:
        """The head followed by every chained request, in submission order."""
        return [self, *self._chain] if self._chain else [self]

    # -- completion (the core's; drivers complete through their done() callback) ------

    def _begin(self) -> None:
        self._state = PENDING
        self.err = None

    def _finish(self, *, callback: bool) -> None:
        """Mark done: the callback (unless POLL; kernel: ``acomp_request_complete``), then waiters.

        Never raises: it runs on a driver's or a worker's thread, which must
        not die of a caller's callback (anything it raises is reported through
        :data:`sys.unraisablehook`).
        """
        cb = self.callback if callback and not self.flags & RequestFlags.POLL else None
        if cb is not None:
            try:
                cb(self)
            except BaseException as exc:
                report_unraisable(f"acomp: completion callback {cb!r} raised; ignored", exc, self)
        # DONE only after the callback: whoever waits or polls sees it finished.
        self._state = DONE
        event = self._event
        if event is not None:
            event.set()
        notify = self._notify
        if notify is not None:
            self._notify = None
            try:
                notify(self)
            except BaseException as exc:
                report_unraisable("acomp: an awaiter's completion hook raised; ignored", exc, self)


#: The marker a chained request carries until processed (kernel: err = -EINPROGRESS).
#: One shared instance: it is never raised, and building one per request costs
#: more than the chaining itself.
CHAIN_IN_PROGRESS = InProgress("chained request not yet processed")


def reqchain_init(req: Request) -> Request:
    """Reset ``req``'s chain and mark it in progress (kernel: ``acomp_reqchain_init``)."""
    req._chain = []
    req.err = CHAIN_IN_PROGRESS
    return req


def request_chain(req: Request, head: Request) -> None:
    """Append ``req`` to the chain headed by ``head`` (kernel: ``acomp_request_chain``).

    Submitting ``head`` then processes every request of the chain; each gets
    its own ``err`` and ``dlen``.
    """
    if req is head:
        from acomp.errors import InvalidArgument

        raise InvalidArgument("a request cannot be chained to itself")
    if head._chain is None:
        head._chain = []
    if req._chain:
        from acomp.errors import InvalidArgument

        raise InvalidArgument("cannot chain a request that heads a chain of its own")
    if len(head._chain) + 1 >= MAX_CHAIN_LEN:
        from acomp.errors import InvalidArgument

        raise InvalidArgument(f"a chain holds at most {MAX_CHAIN_LEN} requests")
    req.err = CHAIN_IN_PROGRESS
    head._chain.append(req)
