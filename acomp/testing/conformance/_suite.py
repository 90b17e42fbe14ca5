"""The kit as a pytest class: :class:`ConformanceSuite`, one test method per property."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from acomp.testing.conformance._contract import PROPERTIES
from acomp.testing.conformance._outcomes import PropertySkipped
from acomp.testing.conformance._runner import DriverConformance


class ConformanceSuite:
    """The kit as a pytest class: one test per property.

    Subclass it in a test module under a ``Test*`` name and set ``driver``::

        class TestMine(acomp.testing.ConformanceSuite):
            driver = "mydrv-generic"
            params = {"level": 3}          # optional, for acomp.alloc
            truncation_detected = True     # False for a format without an end marker
            skip_if_missing = False        # True: skip (not fail) when the driver is not registered

    The hypothesis budget follows ``$HYPOTHESIS_PROFILE`` (``ci``/``dev``/``thorough``)
    unless ``hypothesis_profile`` or ``max_examples`` is set on the class;
    ``shrink = True`` shrinks failing examples before reporting them.
    """

    driver: ClassVar[str] = ""
    params: ClassVar[Mapping[str, object]] = {}
    truncation_detected: ClassVar[bool] = True
    skip_if_missing: ClassVar[bool] = False
    hypothesis_profile: ClassVar[str | None] = None
    max_examples: ClassVar[int | None] = None
    shrink: ClassVar[bool] = False

    @classmethod
    def conformance(cls) -> DriverConformance:
        """This class's kit (one per class, so one transform per class)."""
        kit = cls.__dict__.get("_acomp_kit")
        if not isinstance(kit, DriverConformance):
            if not cls.driver:
                raise TypeError(f"{cls.__name__}: set the class attribute 'driver' to a driver name")
            kit = DriverConformance(
                cls.driver,
                params=cls.params,
                truncation_detected=cls.truncation_detected,
                profile=cls.hypothesis_profile,
                max_examples=cls.max_examples,
                shrink=cls.shrink,
            )
            cls._acomp_kit = kit  # type: ignore[attr-defined]
        return kit

    @classmethod
    def teardown_class(cls) -> None:
        kit = cls.__dict__.get("_acomp_kit")
        if isinstance(kit, DriverConformance):
            kit.close()

    def check_property(self, prop: str) -> None:
        """Run one property; a skipped property (or a missing driver with ``skip_if_missing``) skips."""
        import pytest

        kit = self.conformance()
        if self.skip_if_missing and not kit.is_registered():
            pytest.skip(f"driver {kit.driver!r} is not registered")
        try:
            kit.check(prop)
        except PropertySkipped as exc:
            pytest.skip(f"{kit.driver}: property '{prop}': {exc}")

    def test_registration(self) -> None:
        self.check_property("registration")

    def test_round_trip(self) -> None:
        self.check_property("round trip")

    def test_dlen(self) -> None:
        self.check_property("dlen")

    def test_dst_bounds(self) -> None:
        self.check_property("dst bounds")

    def test_corrupt_input(self) -> None:
        self.check_property("corrupt input")

    def test_decompression_bomb(self) -> None:
        self.check_property("decompression bomb")

    def test_empty_input(self) -> None:
        self.check_property("empty input")

    def test_batch(self) -> None:
        self.check_property("batch")

    def test_chain(self) -> None:
        self.check_property("chain")

    def test_segmentation(self) -> None:
        self.check_property("segmentation")

    def test_thread_safety(self) -> None:
        self.check_property("thread safety")

    def test_async(self) -> None:
        self.check_property("async")

    def test_capabilities(self) -> None:
        self.check_property("capabilities")

    def test_wire_format(self) -> None:
        self.check_property("wire format")


# One test per property, written out so that a reader (and pytest -k) sees them.
_untested = [p for p in PROPERTIES if not hasattr(ConformanceSuite, "test_" + p.replace(" ", "_"))]
assert not _untested, f"ConformanceSuite lacks a test for: {_untested}"
