"""Entry point ``iaa_fixed_deflate`` (group ``acomp.plugins``): registers ``deflate-iaa``."""

from __future__ import annotations

import acomp
from acomp.driver import RegisterDriver
from acomp_iaa.api import subsystem
from acomp_iaa.driver import DeflateIaaDriver


@acomp.driver.hookimpl
def acomp_register_drivers(register: RegisterDriver) -> None:
    register(DeflateIaaDriver)


@acomp.driver.hookimpl
def acomp_describe_driver(driver_name: str) -> dict[str, object] | None:
    if driver_name != DeflateIaaDriver.driver_name:
        return None
    sub = subsystem()
    t = sub.topology
    return {
        "topology": (
            f"{t.packages} package(s) x {t.cores_per_package} core(s), "
            f"{t.devices_per_package} IAA device(s)/package, {t.wqs_per_device} WQ(s)/device "
            f"(depth {t.wq_depth}), {t.engine_threads_per_device} engine thread(s)/device"
        ),
        "sync_mode": sub.sync_mode,
        "verify_compress": sub.verify_compress,
        "codec": sub.codec,
        "enabled": sub.enabled,
    }
