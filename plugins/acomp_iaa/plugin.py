"""Entry point ``iaa_fixed_deflate`` (group ``acomp.plugins``): registers ``deflate-iaa``.

Also adds the ``acomp seed`` command (``acomp_register_commands``) and answers
``acomp_model_latency`` for ``deflate-iaa`` with the timing model.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import acomp
from acomp.driver import RegisterDriver
from acomp_iaa.driver import DeflateIaaDriver
from acomp_iaa.sysfs import subsystem


@acomp.driver.hookimpl
def acomp_register_drivers(register: RegisterDriver) -> None:
    register(DeflateIaaDriver)


@acomp.driver.hookimpl
def acomp_describe_driver(driver_name: str) -> dict[str, object] | None:
    if driver_name != DeflateIaaDriver.driver_name:
        return None
    sub = subsystem()
    t = sub.topology
    a = sub.attrs
    return {
        "topology": (
            f"{t.packages} package(s) x {t.cores_per_package} core(s), "
            f"{t.devices_per_package} IAA device(s)/package, {t.wqs_per_device} WQ(s)/device "
            f"(depth {t.wq_depth}), {t.engine_threads_per_device} engine thread(s)/device"
        ),
        "sync_mode": a.sync_mode,
        "verify_compress": a.verify_compress,
        "g_wqs_per_iaa": a.g_wqs_per_iaa,
        "g_consec_descs_per_gwq": a.g_consec_descs_per_gwq,
        "codec": sub.codec,
        "enabled": sub.enabled,
    }


@acomp.driver.hookimpl
def acomp_register_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    from acomp_iaa.seed import add_parser

    add_parser(subparsers)


@acomp.driver.hookimpl
def acomp_model_latency(
    driver_name: str, op: str, sizes: Sequence[tuple[int, int]], batching: str
) -> list[float] | None:
    if driver_name != DeflateIaaDriver.driver_name:
        return None
    from acomp_iaa.timing import model_latency

    return model_latency(op, sizes, batching)
