"""What a plugin implements: the driver (kernel: ``struct acomp_alg``).

A driver is a subclass of :class:`Driver`.  Its class attributes are its
capability record; an instance is one transform's context (kernel: the tfm
context), created by :func:`acomp.alloc` with the caller's parameters.

The one-buffer operations take the source and the destination *capacity* and
return the output bytes; the core copies them into the caller's ``dst``, so a
driver never sees (and cannot overrun) the caller's buffer.  The core also
checks the returned length against the capacity.  Errors are raised as
:class:`~acomp.errors.AcompError` subclasses; anything else is a driver bug and
is reported as :class:`~acomp.errors.DriverError` naming the driver.
"""

from __future__ import annotations

import enum
import errno
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar, Literal, TypeVar, Union

from acomp.errors import AcompError, AcompPluginWarning, InvalidArgument, NoSpace, NotSupported
from acomp.hookspecs import hookimpl
from acomp.lib import inflate_bounded
from acomp.request import BufferLike
from acomp.workers import report_unraisable

if TYPE_CHECKING:
    from acomp.request import Request

__all__ = [
    "CHAIN_TIMEOUT",
    "AcompPluginWarning",
    "BufferLike",
    "Driver",
    "Feature",
    "Op",
    "RegisterDriver",
    "Result",
    "do_async_req_chain",
    "do_req_chain",
    "hookimpl",
    "inflate_bounded",
    "register_plugin",
    "report_unraisable",
    "unregister_plugin",
]

#: What a driver's operation returns: the output bytes, or the error of this unit.
Result = Union[bytes, bytearray, memoryview, AcompError]

Op = Literal["compress", "decompress"]

#: The ``register`` callback a plugin's ``acomp_register_drivers`` hook receives
#: (kernel: ``crypto_register_acomp``): call it once per driver class.
RegisterDriver = Callable[[type["Driver"]], None]


class Feature(enum.Flag):
    """Capability flags a driver declares (kernel: ``cra_flags``)."""

    NONE = 0
    #: ``CRYPTO_ALG_REQ_CHAIN``: chains go to the driver's batch hook.
    REQ_CHAIN = enum.auto()
    #: ``CRYPTO_ALG_REQ_SEG``: segmented requests go to the driver's batch hook.
    REQ_SEG = enum.auto()
    #: ``CRYPTO_ALG_ASYNC``: the driver completes submissions asynchronously itself.
    ASYNC = enum.auto()
    #: Backed by a (possibly emulated) device with a state (bound, disabled).
    DEVICE = enum.auto()


