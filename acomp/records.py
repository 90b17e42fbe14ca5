"""The capability record of one registered driver (kernel: a line of ``/proc/crypto``)."""

from __future__ import annotations

import attrs

from acomp.driver import Driver, Feature

__all__ = ["AlgorithmRecord"]


@attrs.define(frozen=True, slots=True)
class AlgorithmRecord:
    """What a registered driver is and can do; one per driver, immutable."""

    #: Algorithm name (``cra_name``), e.g. ``"deflate"``.
    alg_name: str
    #: Driver name (``cra_driver_name``), e.g. ``"deflate-iaa"``.
    driver_name: str
    #: Selection priority among drivers of one algorithm.
    priority: int
    #: Name of the plugin that registered the driver.
    plugin: str
    #: ``crypto_acomp_batch_size()``: requests per batch call; 1 unless the driver has async batching.
    batch_size: int
    #: ``acomp_has_async_batching()``: the batch hooks run their requests in parallel.
    async_batching: bool
    #: Capability flags (chaining, segmentation, async, device).
    features: Feature
    #: Wire format: drivers with equal wire formats read each other's streams.
    wire_format: str
    #: Python module that defines the driver (kernel: ``module``).
    module: str
    #: The driver class itself (not shown in listings).
    driver_cls: type[Driver] = attrs.field(repr=False, eq=False)
    #: Registration order, the last tie-break between equal priorities.
    seq: int = attrs.field(default=0, repr=False, eq=False)

    @property
    def chaining(self) -> bool:
        """The driver opts in to request chaining (``CRYPTO_ALG_REQ_CHAIN``)."""
        return Feature.REQ_CHAIN in self.features

    @property
    def segmentation(self) -> bool:
        """The driver opts in to segmentation (``CRYPTO_ALG_REQ_SEG``)."""
        return Feature.REQ_SEG in self.features

    @property
    def is_async(self) -> bool:
        """The driver completes submissions itself (``CRYPTO_ALG_ASYNC``)."""
        return Feature.ASYNC in self.features

    @property
    def is_device(self) -> bool:
        """The driver is backed by a (possibly emulated) device."""
        return Feature.DEVICE in self.features

    @classmethod
    def from_driver(cls, driver_cls: type[Driver], plugin: str, seq: int) -> AlgorithmRecord:
        return cls(
            alg_name=driver_cls.alg_name,
            driver_name=driver_cls.driver_name,
            priority=int(driver_cls.priority),
            plugin=plugin,
            # v5: crypto_acomp_batch_size() is 1 unless acomp_has_async_batching(tfm).
            batch_size=int(driver_cls.batch_size) if driver_cls.async_batching else 1,
            async_batching=bool(driver_cls.async_batching),
            features=driver_cls.features,
            wire_format=driver_cls.wire_format or driver_cls.alg_name,
            module=driver_cls.__module__,
            driver_cls=driver_cls,
            seq=seq,
        )
