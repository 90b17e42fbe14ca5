"""When the polling CPU hands part of an ``async`` batch to engine threads (acomp only).

The kernel's CPU never runs device work; the emulator's polling CPU runs it
(it would spin anyway) unless a second CPU pays for the thread wake-up.  That
depends on the codec releasing the GIL and on the machine having a CPU to
spare, so it is measured, not assumed: a batch is handed off only when its
estimated inline time is long (a device's share above ``min_share_s``), and
only while hand-offs measured faster than running inline.  A probe every
``PROBE_EVERY`` eligible batches re-checks a policy that stopped paying.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acomp.driver import Op
    from acomp_iaa.device import Descriptor

__all__ = ["HandoffPolicy"]

#: A policy that stopped paying tries again after this many eligible batches.
PROBE_EVERY = 64
#: One inline batch in this many is timed (timing every batch costs ~1 µs of 100).
SAMPLE_EVERY = 8


class HandoffPolicy:
    """Measured per-request costs (inline and handed off) and the decision they give."""

    def __init__(self, cpus: int | None = None) -> None:
        if cpus is None:
            cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        #: Engine threads one batch may wake: the other CPUs (the polling CPU runs the rest).
        self.max_woken = max(0, cpus - 1)
        #: A device's share of a batch worth a wake-up, in estimated inline run time (s).
        self.min_share_s = 500e-6
        #: What one request of a batch cost the polling CPU, run inline / with a hand-off (s).
        self.inline_s: dict[str, float] = {"compress": 20e-6, "decompress": 10e-6}
        self.handoff_s: dict[str, float] = {"compress": 0.0, "decompress": 0.0}
        self._eligible = 0
        self._batches = 0

    def sample(self) -> bool:
        """Whether to time this inline batch (every :data:`SAMPLE_EVERY`-th; races only skew it)."""
        self._batches += 1
        return self._batches % SAMPLE_EVERY == 1

    def plan(self, op: Op, descs: Sequence[Descriptor]) -> set[int] | None:
        """Request indices to hand to engine threads, or None (the common case)."""
        n = len(descs)
        per = self.inline_s[op]
        if self.max_woken <= 0 or n < 2 or per * n < 2 * self.min_share_s:
            return None
        self._eligible += 1
        measured = self.handoff_s[op]
        if measured and measured >= 0.9 * per and self._eligible % PROBE_EVERY:
            return None  # hand-offs did not pay lately
        groups: dict[int, list[int]] = {}
        for d in descs:
            groups.setdefault(d.wq.device, []).append(d.index)
        ranked = sorted(groups.values(), key=len, reverse=True)
        chosen: set[int] = set()
        for woken, idx in enumerate(ranked):
            if woken >= self.max_woken or per * len(idx) < self.min_share_s:
                break
            # A lone device: its engine takes half, the polling CPU the rest; else a whole share.
            chosen.update(idx[: len(idx) // 2] if len(groups) == 1 else idx)
        return chosen or None

    def observe(self, op: Op, n: int, elapsed_s: float, handed_off: bool) -> None:
        """Feed one batch's wall time (``n`` requests) into the estimates."""
        if n <= 0:
            return
        per = elapsed_s / n
        table = self.handoff_s if handed_off else self.inline_s
        old = table[op]
        if not old:
            table[op] = per
            return
        # A batch preempted on a loaded machine takes 100x longer: clamp the sample so
        # one such outlier cannot make every later batch look worth a hand-off.
        per = min(max(per, old / 4), old * 4)
        table[op] = old + 0.125 * (per - old)  # races between threads only blur it
