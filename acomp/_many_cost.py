"""Measured costs that decide how a many-buffer call runs (acomp only).

For each (driver class, operation, item-size class) two EWMAs of the cost per
byte (ns; 0 = not measured yet): run inline on the calling thread, and
spread over the helper threads.  Every call feeds the figure of the way it
ran.  A call spreads when its estimated inline time is well above what
waking the helpers costs (itself measured: :attr:`HelperPool.spread_min_ns`)
and spreading measured cheaper; one call in 16 that could spread tries the other
way, so a figure cannot go stale when the load on the machine changes.
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
    "record_spread",
    "reset_costs",
    "share_items",
]

#: EWMA weight of a new measurement.
COST_WEIGHT = 0.25
#: A share runs about this long (ns): long enough to hide the hand-over, short enough to balance.
SHARE_NS = 1_000_000
#: At least this many shares per thread, so threads finish close together.
SHARES_PER_THREAD = 2


class Cost:
    """Measured ns per byte of one kind of call (a plain slotted class: updated on every call)."""

    __slots__ = ("calls", "inline", "spread")

    def __init__(self) -> None:
        self.inline = 0.0
        self.spread = 0.0
        self.calls = 0

    def __repr__(self) -> str:
        return f"Cost(inline={self.inline:.3f} ns/B, spread={self.spread:.3f} ns/B, calls={self.calls})"


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


def _ewma(old: float, x: float) -> float:
    if old == 0.0:
        return x
    # A sample counts at most twice the figure: a call the scheduler preempted (on a shared
    # machine one in a few hundred takes 10-50x as long) moves it by 25 % at most, while a
    # lower figure (the first call's cold caches gone) comes through whole.
    return old + COST_WEIGHT * (min(x, 2.0 * old) - old)


def record_inline(cost: Cost, ns: int, nbytes: int) -> None:
    cost.inline = _ewma(cost.inline, ns / max(1, nbytes))


def record_spread(cost: Cost, ns: int, nbytes: int) -> None:
    cost.spread = _ewma(cost.spread, ns / max(1, nbytes))


def min_spread_ns() -> float:
    """Estimated inline time below which a call runs inline (the pool keeps it current)."""
    return POOL.spread_min_ns


def share_items(per_item_ns: float, items: int, threads: int) -> int:
    """Items per share: about :data:`SHARE_NS` of work, and enough shares to balance ``threads``."""
    most = max(1, math.ceil(items / (SHARES_PER_THREAD * max(1, threads))))
    if per_item_ns <= 0.0:
        return most
    return max(1, min(most, math.ceil(SHARE_NS / per_item_ns)))
