"""The driver's attributes and controls (kernel: ``/sys/bus/dsa/drivers/crypto/*``, debugfs, accel-config).

The device state is one process-wide :class:`~acomp_iaa.subsystem.IaaSubsystem`
shared by every transform, as the real driver's is.

* :func:`set_driver_attr` / :func:`get_driver_attr`: ``sync_mode`` (``sync``,
  ``async``, ``async_irq``; v5 default ``async``), ``verify_compress`` (default
  False), ``g_wqs_per_iaa`` (default 0) and ``g_consec_descs_per_gwq``
  (default 1).  As in the kernel, a store is refused with ``Busy`` (EBUSY)
  whenever ``iaa_crypto_enabled`` is set, i.e. while WQs are bound and the
  driver did not disable itself, before the value is parsed, even for an
  unchanged value.  A transform keeps the values it was created with
  (``compression_ctx_init``); the ``g_*`` values apply when WQs are bound.
* :func:`unbind` / :func:`bind`: remove or bind the WQs (``accel-config
  disable-wq`` / ``enable-wq``: ``iaa_crypto_remove`` / ``iaa_crypto_probe``).
  The first transform binds them if nobody did.
* :func:`configure`: a new topology / codec / timing (EBUSY while bound).
* :func:`reset`: stop the engines and start over with defaults, unbound.
* :func:`enable`: re-enable after the driver disabled itself (the kernel:
  unbinding and re-binding the WQs).
* :func:`stats` / :func:`reset_stats` (debugfs); :func:`inject_fault`,
  :func:`set_fault_rate`, :func:`seed_faults`, :func:`clear_faults` (acomp only).
"""

from __future__ import annotations

import threading
from typing import Any

import attrs

from acomp.errors import Busy, InvalidArgument
from acomp_iaa.fixed import CodecName, resolve_codec
from acomp_iaa.subsystem import SYNC_MODES, DriverAttrs, IaaSubsystem
from acomp_iaa.timing import TimingParams
from acomp_iaa.wq_map import Topology

__all__ = [
    "DRIVER_ATTRS",
    "bind",
    "clear_faults",
    "configure",
    "enable",
    "get_driver_attr",
    "inject_fault",
    "reset",
    "reset_stats",
    "seed_faults",
    "set_driver_attr",
    "set_fault_rate",
    "stats",
    "subsystem",
    "unbind",
]

DRIVER_ATTRS = ("sync_mode", "verify_compress", "g_wqs_per_iaa", "g_consec_descs_per_gwq")

_lock = threading.RLock()
_subsys: IaaSubsystem | None = None
_DEFAULTS: dict[str, Any] = {
    "codec": "auto",
    "timing": None,
    "timing_seed": 0,
    "completion_timeout_s": 5.0,
}
_config: dict[str, Any] = {"topology": Topology(), **_DEFAULTS}


def _build(driver_attrs: DriverAttrs | None = None) -> IaaSubsystem:
    return IaaSubsystem(
        _config["topology"],
        codec=resolve_codec(_config["codec"]),
        timing=_config["timing"] or TimingParams(),
        timing_seed=_config["timing_seed"],
        completion_timeout_s=_config["completion_timeout_s"],
        attrs=driver_attrs,
    )


def subsystem() -> IaaSubsystem:
    """The shared device state (created on first use)."""
    s = _subsys
    if s is not None:
        return s
    return _get_locked()


def _get_locked() -> IaaSubsystem:
    global _subsys
    with _lock:
        if _subsys is None:
            _subsys = _build()
        return _subsys


