"""Topology and the map from cores to IAA devices and WQs (seed patches 8 and 9).

Cores map to devices *by package*: the cores of a package are split evenly
over that package's devices, and there is one WQ table per package (no
per-CPU copies).  With two or more WQs per device, wq.0 of a core's own
device takes its decompress jobs and every other WQ is a *global* compress
WQ: compress jobs from all cores of the package go round robin over the
global WQs of all the package's devices.  With one WQ per device, compress
and decompress both use the core's own device's wq.0.

A calling thread is a "core": threads get core ids round robin in first-use
order (deterministic for a given order of first calls), unless the transform
was allocated with an explicit ``cpu`` parameter.
"""

from __future__ import annotations

import itertools
import threading

import attrs

__all__ = ["Topology", "WqMap"]


def _positive(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value}")


@attrs.define(frozen=True, slots=True)
class Topology:
    """Shape of the emulated machine.

    ``engines_per_device`` is the hardware's engine count used by the timing
    model; ``engine_threads_per_device`` is how many Python threads really run
    each device's descriptors.
    """

    packages: int = attrs.field(default=2, validator=_positive)
    cores_per_package: int = attrs.field(default=1, validator=_positive)
    devices_per_package: int = attrs.field(default=4, validator=_positive)
    wqs_per_device: int = attrs.field(default=2, validator=_positive)
    wq_depth: int = attrs.field(default=64, validator=_positive)
    engines_per_device: int = attrs.field(default=8, validator=_positive)
    engine_threads_per_device: int = attrs.field(default=1, validator=_positive)

    @property
    def n_cores(self) -> int:
        return self.packages * self.cores_per_package

    @property
    def n_devices(self) -> int:
        return self.packages * self.devices_per_package

    @classmethod
    def seed_machine(cls) -> Topology:
        """The seed's Sapphire Rapids: 2 x 56 cores, 4 IAA per socket, 2 WQs each."""
        return cls(packages=2, cores_per_package=56, devices_per_package=4, wqs_per_device=2)


#: (device id, wq index) of a WQ.
WqId = tuple[int, int]


class WqMap:
    """Which WQ a core's compress or decompress job goes to."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        t = topology
        self._local: list[int] = []
        for core in range(t.n_cores):
            package, idx = divmod(core, t.cores_per_package)
            # Kernel: cpus_per_iaa = cores_per_package / iaa_per_package.
            dev_in_pkg = idx * t.devices_per_package // t.cores_per_package
            self._local.append(package * t.devices_per_package + dev_in_pkg)
        self._global: list[list[WqId]] = []
        for package in range(t.packages):
            devices = range(package * t.devices_per_package, (package + 1) * t.devices_per_package)
            if t.wqs_per_device >= 2:
                # Interleave devices first so consecutive jobs land on different devices.
                wqs = [(d, w) for w in range(1, t.wqs_per_device) for d in devices]
            else:
                wqs = []
            self._global.append(wqs)
        self._rr = [itertools.count() for _ in range(t.packages)]
        self._thread_cores = threading.local()
        self._next_core = itertools.count()
        self._generation = 0

    def package_of(self, core: int) -> int:
        return core // self.topology.cores_per_package

    def local_device(self, core: int) -> int:
        return self._local[core]

    def decomp_wq(self, core: int) -> WqId:
        return (self._local[core], 0)

    def global_wqs(self, package: int) -> list[WqId]:
        return list(self._global[package])

    def comp_wqs(self, core: int, n: int) -> list[WqId]:
        """WQs for ``n`` consecutive compress jobs from ``core``."""
        wqs = self._global[self.package_of(core)]
        if not wqs:
            return [(self._local[core], 0)] * n
        rr = self._rr[self.package_of(core)]
        # next() on itertools.count is atomic under the GIL: no lock needed.
        return [wqs[next(rr) % len(wqs)] for _ in range(n)]

    def current_core(self) -> int:
        """The calling thread's core id (assigned on first use)."""
        tl = self._thread_cores
        core: int | None = getattr(tl, "core", None)
        if core is None:
            core = next(self._next_core) % self.topology.n_cores
            tl.core = core
        return core
