"""Topology and the per-CPU WQ tables (seed patches 8 and 9: ``wq_table``, ``global_wq_table``).

Cores map to devices *by package* (patch 8, ``cpu_to_iaa``): the cores of a
package are split evenly over that package's devices.  ``map_iaa_device_wqs``
splits each device's WQs into *local* and *global* ones: with
``g_wqs_per_iaa = N`` (default 0) the last N WQs of a device are global, but
its first WQ is always local.  A core's decompress jobs, and its compress jobs
when its package has no global WQ, go round robin over its local device's
local WQs (``wq_table_next_wq``: one cursor per CPU, advanced before use).  A
core's compress jobs go to its package's global WQs (``global_wq_table_next_wq``):
``g_consec_descs_per_gwq`` (default 1) jobs to one WQ before the next, with a
per-CPU cursor whose start is staggered by the core's local device,
``g_wqs_per_iaa * (cpu_to_iaa(cpu) % nr_iaa_per_package)``.

A calling thread is a "core": threads get core ids round robin in first-use
order, unless the transform was allocated with an explicit ``cpu`` parameter.
The per-CPU cursors are not locked: the kernel relies on ``get_cpu()``; here two
threads sharing a core id can only blur the round robin, never pick a wrong WQ.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from acomp_iaa.device import IaaDevice, IaaWq

__all__ = ["Topology", "WqTables"]


def _positive(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value}")


@attrs.define(frozen=True, slots=True)
class Topology:
    """Shape of the emulated machine.

    ``engines_per_device`` is the hardware's engine count used by the timing
    model; ``engine_threads_per_device`` is how many Python threads run a
    device's descriptors when the submitting CPU hands work over.
    """

    packages: int = attrs.field(default=2, validator=_positive)
    cores_per_package: int = attrs.field(default=1, validator=_positive)
    devices_per_package: int = attrs.field(default=4, validator=_positive)
    wqs_per_device: int = attrs.field(default=2, validator=_positive)
    #: Descriptors per WQ (the WQ size; ``idxd_alloc_desc`` blocks when all are in use).
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


def split_wqs(n_wqs: int, g_wqs_per_iaa: int) -> tuple[range, range]:
    """(local, global) WQ indices of one device (kernel: ``map_iaa_device_wqs``).

    A WQ is local while ``!n_wqs_added || n_wqs_added + g_wqs_per_iaa < n_wq``.
    """
    n_local = max(1, n_wqs - g_wqs_per_iaa)
    return range(n_local), range(n_local, n_wqs)


class WqTables:
    """Which WQ each core's next compress or decompress job goes to."""

    def __init__(
        self,
        topology: Topology,
        devices: Sequence[IaaDevice],
        *,
        g_wqs_per_iaa: int = 0,
        g_consec_descs_per_gwq: int = 1,
    ) -> None:
        t = topology
        self.topology = topology
        self.g_wqs_per_iaa = g_wqs_per_iaa
        self.g_consec_descs_per_gwq = g_consec_descs_per_gwq
        local_of: list[list[IaaWq]] = []
        global_of: list[list[IaaWq]] = []
        for dev in devices:
            loc, glob = split_wqs(len(dev.wqs), g_wqs_per_iaa)
            local_of.append([dev.wqs[i] for i in loc])
            global_of.append([dev.wqs[i] for i in glob])
        # pkg_global_wq_tables: each package's global WQs, device by device.
        per_pkg = t.devices_per_package
        self.pkg_global: list[list[IaaWq]] = [
            [wq for d in range(p * per_pkg, (p + 1) * per_pkg) for wq in global_of[d]] for p in range(t.packages)
        ]
        self.cpu_to_iaa: list[int] = []
        for core in range(t.n_cores):
            package, idx = divmod(core, t.cores_per_package)
            self.cpu_to_iaa.append(package * per_pkg + idx * per_pkg // t.cores_per_package)
        #: wq_table: each core's local WQs (its device's), shared, with a per-CPU cursor.
        self.local: list[list[IaaWq]] = [local_of[self.cpu_to_iaa[c]] for c in range(t.n_cores)]
        self._cur = [0] * t.n_cores
        #: global_wq_table: each core's package's global WQs.
        self.global_: list[list[IaaWq]] = [self.pkg_global[c // t.cores_per_package] for c in range(t.n_cores)]
        self._gcur = []
        for c in range(t.n_cores):
            start = g_wqs_per_iaa * (self.cpu_to_iaa[c] % per_pkg)  # global_wq_table_set_start_wq
            self._gcur.append(start if 0 <= start < len(self.global_[c]) else 0)
        self._consec = [0] * t.n_cores  # num_consec_descs_per_wq
        self._thread_cores = threading.local()
        self._next_core = itertools.count()

    # -- the kernel's lookups -------------------------------------------------------

    def wq_table_next_wq(self, core: int) -> IaaWq:
        """The core's next local WQ: the cursor advances first, then is used."""
        wqs = self.local[core]
        cur = self._cur[core] + 1
        if cur >= len(wqs):
            cur = 0
        self._cur[core] = cur
        return wqs[cur]

    def global_wq_table_next_wq(self, core: int) -> IaaWq:
        """The core's next global WQ, ``g_consec_descs_per_gwq`` jobs per WQ."""
        wqs = self.global_[core]
        if not wqs:
            return self.wq_table_next_wq(core)
        if self._consec[core] == self.g_consec_descs_per_gwq:
            cur = self._gcur[core] + 1
            self._gcur[core] = cur if cur < len(wqs) else 0
            self._consec[core] = 0
        self._consec[core] += 1
        return wqs[self._gcur[core]]

    def next_wq(self, core: int, compress: bool) -> IaaWq:
        """The WQ one request of ``core`` goes to: a global WQ for compress when there are any."""
        return self.global_wq_table_next_wq(core) if compress else self.wq_table_next_wq(core)

    def comp_wqs(self, core: int, n: int) -> list[IaaWq]:
        """WQs for ``n`` consecutive compress jobs (``iaa_comp_acompress`` per request)."""
        wqs = self.global_[core]
        if not wqs:
            return self.decomp_wqs(core, n)
        # n calls of global_wq_table_next_wq, with the cursor state in locals.
        size = len(wqs)
        cur = self._gcur[core]
        consec = self._consec[core]
        per = self.g_consec_descs_per_gwq
        out = []
        for _ in range(n):
            if consec == per:
                cur = cur + 1 if cur + 1 < size else 0
                consec = 0
            consec += 1
            out.append(wqs[cur])
        self._gcur[core] = cur
        self._consec[core] = consec
        return out

    def decomp_wqs(self, core: int, n: int) -> list[IaaWq]:
        """WQs for ``n`` consecutive jobs on the local table (``wq_table_next_wq`` per request)."""
        wqs = self.local[core]
        size = len(wqs)
        if size == 1:
            return [wqs[0]] * n
        start = self._cur[core] + 1
        self._cur[core] = (start + n - 1) % size
        return [wqs[(start + k) % size] for k in range(n)]

    # -- introspection ------------------------------------------------------------------

    def local_device(self, core: int) -> int:
        return self.cpu_to_iaa[core]

    def global_wqs(self, package: int) -> list[tuple[int, int]]:
        """(device, wq index) of a package's global WQs, in table order."""
        return [(wq.device, wq.index) for wq in self.pkg_global[package]]

    def current_core(self) -> int:
        """The calling thread's core id (assigned on first use)."""
        tl = self._thread_cores
        core: int | None = getattr(tl, "core", None)
        if core is None:
            core = next(self._next_core) % self.topology.n_cores
            tl.core = core
        return core