def _int_attr(name: str, value: object, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InvalidArgument(f"{name} must be an int >= {low}, got {value!r}")
    return value


def set_driver_attr(name: str, value: object) -> None:
    """Store a driver attribute; ``Busy`` while ``iaa_crypto_enabled``, before the value is parsed."""
    if name not in DRIVER_ATTRS:
        raise InvalidArgument(f"unknown driver attribute {name!r}; known: {DRIVER_ATTRS}")
    with _lock:
        s = subsystem()
        if s.enabled:  # the kernel's *_store(): `if (iaa_crypto_enabled) goto out;` with ret = -EBUSY
            raise Busy(f"iaa_crypto: cannot store {name} while the driver is enabled (unbind the WQs first)")
        a = s.attrs
        if name == "sync_mode":
            if not isinstance(value, str) or value not in SYNC_MODES:
                raise InvalidArgument(f"sync_mode must be one of {SYNC_MODES}, got {value!r}")
            a.sync_mode = value  # type: ignore[assignment]
        elif name == "verify_compress":
            if not isinstance(value, bool):
                raise InvalidArgument(f"verify_compress must be a bool, got {value!r}")
            a.verify_compress = value
        elif name == "g_wqs_per_iaa":
            a.g_wqs_per_iaa = _int_attr(name, value, 0)
        else:
            a.g_consec_descs_per_gwq = _int_attr(name, value, 1)


def get_driver_attr(name: str) -> object:
    if name not in DRIVER_ATTRS:
        raise InvalidArgument(f"unknown driver attribute {name!r}; known: {DRIVER_ATTRS}")
    return getattr(subsystem().attrs, name)


def bind() -> None:
    """Bind the WQs (``iaa_crypto_probe``): builds the WQ tables, sets ``iaa_crypto_enabled``."""
    subsystem().probe()


def unbind() -> None:
    """Remove the WQs from the driver (``iaa_crypto_remove``): disabled until bound again.

    Transforms still alive get ENODEV; the next transform allocated binds the WQs again.
    """
    subsystem().remove()


def configure(
    topology: Topology | None = None,
    *,
    codec: CodecName | None = None,
    timing: TimingParams | None = None,
    timing_seed: int | None = None,
    completion_timeout_s: float | None = None,
    **topology_fields: int,
) -> IaaSubsystem:
    """Rebuild the machine, e.g. ``configure(packages=1, devices_per_package=2)``.

    Fields not given keep their current values; driver attributes are kept.
    ``Busy`` while WQs are bound (:func:`unbind` first) or devices have work.
    """
    global _subsys
    with _lock:
        old = _subsys
        if old is not None and (old.bound or old.busy):
            raise Busy("iaa_crypto: cannot reconfigure while WQs are bound (unbind them first)")
        new_config = dict(_config)
        base = new_config["topology"] if topology is None else topology
        if not isinstance(base, Topology):
            raise InvalidArgument(f"topology must be a Topology, got {base!r}")
        try:
            new_config["topology"] = attrs.evolve(base, **topology_fields)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"bad topology: {exc}") from None
        for key, value in (
            ("codec", codec),
            ("timing", timing),
            ("timing_seed", timing_seed),
            ("completion_timeout_s", completion_timeout_s),
        ):
            if value is not None:
                new_config[key] = value
        try:
            resolve_codec(new_config["codec"])
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None
        _check_config(new_config)
        _config.update(new_config)
        if old is not None:
            old.shutdown()
        _subsys = _build(attrs.evolve(old.attrs) if old is not None else None)
        return _subsys


def _check_config(config: dict[str, Any]) -> None:
    if not isinstance(config["timing"], (TimingParams, type(None))):
        raise InvalidArgument(f"timing must be a TimingParams, got {config['timing']!r}")
    seed = config["timing_seed"]
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InvalidArgument(f"timing_seed must be an int, got {seed!r}")
    timeout = config["completion_timeout_s"]
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout < float("inf"):
        raise InvalidArgument(f"completion_timeout_s must be a positive number of seconds, got {timeout!r}")


def reset(timeout: float = 5.0) -> bool:
    """Stop all engine threads and return to the default machine and attributes, unbound.

    Transforms still alive keep working against the new state.  Returns True
    when every engine thread ended within ``timeout``.
    """
    global _subsys
    with _lock:
        old = _subsys
        _subsys = None
        _config.clear()
        _config.update({"topology": Topology(), **_DEFAULTS})
        return old.shutdown(timeout) if old is not None else True


def enable() -> None:
    """Re-enable the driver after it disabled itself (binds the WQs if they were not)."""
    s = subsystem()
    if s.bound:
        s.enabled = True
    else:
        s.probe()


def stats() -> dict[str, Any]:
    """The debugfs counters as a nested dict (see :mod:`acomp_iaa.stats`) plus fault counts."""
    s = subsystem()
    snap = s.stats.snapshot(s.batch_latencies())
    snap["faults"] = s.faults.snapshot()
    snap["enabled"] = s.enabled
    snap["bound"] = s.bound
    for name in DRIVER_ATTRS:
        snap[name] = getattr(s.attrs, name)
    snap["engine_busy_ns"] = {f"iaa{d}": ns for d, ns in sorted(s.timing.engine_busy_ns.items())}
    return snap


def reset_stats() -> None:
    subsystem().stats.reset()


def inject_fault(kind: str, count: int = 1, device: int | None = None) -> None:
    """The next ``count`` eligible descriptors (on ``device``, default any) fail with ``kind``."""
    s = subsystem()
    if device is not None and (
        not isinstance(device, int) or isinstance(device, bool) or not 0 <= device < s.topology.n_devices
    ):
        raise InvalidArgument(f"device must be None or 0..{s.topology.n_devices - 1}, got {device!r}")
    try:
        s.faults.inject(kind, count, device)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


def set_fault_rate(kind: str, rate: float) -> None:
    """Each eligible descriptor fails with ``kind`` with probability ``rate`` (seeded RNG)."""
    try:
        subsystem().faults.set_rate(kind, rate)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


def seed_faults(seed: int) -> None:
    subsystem().faults.seed(seed)


def clear_faults() -> None:
    subsystem().faults.clear()
