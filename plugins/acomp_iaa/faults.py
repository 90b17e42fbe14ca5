"""Fault injection: make descriptors complete with the errors real hardware reports.

Two ways to inject, both decided when a descriptor is *submitted* (so the
outcome does not depend on which engine thread runs it):

* a rate per fault kind, drawn from a seeded RNG for every eligible descriptor;
* "the next N descriptors on device D fail with X" (``device=None``: any device).

Kinds and what the caller sees (docs/iaa.md has the table):

``timeout``           the completion record is never written.  Where the CPU spins on
                      it (``sync`` mode, a lone request, ``async_irq``) check_completion's
                      spin limit ends it: ETIMEDOUT, and the driver disables itself; nothing
                      is counted.  The ``async`` poll path has no spin limit: ETIMEDOUT from
                      acomp's poll bound (acomp only), the driver stays enabled
``watchdog``          the device's watchdog expired (status 0x24): ETIMEDOUT, counted in
                      ``total_completion_timeout_errors``, the driver stays enabled
``comp_buf_overflow`` output buffer overflow: E2BIG on compress, EOVERFLOW on decompress
``analytics_error``   decompress only: the sync and irq paths fall back to software
                      inflate; the async poll path reports EINVAL
``verify_mismatch``   compress only: the verify step disagrees; EINVAL when
                      verify_compress is on, no effect otherwise
``einval``            the completion record reports an invalid descriptor; EINVAL
"""

from __future__ import annotations

import random
import threading
from collections import deque
from typing import Literal, get_args

import attrs

__all__ = ["FAULT_KINDS", "FaultInjector", "FaultKind"]

FaultKind = Literal["timeout", "watchdog", "comp_buf_overflow", "analytics_error", "verify_mismatch", "einval"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

_ONLY_OP: dict[str, str] = {"analytics_error": "decompress", "verify_mismatch": "compress"}


def _check_kind(kind: str) -> FaultKind:
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
    return kind  # type: ignore[return-value]


@attrs.define(slots=True)
class _Pending:
    kind: FaultKind
    device: int | None
    remaining: int


class FaultInjector:
    """Thread-safe source of injected faults."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rates: dict[FaultKind, float] = {}
        self._pending: deque[_Pending] = deque()
        #: How many descriptors each kind was injected into.
        self.injected: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self.active = False

    def seed(self, seed: int) -> None:
        with self._lock:
            self._rng.seed(seed)

    def set_rate(self, kind: str, rate: float) -> None:
        k = _check_kind(kind)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {rate}")
        with self._lock:
            if rate:
                self._rates[k] = rate
            else:
                self._rates.pop(k, None)
            self.active = bool(self._rates or self._pending)

    def inject(self, kind: str, count: int = 1, device: int | None = None) -> None:
        """The next ``count`` eligible descriptors (on ``device``, or anywhere) fail with ``kind``."""
        k = _check_kind(kind)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"count must be an int >= 1, got {count!r}")
        with self._lock:
            self._pending.append(_Pending(k, device, count))
            self.active = True

    def clear(self) -> None:
        with self._lock:
            self._rates.clear()
            self._pending.clear()
            self.active = False

    def pending(self) -> int:
        with self._lock:
            return sum(p.remaining for p in self._pending)

    def draw(self, op: str, device: int) -> FaultKind | None:
        """The fault for one descriptor about to be submitted, or None."""
        with self._lock:
            for p in self._pending:
                if (p.device is None or p.device == device) and _ONLY_OP.get(p.kind, op) == op:
                    p.remaining -= 1
                    if p.remaining == 0:
                        self._pending.remove(p)
                    self.injected[p.kind] += 1
                    self.active = bool(self._rates or self._pending)
                    return p.kind
            for kind, rate in self._rates.items():
                if _ONLY_OP.get(kind, op) == op and self._rng.random() < rate:
                    self.injected[kind] += 1
                    return kind
        return None

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "rates": dict(self._rates),
                "pending": [(p.kind, p.device, p.remaining) for p in self._pending],
                "injected": dict(self.injected),
            }
