"""acomp.testing: hypothesis strategies and the conformance kit for driver authors.

Check a driver in one call::

    import acomp.testing
    acomp.testing.check_driver("mydrv-generic")     # raises ConformanceError naming the property

or as one pytest class::

    class TestMine(acomp.testing.ConformanceSuite):
        driver = "mydrv-generic"

Strategies (pages, folios, a driver's streams and their damaged versions,
batches with planted failures) are in :mod:`acomp.testing.strategies`.
Hypothesis profiles ``ci``, ``dev`` and ``thorough`` are registered on import;
the kit picks ``$HYPOTHESIS_PROFILE``, else ``ci`` when ``$CI`` is set, else
``dev``.  :func:`load_profile` also makes it hypothesis' default, for your own
``@given`` tests (call it from a ``conftest.py``).

Needs ``hypothesis`` (``pip install acomp[test]``); ``pytest`` only for
:class:`ConformanceSuite`.
"""

from __future__ import annotations

from acomp.testing import strategies
from acomp.testing._profiles import PROFILES, active_profile, kit_settings, load_profile, register_profiles
from acomp.testing.conformance import (
    BOMB_SLACK,
    COMPRESS_OVERFLOW_ERRNOS,
    CORRUPT_INPUT_ERRNOS,
    DECOMPRESS_OVERFLOW_ERRNOS,
    DEVICE_COMPRESS_OVERFLOW_ERRNOS,
    EMPTY_COMPRESS_ERRNOS,
    HANG_GUARD,
    PROPERTIES,
    ConformanceError,
    ConformanceFailure,
    ConformanceReport,
    ConformanceSuite,
    DriverConformance,
    PropertySkipped,
    check_driver,
)

register_profiles()

__all__ = [
    "BOMB_SLACK",
    "COMPRESS_OVERFLOW_ERRNOS",
    "CORRUPT_INPUT_ERRNOS",
    "DECOMPRESS_OVERFLOW_ERRNOS",
    "DEVICE_COMPRESS_OVERFLOW_ERRNOS",
    "EMPTY_COMPRESS_ERRNOS",
    "HANG_GUARD",
    "PROFILES",
    "PROPERTIES",
    "ConformanceError",
    "ConformanceFailure",
    "ConformanceReport",
    "ConformanceSuite",
    "DriverConformance",
    "PropertySkipped",
    "active_profile",
    "check_driver",
    "kit_settings",
    "load_profile",
    "register_profiles",
    "strategies",
]
