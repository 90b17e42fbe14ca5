"""What a kit run ends with: one property's outcome, the report, the error ``check_driver`` raises."""

from __future__ import annotations

from typing import Literal

import attrs

#: How one property ended.
Status = Literal["passed", "failed", "skipped"]


class ConformanceFailure(AssertionError):
    """One property failed; the message is ``"<driver>: property '<name>': <detail>"``."""

    def __init__(self, driver: str, prop: str, detail: str) -> None:
        self.driver = driver
        self.property = prop
        self.detail = detail
        super().__init__(f"{driver}: property '{prop}': {detail}")


class PropertySkipped(Exception):
    """A property does not apply to this driver (e.g. no other driver shares its wire format)."""


@attrs.define(frozen=True, slots=True)
class PropertyOutcome:
    """One property's outcome: ``status``, and the failure message or the skip reason."""

    #: The property's name (a key of :data:`~acomp.testing.PROPERTIES`).
    name: str
    status: Status
    #: The full failure message (``"<driver>: property '<name>': ..."``) or why it was skipped.
    detail: str = ""


@attrs.define(frozen=True, slots=True)
class ConformanceReport:
    """The outcome of :func:`~acomp.testing.check_driver`: one :class:`PropertyOutcome` per property run."""

    driver: str
    #: In the order the properties ran.
    outcomes: tuple[PropertyOutcome, ...] = ()
    #: Observations that are not failures (e.g. "batch_decompress is the default loop").
    notes: tuple[str, ...] = ()

    def _with(self, status: Status) -> dict[str, str]:
        return {o.name: o.detail for o in self.outcomes if o.status == status}

    @property
    def passed(self) -> list[str]:
        """The properties that held, in run order."""
        return [o.name for o in self.outcomes if o.status == "passed"]

    @property
    def failed(self) -> dict[str, str]:
        """Failed property -> its message."""
        return self._with("failed")

    @property
    def skipped(self) -> dict[str, str]:
        """Skipped property -> why it did not apply."""
        return self._with("skipped")

    @property
    def ok(self) -> bool:
        """True when no property failed (skips are not failures)."""
        return not any(o.status == "failed" for o in self.outcomes)

    def __str__(self) -> str:
        failed, skipped = self.failed, self.skipped
        lines = [f"{self.driver}: {len(self.passed)} passed, {len(failed)} failed, {len(skipped)} skipped"]
        lines += [f"  FAIL {msg}" for msg in failed.values()]
        lines += [f"  skip '{p}': {why}" for p, why in skipped.items()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


class ConformanceError(AssertionError):
    """Raised by :func:`~acomp.testing.check_driver` when any property failed.

    ``property`` is the first failed property, ``failures`` maps every failed
    property to its message, ``report`` is the full :class:`ConformanceReport`.
    """

    def __init__(self, report: ConformanceReport) -> None:
        self.report = report
        msgs = list(report.failed.values())
        if len(msgs) == 1:
            text = msgs[0]
        else:
            text = f"{report.driver}: {len(msgs)} properties failed:\n" + "\n".join(f"  {m}" for m in msgs)
        super().__init__(text)

    @property
    def driver(self) -> str:
        return self.report.driver

    @property
    def failures(self) -> dict[str, str]:
        return self.report.failed

    @property
    def property(self) -> str:
        return next(iter(self.report.failed), "")
