"""Running the table: :func:`check_driver` (all properties, one report) and :class:`ConformanceSuite` (pytest)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import ClassVar

from acomp.testing.conformance._kit import Kit, err_text
from acomp.testing.conformance._outcomes import (
    ConformanceError,
    ConformanceFailure,
    ConformanceReport,
    PropertyOutcome,
    PropertySkipped,
)
from acomp.testing.conformance._table import PROPERTIES


def _known(prop: str) -> str:
    if prop not in PROPERTIES:
        raise ValueError(f"unknown property {prop!r}; known: {', '.join(PROPERTIES)}")
    return prop


def check_property(kit: Kit, prop: str) -> None:
    """Run one property: return, or raise :class:`ConformanceFailure` / :class:`PropertySkipped`."""
    kit.prop = _known(prop)
    try:
        PROPERTIES[prop].check(kit)
    except (ConformanceFailure, PropertySkipped):
        raise
    except Exception as exc:
        # An exception the kit did not anticipate still names the property.
        kit.fail(f"unexpected {err_text(exc)}")


def _outcome(kit: Kit, prop: str, chosen: list[str], failed: set[str]) -> list[PropertyOutcome]:
    if prop != "registration" and not kit.is_registered():
        out = [PropertyOutcome(prop, "skipped", f"driver {kit.driver!r} is not registered")]
        if "registration" not in chosen and "registration" not in failed:
            failure = ConformanceFailure(kit.driver, "registration", "the driver is not registered")
            out.insert(0, PropertyOutcome("registration", "failed", str(failure)))
        return out
    try:
        check_property(kit, prop)
    except ConformanceFailure as exc:
        return [PropertyOutcome(prop, "failed", str(exc))]
    except PropertySkipped as exc:
        return [PropertyOutcome(prop, "skipped", str(exc))]
    return [PropertyOutcome(prop, "passed")]


def check_driver(
    driver: str,
    *,
    params: Mapping[str, object] | None = None,
    properties: Iterable[str] | None = None,
    truncation_detected: bool = True,
    strict_corrupt_errors: bool = True,
    profile: str | None = None,
    max_examples: int | None = None,
    shrink: bool = False,
) -> ConformanceReport:
    """Run the conformance kit on the registered driver ``driver`` (a driver name).

    Returns the :class:`ConformanceReport` when every property held (skipped
    ones are listed in it); raises :class:`ConformanceError` naming each
    failed property otherwise.

    ``properties``: restrict the run (names from :data:`PROPERTIES`).
    ``params``: passed to :func:`acomp.alloc`.
    ``truncation_detected=False``: a wire format without an end marker (raw LZ4
    blocks): a truncated stream may then decode to a shorter output.
    ``strict_corrupt_errors=False``: accept ENOSPC/EOVERFLOW for corrupt and
    truncated input, for a codec that cannot tell the two apart (the report notes it).
    ``profile`` (``ci``, ``dev``, ``thorough``) or ``max_examples``: the hypothesis
    budget (default ``$HYPOTHESIS_PROFILE``, else ``ci`` under ``$CI``, else ``dev``).
    ``shrink=True``: shrink a failing example before reporting it (slower).
    """
    kit = Kit(
        driver,
        params=dict(params or {}),
        truncation_detected=truncation_detected,
        strict_corrupt_errors=strict_corrupt_errors,
        profile=profile,
        max_examples=max_examples,
        shrink=shrink,
    )
    chosen = [_known(p) for p in (PROPERTIES if properties is None else properties)]
    outcomes: list[PropertyOutcome] = []
    try:
        for prop in chosen:
            failed = {o.name for o in outcomes if o.status == "failed"}
            outcomes += _outcome(kit, prop, chosen, failed)
    finally:
        kit.close()
    report = ConformanceReport(driver, tuple(outcomes), tuple(kit.notes))
    if not report.ok:
        raise ConformanceError(report)
    return report


class ConformanceSuite:
    """The kit as a pytest class: one test per property (``test_round_trip``, ``test_dst_bounds``, ...).

    Subclass it in a test module under a ``Test*`` name and set ``driver``::

        class TestMine(acomp.testing.ConformanceSuite):
            driver = "mydrv-generic"
            params = {"level": 3}          # optional, for acomp.alloc
            truncation_detected = True     # False for a format without an end marker
            strict_corrupt_errors = True   # False: accept ENOSPC/EOVERFLOW for corrupt input
            skip_if_missing = False        # True: skip (not fail) when the driver is not registered

    The hypothesis budget follows ``$HYPOTHESIS_PROFILE`` (``ci``/``dev``/``thorough``)
    unless ``hypothesis_profile`` or ``max_examples`` is set on the class;
    ``shrink = True`` shrinks failing examples before reporting them.
    """

    driver: ClassVar[str] = ""
    params: ClassVar[Mapping[str, object]] = {}
    truncation_detected: ClassVar[bool] = True
    strict_corrupt_errors: ClassVar[bool] = True
    skip_if_missing: ClassVar[bool] = False
    hypothesis_profile: ClassVar[str | None] = None
    max_examples: ClassVar[int | None] = None
    shrink: ClassVar[bool] = False

    @classmethod
    def conformance(cls) -> Kit:
        """This class's kit (one per class, so one transform per class)."""
        kit = cls.__dict__.get("_acomp_kit")
        if not isinstance(kit, Kit):
            if not cls.driver:
                raise TypeError(f"{cls.__name__}: set the class attribute 'driver' to a driver name")
            kit = Kit(
                cls.driver,
                params=dict(cls.params),
                truncation_detected=cls.truncation_detected,
                strict_corrupt_errors=cls.strict_corrupt_errors,
                profile=cls.hypothesis_profile,
                max_examples=cls.max_examples,
                shrink=cls.shrink,
            )
            cls._acomp_kit = kit  # type: ignore[attr-defined]
        return kit

    @classmethod
    def teardown_class(cls) -> None:
        kit = cls.__dict__.get("_acomp_kit")
        if isinstance(kit, Kit):
            kit.close()

    def check_property(self, prop: str) -> None:
        """Run one property; a skipped property (or a missing driver with ``skip_if_missing``) skips."""
        import pytest

        kit = self.conformance()
        if self.skip_if_missing and not kit.is_registered():
            pytest.skip(f"driver {kit.driver!r} is not registered")
        try:
            check_property(kit, prop)
        except PropertySkipped as exc:
            pytest.skip(f"{kit.driver}: property '{prop}': {exc}")


def _test_method(prop: str) -> Callable[[ConformanceSuite], None]:
    def test(self: ConformanceSuite) -> None:
        self.check_property(prop)

    test.__name__ = "test_" + prop.replace(" ", "_")
    test.__qualname__ = f"ConformanceSuite.{test.__name__}"
    test.__doc__ = f"Property '{prop}': {PROPERTIES[prop].checks}."
    return test


# One test per row of the table: ``pytest -k dst_bounds`` selects one property.
for _prop in PROPERTIES:
    _method = _test_method(_prop)
    setattr(ConformanceSuite, _method.__name__, _method)
del _prop, _method
