"""The emulated machine: iaa_crypto's global state (kernel: the statics of ``iaa_crypto_main.c``).

One :class:`IaaSubsystem` holds the devices and their WQs, the per-CPU WQ
tables, the driver attributes, ``iaa_crypto_enabled``, the statistics, the
fault injector and the virtual clock.  Every transform shares it; the
module-level singleton and the controls are in :mod:`acomp_iaa.sysfs`.

Binding: the kernel's WQs are bound to iaa_crypto by the administrator
(``accel-config``) before a user allocates ``deflate-iaa``; the first bound WQ
sets ``iaa_crypto_enabled`` (``iaa_crypto_probe``).  Here the first transform
binds them (:meth:`IaaSubsystem.probe`), and :func:`acomp_iaa.sysfs.unbind`
removes them (``iaa_crypto_remove``).  The WQ tables are built at binding, from
``g_wqs_per_iaa`` and ``g_consec_descs_per_gwq`` as they are then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal, get_args

import attrs

from acomp_iaa.device import IaaDevice
from acomp_iaa.faults import FaultInjector
from acomp_iaa.handoff import HandoffPolicy
from acomp_iaa.stats import BatchRecord, IaaStats
from acomp_iaa.timing import Job, ModelMode, TimingModel, TimingParams
from acomp_iaa.wq_map import Topology, WqTables

__all__ = ["SYNC_MODES", "DriverAttrs", "IaaSubsystem", "SyncMode"]

SyncMode = Literal["sync", "async", "async_irq"]
SYNC_MODES: tuple[str, ...] = get_args(SyncMode)

#: The virtual clock's model for each way the driver ran a batch.
_EXECUTOR_MODEL: dict[str, ModelMode] = {
    "do_req_chain": "sync",
    "do_async_req_chain": "async",
    "irq": "async_irq",
    "single": "sync",
    "poll": "async",
}


@attrs.define(slots=True)
class DriverAttrs:
    """The driver attributes (kernel: ``/sys/bus/dsa/drivers/crypto/*``), with v5's defaults."""

    #: ``sync``, ``async`` (v5's default: ``async_mode`` without ``use_irq``) or ``async_irq``.
    sync_mode: SyncMode = "async"
    #: ``iaa_verify_compress`` (v5 patch 6: off by default).
    verify_compress: bool = False
    #: Global WQs per device, the last ones of each (v5 patch 9: default 0, off).
    g_wqs_per_iaa: int = 0
    #: Compress jobs a core sends to one global WQ before moving on (default 1).
    g_consec_descs_per_gwq: int = 1

    @property
    def async_mode(self) -> bool:
        return self.sync_mode != "sync"

    @property
    def use_irq(self) -> bool:
        return self.sync_mode == "async_irq"


class IaaSubsystem:
    """The emulated IAA machine: topology, devices, WQ tables, attributes, statistics."""

    def __init__(
        self,
        topology: Topology,
        *,
        codec: Literal["zlib", "isal"],
        timing: TimingParams,
        timing_seed: int,
        completion_timeout_s: float,
        attrs: DriverAttrs | None = None,
    ) -> None:
        self.topology = topology
        self.codec = codec
        #: How long a waiting CPU waits for a completion record or a free
        #: descriptor before it gives up (the emulation's spin limit; s).
        self.completion_timeout_s = completion_timeout_s
        t = topology
        self.devices = [
            IaaDevice(d, d // t.devices_per_package, t.wqs_per_device, t.wq_depth, t.engine_threads_per_device, codec)
            for d in range(t.n_devices)
        ]
        for dev in self.devices:
            for wq in dev.wqs:
                wq.stat_base = 4 * (dev.id * t.wqs_per_device + wq.index)
        self.attrs = attrs if attrs is not None else DriverAttrs()
        self.stats = IaaStats(t.n_devices, t.wqs_per_device)
        self.faults = FaultInjector()
        self.timing = TimingModel(timing, engines_per_device=t.engines_per_device, seed=timing_seed)
        self.wq_tables = WqTables(topology, self.devices)
        #: WQs bound to the driver (kernel: the WQs ``iaa_crypto_probe`` took).
        self.bound = False
        #: ``iaa_crypto_enabled``: set when WQs are bound, cleared by a spin-limit timeout.
        self.enabled = False
        #: A fresh machine binds its WQs on first use; after :meth:`remove` only :meth:`probe` does.
        self.auto_bind = True
        self._lock = threading.Lock()
        #: Debug hook (kernel: dev_dbg): ``trace(event, req)`` at each async batch submit.
        self.trace: Callable[[str, object], None] | None = None
        #: When a batch's polling CPU hands work to engine threads (measured).
        self.handoff = HandoffPolicy()

    # -- binding (iaa_crypto_probe / iaa_crypto_remove) -------------------------------

    def probe(self) -> None:
        """Bind the WQs if they are not (the first transform does); builds the WQ tables."""
        if self.bound:
            return
        with self._lock:
            if self.bound:
                return
            a = self.attrs
            self.wq_tables = WqTables(
                self.topology,
                self.devices,
                g_wqs_per_iaa=a.g_wqs_per_iaa,
                g_consec_descs_per_gwq=a.g_consec_descs_per_gwq,
            )
            self.bound = True
            self.enabled = True
            self.auto_bind = True

    def check_enabled(self) -> bool:
        """``iaa_crypto_enabled``, binding a fresh machine's WQs on first use (the slow path)."""
        if self.enabled:
            return True
        if not self.bound and self.auto_bind:
            self.probe()
            return True
        return False

    def remove(self) -> None:
        """Unbind the WQs: ``iaa_crypto_enabled`` goes false, the attributes may be stored."""
        with self._lock:
            self.bound = False
            self.enabled = False
            self.auto_bind = False

    def disable(self) -> None:
        """``iaa_crypto_enabled = false`` (check_completion's spin limit)."""
        self.enabled = False

    @property
    def busy(self) -> bool:
        """True while any descriptor is in use."""
        return any(d.busy for d in self.devices)

    def shutdown(self, timeout: float = 5.0) -> bool:
        return all([d.stop(timeout) for d in self.devices])

    def engine_threads(self) -> list[threading.Thread]:
        return [t for d in self.devices for t in d.threads if t.is_alive()]

    def check_cpu(self, cpu: int) -> int:
        if not 0 <= cpu < self.topology.n_cores:
            raise ValueError(f"cpu {cpu} out of range 0..{self.topology.n_cores - 1}")
        return cpu

    # -- the virtual clock ----------------------------------------------------------

    def batch_latencies(self) -> dict[str, dict[str, list[float]]]:
        """Virtual latency (ns) of each kept call, by mode and executor, oldest first."""

        def clock(executor: str, jobs: BatchRecord) -> float:
            return self.timing.batch_latency_with_timeouts(
                _EXECUTOR_MODEL[executor],
                [Job(dev, slen, dlen) for dev, slen, dlen, _ in jobs],
                [lost for *_, lost in jobs],
            )

        return self.stats.latencies(clock)
