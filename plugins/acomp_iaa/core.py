"""The core iaa_crypto compress/decompress functions (kernel: that section of ``iaa_crypto_main.c``, v5).

One request's way through the driver, with the kernel's names:

* :func:`check_completion` turns a completion record into a result, once, for
  every path.  Its spin limit (``only_once=False``: the CPU spins on the
  record) gives ETIMEDOUT and disables the driver, counting nothing; the
  hardware watchdog (status 0x24) gives ETIMEDOUT, counted, and does not
  disable; the poll path (``only_once=True``) has no spin limit.
* :func:`iaa_sync_op` is ``iaa_compress`` / ``iaa_decompress`` with the CPU
  spinning: a lone request, each link of a sync chain, and every request
  without ``POLL`` (``disable_async``).  Decompress falls back to
  ``deflate_generic_decompress`` on an analytics error.
* :func:`iaa_comp_poll` reads an async request's record once (``async`` mode
  batches and ``POLL`` requests): no fallback, and ``check_completion(...,
  true, true)`` is called with ``compress`` true for both ops, as in v5.
* :func:`iaa_desc_complete` is the interrupt handler (``async_irq`` with
  ``POLL``): fallback on an analytics error; any failure is ``-EIO``.

Counters follow the kernel: calls when the descriptor is submitted, bytes when
it succeeded (decompress: a successful fallback too), no counter for a
decompress overflow or a verify mismatch.
"""

from __future__ import annotations

import errno as _errno
from typing import TYPE_CHECKING

from acomp.driver import inflate_bounded as software_inflate
from acomp.errors import AcompError, Busy, InvalidArgument, InvalidData, NoDevice, OutputOverflow, TimedOut, TooBig
from acomp_iaa import device as dv
from acomp_iaa import stats as st
from acomp_iaa.device import PENDING, SUCCESS, execute
from acomp_iaa.fixed import inflate_bounded
from acomp_iaa.stats import (
    COMP_BYTES_OUT,
    COMP_CALLS,
    DECOMP_BYTES_IN,
    DECOMP_CALLS,
    WQ_COMP_BYTES,
    WQ_COMP_CALLS,
    WQ_DECOMP_BYTES,
    WQ_DECOMP_CALLS,
)

if TYPE_CHECKING:
    from acomp.driver import Op, Result
    from acomp_iaa.device import Descriptor, IaaWq
    from acomp_iaa.stats import Counters
    from acomp_iaa.subsystem import IaaSubsystem

__all__ = [
    "IaaDisabled",
    "alloc_desc",
    "check_completion",
    "deflate_generic_decompress",
    "iaa_comp_poll",
    "iaa_compress_verify",
    "iaa_desc_complete",
    "iaa_sync_op",
]


class IaaDisabled(NoDevice):
    """``iaa_crypto_enabled`` is false (``-ENODEV``), for compress and decompress alike.

    The driver disables itself when check_completion's spin limit expires;
    :func:`acomp_iaa.enable` re-enables it (the kernel: re-binding the WQs).
    """

    errno = _errno.ENODEV


def disabled_error(op: Op) -> IaaDisabled:
    return IaaDisabled(f"iaa_crypto disabled, not {op}ing")


# -- descriptors --------------------------------------------------------------------------


def alloc_desc(sub: IaaSubsystem, c: Counters, wq: IaaWq) -> Descriptor | Busy:
    """``idxd_alloc_desc(wq, IDXD_OP_BLOCK)``: sleeps while the WQ's descriptors are all in use.

    acomp only: the sleep is bounded by ``completion_timeout_s``; then EBUSY,
    with the reason.
    """
    d = wq.alloc_desc()
    if d is not None:
        return d
    device = sub.devices[wq.device]
    d = wq.alloc_desc_wait(sub.completion_timeout_s, device.kick)
    if d is not None:
        return d
    c.g[st.DESC_ALLOC_TIMEOUTS] += 1
    return Busy(
        f"iaa{wq.device} {wq.name}: all {wq.depth} descriptors stayed in use for "
        f"{sub.completion_timeout_s:g} s (idxd_alloc_desc sleeps without bound in the kernel)"
    )


def fill(sub: IaaSubsystem, c: Counters, d: Descriptor, op: Op, src: bytes, capacity: int) -> None:
    """Set up the descriptor and count its submission (``update_total_[de]comp_calls``)."""
    wq = d.wq
    d.op = op
    d.src = src
    d.capacity = capacity
    d.status = PENDING
    faults = sub.faults
    d.fault = faults.draw(op, wq.device) if faults.active else None
    if op == "compress":
        c.g[COMP_CALLS] += 1
        c.wq[wq.stat_base + WQ_COMP_CALLS] += 1
    else:
        c.g[DECOMP_CALLS] += 1
        c.wq[wq.stat_base + WQ_DECOMP_CALLS] += 1


# -- completion ---------------------------------------------------------------------------


