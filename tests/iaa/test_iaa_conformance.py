"""acomp's driver conformance kit, run against deflate-iaa in each sync_mode."""

from __future__ import annotations

import acomp_iaa

import acomp.testing


class TestDeflateIaaConformance(acomp.testing.ConformanceSuite):
    driver = "deflate-iaa"


def test_conformance_sync_mode() -> None:
    acomp_iaa.set_driver_attr("sync_mode", "sync")
    acomp.testing.check_driver("deflate-iaa", max_examples=10)


def test_conformance_async_irq_mode() -> None:
    """Every property but 'async': a POLL request in async_irq completes through
    iaa_desc_complete, which reports every failure as -EIO (v5); the kit's 'async' property
    wants a corrupt-input errno for a truncated stream.  test_irq_failure_is_eio checks the
    kernel's behaviour instead."""
    acomp_iaa.set_driver_attr("sync_mode", "async_irq")
    props = [p for p in acomp.testing.conformance.PROPERTIES if p != "async"]
    acomp.testing.check_driver("deflate-iaa", max_examples=10, properties=props)
