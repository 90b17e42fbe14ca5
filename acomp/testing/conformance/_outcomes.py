"""What a kit run ends with: one property's failure or skip, the report, the error ``check_driver`` raises."""

from __future__ import annotations

from dataclasses import dataclass, field


class ConformanceFailure(AssertionError):
    """One property failed; the message is ``"<driver>: property '<name>': <detail>"``."""

    def __init__(self, driver: str, prop: str, detail: str) -> None:
        self.driver = driver
        self.property = prop
        self.detail = detail
        super().__init__(f"{driver}: property '{prop}': {detail}")


class PropertySkipped(Exception):
    """A property does not apply to this driver (e.g. no other driver shares its wire format)."""


@dataclass
class ConformanceReport:
    """The outcome of :func:`check_driver`: properties passed, failed (with messages), skipped."""

    driver: str
    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def __str__(self) -> str:
        lines = [f"{self.driver}: {len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped"]
        lines += [f"  FAIL {msg}" for msg in self.failed.values()]
        lines += [f"  skip '{p}': {why}" for p, why in self.skipped.items()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


class ConformanceError(AssertionError):
    """Raised by :func:`check_driver` when any property failed.

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
        return dict(self.report.failed)

    @property
    def property(self) -> str:
        return next(iter(self.report.failed), "")