def check_completion(sub: IaaSubsystem, c: Counters, d: Descriptor, compress: bool, only_once: bool) -> Result | None:
    """The completion record as a result; ``None`` when ``only_once`` and it is not written yet."""
    s = d.status
    if s == SUCCESS:
        return d.output
    g = c.g
    if s == dv.PENDING:
        if only_once:
            return None
        s = dv.LOST  # an inline run always writes the record; a waiter that gave up lands here
    if s == dv.LOST:
        if only_once:
            # The kernel polls such a record forever; acomp's poll bound ends it
            # (the emulation knows it will never be written, so it does not wait the bound out).
            return TimedOut(f"iaa{d.wq.device} {d.wq.name}: no completion record (acomp's poll bound)")
        g[st.SPIN_TIMEOUTS] += 1
        sub.disable()
        return TimedOut(f"iaa {d.op} completion timed out - assuming broken hw, iaa_crypto now DISABLED")
    if s == dv.WATCHDOG_EXPIRED:
        g[st.TIMEOUT_ERRORS] += 1
        return TimedOut(f"iaa {d.op} timed out (watchdog expired)")
    if s == dv.COMP_BUF_OVERFLOW and compress:
        g[st.COMP_BUF_OVERFLOW_ERRORS] += 1
        return TooBig(f"iaa: compressed output exceeds {d.capacity} bytes, not compressing")
    if s == dv.DECOMP_BUF_OVERFLOW:
        return OutputOverflow(f"iaa: decompressed output exceeds {d.capacity} bytes")
    g[st.EINVAL_ERRORS] += 1
    if s == dv.ANALYTICS_ERROR:
        return InvalidData(f"iaa {d.op}: analytics error")
    return InvalidArgument(f"iaa {d.op}: completion reported an invalid descriptor")


def iaa_compress_verify(c: Counters, d: Descriptor) -> AcompError | None:
    """Decompress the output on the device, output suppressed, and compare CRCs.

    A mismatch is ``-EINVAL`` without ``total_completion_einval_errors``.
    """
    c.g[st.VERIFY_CALLS] += 1
    ok = d.fault != "verify_mismatch"
    if ok:
        try:
            ok = inflate_bounded(d.output, len(d.src)) == d.src
        except AcompError:
            ok = False
    if ok:
        return None
    c.g[st.VERIFY_MISMATCHES] += 1
    return InvalidArgument("iaa: (verify) iaa comp/decomp crc mismatch")


def deflate_generic_decompress(c: Counters, d: Descriptor) -> Result:
    """The software fallback (``crypto_comp_decompress`` on ``deflate-generic``).

    Its errno is returned as it is: the seed-era scomp ``deflate`` says
    ``-EINVAL`` for every failure, a too-small dst included.  Unlike the
    device it accepts bytes after the final block (as ``zlib_inflate`` does).
    """
    c.g[st.SW_DECOMP_CALLS] += 1
    try:
        return software_inflate(d.src, d.capacity)
    except AcompError as exc:
        return InvalidData(f"deflate-generic: {exc}")


def _count_success(c: Counters, d: Descriptor, out: Result) -> None:
    wq = d.wq
    if d.op == "compress":
        n = len(out)  # type: ignore[arg-type]
        c.g[st.COMP_BYTES_OUT] += n
        c.wq[wq.stat_base + st.WQ_COMP_BYTES] += n
    else:
        n = len(d.src)
        c.g[st.DECOMP_BYTES_IN] += n
        c.wq[wq.stat_base + st.WQ_DECOMP_BYTES] += n


# -- the three ways a request completes ------------------------------------------------------


def iaa_sync_op(sub: IaaSubsystem, c: Counters, d: Descriptor, verify: bool) -> Result:
    """Run a filled descriptor with the CPU spinning on its record (``disable_async``).

    The caller frees the descriptor.  Kernel: ``iaa_compress`` / ``iaa_decompress`` up to
    ``check_completion(dev, comp, compress, false)``, then the fallback or
    ``iaa_compress_verify`` of ``iaa_comp_a[de]compress``.
    """
    execute(d, sub.codec)  # the CPU spins on the record: the emulator runs the work meanwhile
    d.state = dv.DONE
    compress = d.op == "compress"
    res = check_completion(sub, c, d, compress, False)
    if isinstance(res, AcompError):
        if not compress and d.status == dv.ANALYTICS_ERROR:
            res = deflate_generic_decompress(c, d)
            if not isinstance(res, AcompError):
                _count_success(c, d, res)
    else:
        _count_success(c, d, res)  # type: ignore[arg-type]
        if compress and verify:
            bad = iaa_compress_verify(c, d)
            if bad is not None:
                res = bad
    return res  # type: ignore[return-value]


def iaa_comp_poll(sub: IaaSubsystem, c: Counters, d: Descriptor, verify: bool) -> Result | None:
    """Read an async request's completion record once; ``None`` while it is not written.

    No software fallback here (v5).  The caller frees the descriptor.
    """
    res = check_completion(sub, c, d, True, True)
    if res is None:
        return None
    if not isinstance(res, AcompError):
        wq = d.wq
        if d.op == "compress":  # _count_success, inlined on the batch path
            n = len(res)
            c.g[COMP_BYTES_OUT] += n
            c.wq[wq.stat_base + WQ_COMP_BYTES] += n
        else:
            n = len(d.src)
            c.g[DECOMP_BYTES_IN] += n
            c.wq[wq.stat_base + WQ_DECOMP_BYTES] += n
        if verify and d.op == "compress":
            bad = iaa_compress_verify(c, d)
            if bad is not None:
                res = bad
    return res


def iaa_desc_complete(sub: IaaSubsystem, c: Counters, d: Descriptor, verify: bool) -> Result:
    """The interrupt handler: the fallback on an analytics error, ``-EIO`` for any failure.

    The caller frees the descriptor.
    """
    compress = d.op == "compress"
    res = check_completion(sub, c, d, compress, False)
    if isinstance(res, AcompError):
        if not compress and d.status == dv.ANALYTICS_ERROR:
            res = deflate_generic_decompress(c, d)
        if isinstance(res, AcompError):
            return AcompError(f"iaa: asynchronous {d.op} failed ({res.errname}: {res})", errno=_errno.EIO)
    _count_success(c, d, res)  # type: ignore[arg-type]
    if compress and verify:
        bad = iaa_compress_verify(c, d)
        if bad is not None:
            return AcompError(f"iaa: asynchronous compress verify failed ({bad})", errno=_errno.EIO)
    return res  # type: ignore[return-value]
