"""The runner: :class:`DriverConformance` (every property of one driver) and :func:`check_driver`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from acomp.testing.conformance._base import _err_text
from acomp.testing.conformance._capabilities import CapabilityProperties
from acomp.testing.conformance._contract import PROPERTIES
from acomp.testing.conformance._data import DataProperties
from acomp.testing.conformance._outcomes import (
    ConformanceError,
    ConformanceFailure,
    ConformanceReport,
    PropertySkipped,
)


def _method_name(prop: str) -> str:
    """The method that checks ``prop``: ``"round trip"`` -> ``_p_round_trip``."""
    return "_p_" + prop.replace(" ", "_")


def _known(prop: str) -> str:
    if prop not in PROPERTIES:
        raise ValueError(f"unknown property {prop!r}; known: {', '.join(PROPERTIES)}")
    return prop


class DriverConformance(DataProperties, CapabilityProperties):
    """The kit for one driver: run one property with :meth:`check`, all with :meth:`run`.

    ``params`` go to :func:`acomp.alloc`.  ``truncation_detected=False``
    declares a wire format without an end marker (see :mod:`acomp.testing.conformance`).
    ``profile``/``max_examples`` choose the hypothesis budget; ``shrink=True``
    shrinks a failing example before reporting it (slower).

    Each property of :data:`PROPERTIES` is the method ``_p_<name>`` of one of
    the theme classes this one joins (data, requests, concurrency, capabilities).
    """

    def check(self, prop: str) -> None:
        """Run one property: return, or raise :class:`ConformanceFailure` / :class:`PropertySkipped`."""
        method: Callable[[str], None] = getattr(self, _method_name(_known(prop)))
        try:
            method(prop)
        except (ConformanceFailure, PropertySkipped):
            raise
        except Exception as exc:
            # An exception the kit did not anticipate still names the property.
            self.fail(prop, f"unexpected {_err_text(exc)}")

    def run(self, properties: Iterable[str] | None = None) -> ConformanceReport:
        """Run ``properties`` (default: all); collect every outcome in a report."""
        chosen = [_known(p) for p in (PROPERTIES if properties is None else properties)]
        report = ConformanceReport(self.driver)
        try:
            for prop in chosen:
                self._run_one(prop, chosen, report)
        finally:
            self.close()
        report.notes = list(self.notes)
        return report

    def _run_one(self, prop: str, chosen: list[str], report: ConformanceReport) -> None:
        if prop != "registration" and not self.is_registered():
            report.skipped[prop] = f"driver {self.driver!r} is not registered"
            if "registration" not in chosen and "registration" not in report.failed:
                failure = ConformanceFailure(self.driver, "registration", "the driver is not registered")
                report.failed["registration"] = str(failure)
            return
        try:
            self.check(prop)
        except ConformanceFailure as exc:
            report.failed[prop] = str(exc)
        except PropertySkipped as exc:
            report.skipped[prop] = str(exc)
        else:
            report.passed.append(prop)


_missing = [p for p in PROPERTIES if not callable(getattr(DriverConformance, _method_name(p), None))]
assert not _missing, f"properties without a method: {_missing}"


def check_driver(
    driver: str,
    *,
    params: Mapping[str, object] | None = None,
    properties: Iterable[str] | None = None,
    truncation_detected: bool = True,
    profile: str | None = None,
    max_examples: int | None = None,
    shrink: bool = False,
) -> ConformanceReport:
    """Run the conformance kit on the registered driver ``driver`` (a driver name).

    Returns the :class:`ConformanceReport` when every property held (skipped
    ones are listed in it); raises :class:`ConformanceError` naming each
    failed property otherwise.  ``properties`` restricts the run (names from
    :data:`PROPERTIES`); ``params`` go to :func:`acomp.alloc`;
    ``truncation_detected=False`` for a wire format without an end marker;
    ``profile`` (``ci``, ``dev``, ``thorough``) or ``max_examples`` set the
    hypothesis budget (default: ``$HYPOTHESIS_PROFILE``, else ``ci`` under CI, else ``dev``);
    ``shrink=True`` shrinks a failing example before reporting it.
    """
    kit = DriverConformance(
        driver,
        params=params,
        truncation_detected=truncation_detected,
        profile=profile,
        max_examples=max_examples,
        shrink=shrink,
    )
    report = kit.run(properties)
    if report.failed:
        raise ConformanceError(report)
    return report
