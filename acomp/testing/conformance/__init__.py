"""The conformance kit: what every acomp driver must do (kernel: ``crypto/testmgr.c``).

One call checks a registered driver::

    import acomp.testing
    report = acomp.testing.check_driver("mydrv-generic")   # raises ConformanceError on failure

and one pytest class runs the same properties as separate tests::

    class TestMine(acomp.testing.ConformanceSuite):
        driver = "mydrv-generic"

Every failure names the driver and the property, e.g.
``deflate-broken: property 'dst bounds': returned 5000 bytes into a 4096-byte dst``.

The kit is one table, :data:`PROPERTIES` (name -> :class:`Property`): each row
is a plain check function with what it checks, the errors it accepts and when
it skips.  The table, the options and the profiles are documented in
docs/testing.md.  No property asserts on wall-clock time; waits have a generous
hang guard (:data:`HANG_GUARD` seconds) so a lost completion fails instead of hanging.
"""

from __future__ import annotations

from acomp.testing.conformance._contract import (
    BOMB_SIZE,
    BOMB_SLACK,
    COMPRESS_OVERFLOW_ERRNOS,
    CORRUPT_INPUT_ERRNOS,
    DECOMPRESS_OVERFLOW_ERRNOS,
    DEVICE_COMPRESS_OVERFLOW_ERRNOS,
    EMPTY_COMPRESS_ERRNOS,
    HANG_GUARD,
    LENIENT_CORRUPT_INPUT_ERRNOS,
    NATIVE_BOMB_SLACK,
)
from acomp.testing.conformance._outcomes import (
    ConformanceError,
    ConformanceFailure,
    ConformanceReport,
    PropertyOutcome,
    PropertySkipped,
)
from acomp.testing.conformance._runner import ConformanceSuite, check_driver
from acomp.testing.conformance._table import PROPERTIES, Property

__all__ = [
    "BOMB_SIZE",
    "BOMB_SLACK",
    "COMPRESS_OVERFLOW_ERRNOS",
    "CORRUPT_INPUT_ERRNOS",
    "DECOMPRESS_OVERFLOW_ERRNOS",
    "DEVICE_COMPRESS_OVERFLOW_ERRNOS",
    "EMPTY_COMPRESS_ERRNOS",
    "HANG_GUARD",
    "LENIENT_CORRUPT_INPUT_ERRNOS",
    "NATIVE_BOMB_SLACK",
    "PROPERTIES",
    "ConformanceError",
    "ConformanceFailure",
    "ConformanceReport",
    "ConformanceSuite",
    "Property",
    "PropertyOutcome",
    "PropertySkipped",
    "check_driver",
]
