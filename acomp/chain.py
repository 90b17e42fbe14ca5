"""Request-chain executors (kernel: ``acomp_do_req_chain`` / ``acomp_do_async_req_chain``).

A chain is a head request plus the requests linked to it with
:func:`acomp.request_chain`.  Submitting the head processes every request;
each gets its own ``err`` and ``dlen``.  The executors here are generic over
the item type, so a driver can run them over its own descriptors too (the
emulated IAA driver does, as the seed's ``iaa_crypto`` does):

* :func:`do_req_chain` — sequential: run one, then the next (``sync``).
* :func:`do_async_req_chain` — submit all, then poll until all are done (``async``).
* :func:`do_batched_req_chain` — a driver that opts in (``Feature.REQ_CHAIN``)
  gets the chain in groups of its ``batch_size`` through its batch hook.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from acomp.errors import TimedOut

__all__ = ["do_async_req_chain", "do_batched_req_chain", "do_req_chain"]

T = TypeVar("T")


def do_req_chain(items: Sequence[T], run: Callable[[T], object]) -> None:
    """Run ``run(item)`` for each item in order; ``run`` records its own outcome."""
    for item in items:
        run(item)


def do_async_req_chain(
    items: Sequence[T],
    submit: Callable[[T], object],
    poll: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    on_timeout: Callable[[T], None] | None = None,
    spin: int = 64,
) -> None:
    """Submit every item, then poll until each reports done (``poll(item) -> True``).

    Polling spins briefly, then backs off with short sleeps, as a driver's
    poll loop would.  Items still not done after ``timeout`` seconds get
    ``on_timeout(item)`` (or :class:`~acomp.errors.TimedOut` is raised when none is given),
    so a lost completion can never hang the caller.
    """
    for item in items:
        submit(item)
    pending = list(items)
    deadline = time.monotonic() + timeout
    rounds = 0
    delay = 1e-5
    while pending:
        pending = [item for item in pending if not poll(item)]
        if not pending:
            return
        rounds += 1
        if rounds > spin:
            if time.monotonic() > deadline:
                if on_timeout is None:
                    raise TimedOut(f"{len(pending)} chained requests did not complete in {timeout}s")
                for item in pending:
                    on_timeout(item)
                return
            time.sleep(delay)
            delay = min(delay * 2, 1e-3)


def do_batched_req_chain(
    items: Sequence[T], batch_size: int, run_batch: Callable[[list[T]], object]
) -> None:
    """Hand the chain to a batch hook, ``batch_size`` items at a time."""
    for start in range(0, len(items), batch_size):
        run_batch(list(items[start : start + batch_size]))
