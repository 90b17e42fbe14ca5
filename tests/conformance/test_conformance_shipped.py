"""Every driver we ship, through the conformance kit (acomp.testing): the one place they are tested
for the driver contract.  Drivers whose plugin registers nothing here (deflate-isal without
python-isal, deflate-iaa while absent) are skipped, not failed.
"""

from __future__ import annotations

import acomp
from acomp.testing import ConformanceSuite

#: The modules of the plugins this repository ships (plugins/acomp_*).
SHIPPED_MODULES = ("acomp_deflate", "acomp_isal", "acomp_zstd", "acomp_lz4", "acomp_iaa")


class TestDeflateGeneric(ConformanceSuite):
    driver = "deflate-generic"


class TestDeflateIsal(ConformanceSuite):
    driver = "deflate-isal"
    skip_if_missing = True  # registered only when python-isal is installed


class TestZstdGeneric(ConformanceSuite):
    driver = "zstd-generic"


class TestLz4Generic(ConformanceSuite):
    driver = "lz4-generic"
    # A raw LZ4 block has no end marker: a stream cut after a literal run is itself a
    # valid, shorter block.  (zswap notices such a page by dlen != PAGE_SIZE.)
    truncation_detected = False


class TestLz4hcGeneric(ConformanceSuite):
    driver = "lz4hc-generic"
    truncation_detected = False  # same raw LZ4 block format


class TestDeflateIaa(ConformanceSuite):
    driver = "deflate-iaa"
    skip_if_missing = True  # the emulated IAA plugin


def test_every_shipped_driver_has_a_suite() -> None:
    covered = {
        cls.driver
        for cls in globals().values()
        if isinstance(cls, type) and issubclass(cls, ConformanceSuite) and cls is not ConformanceSuite
    }
    shipped = {r.driver_name for r in acomp.algorithms() if r.module.split(".")[0] in SHIPPED_MODULES}
    assert shipped, "no shipped driver is registered"
    assert shipped <= covered, f"shipped drivers without a conformance suite: {sorted(shipped - covered)}"
