"""``iaa_fixed_deflate``: an emulated Intel IAA (In-Memory Analytics Accelerator) for acomp.

Registers the ``deflate-iaa`` driver (algorithm ``deflate``, priority 300),
following the seed's v5 ``iaa_crypto``.  Its output is real: raw deflate in
one fixed-Huffman block with a 4 KiB window.  Devices, work queues and
engines are emulated; a virtual clock models the hardware's latencies.  See
docs/iaa.md.

Modules, by kernel concept: :mod:`~acomp_iaa.driver` (``iaa_acomp_fixed_deflate``,
the batch paths), :mod:`~acomp_iaa.core` (``check_completion``, ``iaa_comp_poll``,
the fallback), :mod:`~acomp_iaa.sysfs` (driver attributes and controls),
:mod:`~acomp_iaa.device` (``iaa_device``, ``iaa_wq``, ``idxd_desc``),
:mod:`~acomp_iaa.wq_map` (``wq_table``, ``global_wq_table``),
:mod:`~acomp_iaa.stats` (debugfs), :mod:`~acomp_iaa.faults`,
:mod:`~acomp_iaa.timing` (the virtual clock, acomp only) and
:mod:`~acomp_iaa.seed` (the ``acomp seed`` command).
"""

from __future__ import annotations

from acomp_iaa import sysfs
from acomp_iaa.core import IaaDisabled
from acomp_iaa.driver import IAA_CRYPTO_MAX_BATCH_SIZE, DeflateIaaDriver
from acomp_iaa.faults import FAULT_KINDS
from acomp_iaa.sysfs import *  # noqa: F403 - the controls, listed once in sysfs.__all__
from acomp_iaa.timing import SEED_LATENCY, LatencySummary, TimingParams, simulate_batch_latency
from acomp_iaa.wq_map import Topology

__all__ = [
    "FAULT_KINDS",
    "IAA_CRYPTO_MAX_BATCH_SIZE",
    "SEED_LATENCY",
    "DeflateIaaDriver",
    "IaaDisabled",
    "LatencySummary",
    "TimingParams",
    "Topology",
    "simulate_batch_latency",
]
__all__ += sysfs.__all__
