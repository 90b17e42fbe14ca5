"""The chain helpers a driver calls (kernel: ``acomp_do_req_chain`` / ``acomp_do_async_req_chain``).

In the seed's v5 a chain is walked by the driver's batch code, not by
``crypto_acomp_compress``: iaa_crypto's batch path chains its requests and
hands them to one of these two helpers.  They are generic over the item, so
a driver runs them over its own descriptors as well as over
:class:`~acomp.Request` objects.  Outcomes are kernel return codes: ``0`` or a
negative errno; ``-EINPROGRESS``/``-EBUSY`` from a submit and ``-EAGAIN`` from
a poll mean "not done yet".

* :func:`do_req_chain` — one item after another (``sync`` mode).
* :func:`do_async_req_chain` — submit every item, then poll them all
  (``async`` mode); the head's failed submit fails the whole chain.
"""

from __future__ import annotations

import errno
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["CHAIN_TIMEOUT", "do_async_req_chain", "do_req_chain"]

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
