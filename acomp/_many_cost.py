"""Measured costs that decide how a many-buffer call runs (acomp only).

For each (driver class, operation, item-size class):

* ``inline``: an EWMA of the cost per byte (ns) of running on the calling
  thread, fed by every call.  A call whose estimated inline time is below
  what waking the helpers costs (itself measured:
  :attr:`HelperPool.spread_min_ns`) runs inline.
* ``ratio``: an EWMA of log(spread cost / inline cost), measured *in one
  call*: a call big enough to spread runs its first 1/32 inline, timed, and
  the rest spread, timed.  The pair shares the machine's load of that moment,
  so a shared, noisy machine (where single timings swing 2-50x) still gives
  a fair comparison.  A call spreads while the ratio says spreading is
  cheaper; one in 8 spreads anyway, so the ratio follows the load.

Measured here, a share is best around a millisecond: a native call has a
fixed cost (zstd's ``multi_compress_to_buffer`` creates its contexts, ~15 µs).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Literal

from acomp._many_pool import POOL, HelperPool, Job

__all__ = [
    "POOL",
    "Cost",
    "HelperPool",
    "Job",
    "cost_of",
    "forced",
    "forced_mode",
    "min_spread_ns",
    "record_inline",
    "record_pair",
    "reset_costs",
    "share_items",
]

#: EWMA weight of a new measurement.
COST_WEIGHT = 0.25
#: A call spreads at least once in this many, whatever the ratio says.
EXPLORE_EVERY = 8
#: Calls that spread before the ratio may say "inline" (the first pair is often cold).
PAIRS_TO_TRUST = 3
#: The inline part of a call that may spread (the first of the pair): 1/PROBE_SHARE of its items.
PROBE_SHARE = 32
#: A share runs about this long (ns): long enough to hide the hand-over, short enough to balance.
SHARE_NS = 1_000_000
#: At least this many shares per thread, so threads finish close together.
SHARES_PER_THREAD = 2


class Cost:
    """Measured costs of one kind of call (a plain slotted class: updated on every call)."""

    __slots__ = ("calls", "inline", "ratio", "ratios", "small")

    def __init__(self) -> None:
        #: EWMA of ns per byte inline (0.0: not measured yet).
        self.inline = 0.0
        #: EWMA of log(spread ns/B / inline ns/B) from paired measurements.
        self.ratio = 0.0
        #: Paired measurements taken.
        self.ratios = 0
        #: Calls big enough to spread.
        self.calls = 0
        #: Calls too small to spread.
        self.small = 0

    def __repr__(self) -> str:
        return (
            f"Cost(inline={self.inline:.3f} ns/B, spread/inline={math.exp(self.ratio):.2f} "
            f"from {self.ratios}, calls={self.calls})"
        )

    def spread_pays(self) -> bool:
        """For a call big enough to spread: spread it?  (Counts the call.)"""
        self.calls += 1
        if self.ratios < PAIRS_TO_TRUST or self.ratio < 0.0:
            return True
        return self.calls % EXPLORE_EVERY == 0  # re-measure now and then: the load changes


_costs: dict[tuple[object, str, int], Cost] = {}

Mode = Literal["inline", "spread"]
_forced: list[Mode] = []


@contextlib.contextmanager
def forced(mode: Mode) -> Iterator[None]:
    """Run every many-buffer call ``mode`` inside the block (tests and benchmarks, not thread-local).

    ``"spread"`` posts shares to at least one helper even on one core, so the
    spread path itself is what runs.
    """
    if mode not in ("inline", "spread"):
        raise ValueError(f"mode must be 'inline' or 'spread', got {mode!r}")
    _forced.append(mode)
    try:
        yield
    finally:
        _forced.remove(mode)


def forced_mode() -> Mode | None:
    """The mode :func:`forced` set, or None (the costs decide)."""
    return _forced[-1] if _forced else None


def cost_of(key: tuple[object, str, int]) -> Cost:
    """The cost record of ``key`` (created empty on first use)."""
    cost = _costs.get(key)
    if cost is None:
        cost = _costs.setdefault(key, Cost())
    return cost


def reset_costs() -> None:
    """Forget every measurement (tests)."""
    _costs.clear()


def record_inline(cost: Cost, ns: int, nbytes: int) -> None:
    x = ns / max(1, nbytes)
    old = cost.inline
    # A sample counts at most twice the figure (a preempted call moves it 25 % at most);
    # a lower one comes through whole (the first call's cold caches are gone).
    cost.inline = x if old == 0.0 else old + COST_WEIGHT * (min(x, 2.0 * old) - old)


def record_pair(cost: Cost, inline_ns: int, inline_bytes: int, spread_ns: int, spread_bytes: int) -> None:
    """One call's paired measurement: its inline part and its spread part."""
    r = (spread_ns / max(1, spread_bytes)) / max(1e-9, inline_ns / max(1, inline_bytes))
    x = math.log(min(4.0, max(0.25, r)))  # one sample moves the figure by a bounded step
    cost.ratios += 1
    # The first pairs are averaged (the very first pays the helpers' cold contexts), then an EWMA.
    cost.ratio += max(COST_WEIGHT, 1.0 / cost.ratios) * (x - cost.ratio)


def min_spread_ns() -> float:
    """Estimated inline time below which a call runs inline (the pool keeps it current)."""
    return POOL.spread_min_ns


def share_items(per_item_ns: float, items: int, threads: int) -> int:
    """Items per share: about :data:`SHARE_NS` of work, and enough shares to balance ``threads``."""
    most = max(1, math.ceil(items / (SHARES_PER_THREAD * max(1, threads))))
    if per_item_ns <= 0.0:
        return most
    return max(1, min(most, math.ceil(SHARE_NS / per_item_ns)))
