"""Capability queries: "which drivers can do this?", best first.

The kernel allocates by name only.  Here a caller (zswap, the CLI, a user)
can state a :class:`Requirement` — algorithm, minimum batch size, async
batching, chaining, wire format, a usable device — and get every driver that
meets it, ordered by the documented rule:

1. higher ``priority`` first (the kernel's rule for a name);
2. then larger ``batch_size`` (more parallel work per call);
3. then the most recently registered (the kernel's tie-break).

Drivers whose device disabled itself (e.g. after a completion timeout) are
left out unless ``available=False`` is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from acomp.errors import AlgorithmNotFound, InvalidArgument
from acomp.records import AlgorithmRecord
from acomp.registry import get_registry

if TYPE_CHECKING:
    from acomp.transform import Transform

__all__ = ["Requirement", "alloc_matching", "query", "readers_of"]


def _opt_bool(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InvalidArgument(f"expected True, False or None, got {value!r}")


@attrs.define(frozen=True, slots=True)
class Requirement:
    """What a caller needs from a driver; ``None`` fields do not constrain."""

    #: Algorithm name (``cra_name``), e.g. ``"deflate"``.
    alg: str | None = None
    #: Smallest acceptable ``batch_size``.
    min_batch: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    #: Require (True) or exclude (False) async batching.
    async_batching: bool | None = attrs.field(default=None, converter=_opt_bool)
    #: Require or exclude chaining support (``Feature.REQ_CHAIN``).
    chaining: bool | None = attrs.field(default=None, converter=_opt_bool)
    #: Require or exclude segmentation support (``Feature.REQ_SEG``).
    segmentation: bool | None = attrs.field(default=None, converter=_opt_bool)
    #: Require or exclude a device-backed driver.
    device: bool | None = attrs.field(default=None, converter=_opt_bool)
    #: Streams must be in this wire format (readable by each other).
    wire_format: str | None = None
    #: Leave out drivers that cannot take work now (a disabled device).
    available: bool = True
    #: Driver names to leave out (e.g. one that just failed).
    exclude: frozenset[str] = attrs.field(factory=frozenset, converter=frozenset)

    def matches(self, rec: AlgorithmRecord) -> bool:
        """True when ``rec`` meets every stated constraint."""
        if self.alg is not None and rec.alg_name != self.alg:
            return False
        if rec.batch_size < self.min_batch or rec.driver_name in self.exclude:
            return False
        checks = (
            (self.async_batching, rec.async_batching),
            (self.chaining, rec.chaining),
            (self.segmentation, rec.segmentation),
            (self.device, rec.is_device),
        )
        if any(want is not None and want != have for want, have in checks):
            return False
        if self.wire_format is not None and rec.wire_format != self.wire_format:
            return False
        return not self.available or rec.driver_cls.device_state() != "disabled"

    def __str__(self) -> str:
        parts = [f"alg={self.alg}"] if self.alg else []
        if self.min_batch > 1:
            parts.append(f"batch_size>={self.min_batch}")
        for name in ("async_batching", "chaining", "segmentation", "device"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value}")
        if self.wire_format:
            parts.append(f"wire_format={self.wire_format}")
        if self.exclude:
            parts.append(f"not {','.join(sorted(self.exclude))}")
        if self.available:
            parts.append("available")
        return ", ".join(parts) or "any driver"


def _rank(rec: AlgorithmRecord) -> tuple[int, int, int]:
    return (rec.priority, rec.batch_size, rec.seq)


def query(requirement: Requirement | None = None, **constraints: object) -> list[AlgorithmRecord]:
    """Every registered driver meeting ``requirement`` (or ``Requirement(**constraints)``), best first."""
    if requirement is None:
        requirement = Requirement(**constraints)  # type: ignore[arg-type]
    elif constraints:
        requirement = attrs.evolve(requirement, **constraints)  # type: ignore[arg-type]
    return sorted((r for r in get_registry().records() if requirement.matches(r)), key=_rank, reverse=True)


def readers_of(wire_format: str) -> list[AlgorithmRecord]:
    """Usable drivers that can decompress streams of ``wire_format``, best first."""
    return query(Requirement(wire_format=wire_format))


def alloc_matching(requirement: Requirement, **params: object) -> Transform:
    """Allocate the best driver meeting ``requirement``; AlgorithmNotFound names it if none does."""
    from acomp.api import alloc

    matches = query(requirement)
    if not matches:
        raise AlgorithmNotFound(f"no registered driver meets the requirement: {requirement}")
    return alloc(matches[0].driver_name, **params)