class Driver:
    """Base class for compression drivers.

    Subclasses set the class attributes below and implement :meth:`compress`
    and :meth:`decompress`.  A driver that has a real batch path overrides
    :meth:`batch_compress` / :meth:`batch_decompress` and sets ``batch_size``;
    one that completes work on its own threads or device overrides :meth:`submit`.

    Many buffers (acomp only, :mod:`acomp.many`): a driver whose one-buffer
    operations spend their time in C without the GIL, and may run on one
    instance from several threads at once, sets ``releases_gil``; the
    many-buffer calls may then spread a call's sources over threads.  A driver
    with a native many-buffer call (one C call for many sources) overrides
    :meth:`compress_many` / :meth:`decompress_many`.
    """

    #: Algorithm name (kernel: ``cra_name``), e.g. ``"deflate"``.
    alg_name: ClassVar[str]
    #: Unique driver name (kernel: ``cra_driver_name``), e.g. ``"deflate-generic"``.
    driver_name: ClassVar[str]
    #: Among drivers of one algorithm, the highest priority is allocated by name.
    priority: ClassVar[int] = 100
    #: Requests the batch hooks take per call.  ``crypto_acomp_batch_size()`` (``tfm.batch_size``)
    #: is this value only with ``async_batching``, else 1; chains on a ``REQ_CHAIN`` driver and
    #: segments on a ``REQ_SEG`` driver reach the hooks this many at a time either way.
    batch_size: ClassVar[int] = 1
    #: ``acomp_has_async_batching()``: the batch hooks run their requests in parallel; zswap
    #: batches only then.  Needs a ``batch_compress`` hook.  (The kernel also asks for
    #: ``CRYPTO_ALG_ASYNC``; acomp lets a synchronous driver with a parallel hook claim it.)
    async_batching: ClassVar[bool] = False
    #: Capability flags.
    features: ClassVar[Feature] = Feature.NONE
    #: Streams with equal wire format are readable by each other's drivers;
    #: defaults to the algorithm name (e.g. every ``deflate`` driver emits raw deflate).
    wire_format: ClassVar[str] = ""
    #: Parameters :func:`acomp.alloc` accepts, with their defaults.
    params: ClassVar[dict[str, object]] = {}
    #: acomp only: the one-buffer operations and the many hooks release the GIL
    #: while they work and are safe to call on one instance from several threads
    #: at once, so :mod:`acomp.many` may run a call's sources on several threads.
    releases_gil: ClassVar[bool] = False

    def __init__(self, **params: object) -> None:
        unknown = set(params) - set(self.params)
        if unknown:
            raise InvalidArgument(
                f"{self.driver_name}: unknown parameter(s) {sorted(unknown)}; "
                f"accepted: {sorted(self.params) or 'none'}"
            )
        self.config: dict[str, object] = {**self.params, **params}

    def int_param(self, name: str, low: int, high: int) -> int:
        """The integer parameter ``name``, checked to lie in ``low..high`` (EINVAL otherwise)."""
        value = self.config[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidArgument(f"{self.driver_name}: {name} must be an int in {low}..{high}, got {value!r}")
        return value

    # -- one buffer ------------------------------------------------------------

    def compress(self, src: BufferLike, capacity: int) -> bytes | bytearray | memoryview:
        """Compress ``src``; raise :class:`~acomp.errors.NoSpace` if the output exceeds ``capacity``."""
        raise NotSupported(f"{self.driver_name} does not compress")

    def decompress(self, src: BufferLike, capacity: int) -> bytes | bytearray | memoryview:
        """Decompress ``src``, never producing (or allocating) more than ``capacity`` bytes.

        Corrupt or truncated input raises :class:`~acomp.errors.InvalidData`
        (or :class:`~acomp.errors.BadMessage`); output beyond ``capacity``
        raises :class:`~acomp.errors.NoSpace`.
        """
        raise NotSupported(f"{self.driver_name} does not decompress")

    def fit(self, out: bytes, capacity: int) -> bytes:
        """``out`` when it fits in ``capacity`` bytes, else :class:`~acomp.errors.NoSpace` (ENOSPC)."""
        if len(out) > capacity:
            raise NoSpace(f"{self.driver_name}: output of {len(out)} bytes exceeds dst capacity {capacity}")
        return out

    def compress_bound(self, slen: int) -> int:
        """Worst-case compressed size of ``slen`` bytes (used when ``dst`` is None)."""
        return slen + (slen >> 3) + 128

    # -- batches (kernel: acomp_alg.batch_compress / batch_decompress) ----------

    def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[Result]:
        """Compress each source; one result (bytes or error) per source, in order.

        The default is a loop over :meth:`compress`; drivers with a real batch
        path override it.  Never raise for one unit: return its error.
        """
        return [_run_one(self.compress, s, c) for s, c in zip(srcs, capacities)]

    def batch_decompress(
        self, srcs: Sequence[BufferLike], capacities: Sequence[int]
    ) -> list[Result]:
        """Decompress each source; one result per source, as :meth:`batch_compress`."""
        return [_run_one(self.decompress, s, c) for s, c in zip(srcs, capacities)]

    # -- many buffers (acomp only; no kernel counterpart) --------------------------

    def compress_many(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[Result] | None:
        """A native many-buffer path: one result per source, in order, or None for "no such path".

        :mod:`acomp.many` calls it for each share of a call it spreads over
        threads (``releases_gil`` drivers only), from several threads at once:
        one native call that holds no GIL for the whole share is what pays
        there.  A call run inline loops over :meth:`compress` instead (a
        driver-side Python loop measured no faster).  Each source is bytes or
        a flat byte view (``len(src)`` is its size in bytes).  Return the
        outputs (or each source's :class:`~acomp.errors.AcompError`) without
        starting threads of your own, or None to have the share looped over
        :meth:`compress`.  The outputs become the caller's.  Never raise for
        one source.
        """
        return None

    def decompress_many(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[Result] | None:
        """A native many-buffer decompress; as :meth:`compress_many`, bounded by each capacity."""
        return None

    # -- async (kernel: -EINPROGRESS and a completion) ---------------------------

    def submit(self, op: Op, req: Request, capacity: int, done: Callable[[Result], None]) -> bool:
        """Start ``op`` on ``req`` without blocking and call ``done(result)`` exactly once later.

        Kernel: an async ``acomp_alg.compress(req)`` returning ``-EINPROGRESS``.
        The driver reads ``req.src`` and ``req.flags`` and never writes the
        request: its result reaches the request through ``done``.  Return
        False when this request is not run asynchronously (the kernel's
        ``return 0`` after a synchronous completion): the core then runs the
        operation synchronously itself.
        """
        return False

    # -- life cycle ----------------------------------------------------------------

    @classmethod
    def device_state(cls) -> str:
        """``"live"`` for software; a device driver reports ``"bound"``, ``"disabled"``, ...

        ``"disabled"`` takes the driver out of capability queries (see :mod:`acomp.query`).
        """
        return "live"

    def available(self) -> bool:
        """False when this transform cannot take work (e.g. its device disabled itself)."""
        return type(self).device_state() != "disabled"

    def close(self) -> None:
        """Release the transform's resources (kernel: ``crypto_free_acomp``)."""


def _run_one(
    fn: Callable[[BufferLike, int], bytes | bytearray | memoryview], src: BufferLike, cap: int
) -> Result:
    try:
        return fn(src, cap)
    except AcompError as exc:
        return exc



# -- the chain helpers a driver calls (kernel: acomp_do_req_chain / acomp_do_async_req_chain) ------
#
# In the seed's v5 a chain is walked by the driver's batch code, not by
# crypto_acomp_compress(): iaa_crypto chains its requests and hands them to one
# of these.  They are generic over the item, so a driver runs them over its own
# descriptors as well as over Requests.  Outcomes are kernel return codes: 0 or a
# negative errno; -EINPROGRESS/-EBUSY from a submit and -EAGAIN from a poll mean
# "not done yet".

T = TypeVar("T")

#: acomp only: seconds ``do_async_req_chain`` polls before giving up on the items
#: still pending (``-ETIMEDOUT``).  v5 spins without a bound; a lost completion
#: must not hang a Python caller.
CHAIN_TIMEOUT = 30.0

_PENDING = (-errno.EAGAIN, -errno.EINPROGRESS, -errno.EBUSY)


def do_req_chain(items: Sequence[T], op: Callable[[T], int]) -> list[int]:
    """Run ``op(item)`` for each item in order; return each item's code (kernel: ``acomp_do_req_chain``).

    ``op`` completes its item before it returns (the sync executor); the
    kernel returns the last request's code, ``codes[-1]`` here.
    """
    return [op(item) for item in items]


def do_async_req_chain(
    items: Sequence[T],
    submit: Callable[[T], int],
    poll: Callable[[T], int],
    *,
    timeout: float | None = CHAIN_TIMEOUT,
) -> list[int]:
    """Submit every item, then poll each until it is done; return each item's code.

    Kernel (v5): ``acomp_do_async_req_chain(req, op_submit, op_poll)``.  When
    the head's submit fails, no other item is submitted: every item gets the
    head's code (``err_prop``).  A member whose submit fails keeps its own
    code and is not polled.  ``poll`` returns ``-EAGAIN`` (or
    ``-EINPROGRESS``/``-EBUSY``) while its item is in flight.

    acomp only: polling backs off from a spin to short sleeps, and items still
    pending after ``timeout`` seconds get ``-ETIMEDOUT`` (``None``: no bound).
    """
    n = len(items)
    if n == 0:
        return []
    codes = [0] * n
    head = submit(items[0])
    if head not in _PENDING and head != 0:
        return [head] * n  # err_prop: the chain fails with its head
    codes[0] = head
    for i in range(1, n):
        codes[i] = submit(items[i])
    pending = [i for i in range(n) if codes[i] in _PENDING]
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.0
    spins = 0
    while pending:
        still: list[int] = []
        for i in pending:
            code = poll(items[i])
            if code in _PENDING:
                still.append(i)
            else:
                codes[i] = code
        pending = still
        if not pending:
            break
        spins += 1
        if spins > 64:
            if deadline is not None and time.monotonic() > deadline:
                for i in pending:
                    codes[i] = -errno.ETIMEDOUT
                break
            delay = min(max(delay * 2, 1e-5), 1e-3)
            time.sleep(delay)
    return codes


def register_plugin(plugin: object, name: str | None = None) -> str | None:
    """Register a plugin object at run time (a module or an object with hookimpls)."""
    from acomp.registry import get_registry

    return get_registry().register_plugin(plugin, name)


def unregister_plugin(name: str) -> None:
    """Remove a plugin and its drivers (kernel: ``crypto_unregister_acomp`` at rmmod)."""
    from acomp.registry import get_registry

    get_registry().unregister_plugin(name)
