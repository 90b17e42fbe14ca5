"""``iaa_fixed_deflate``: an emulated Intel IAA (In-Memory Analytics Accelerator) for acomp.

Registers the ``deflate-iaa`` driver (algorithm ``deflate``, priority 300).
Its output is real: raw deflate in one fixed-Huffman block with a 4 KiB
window.  Devices, work queues and engines are emulated with threads; a
virtual clock models the hardware's latencies.  See docs/iaa.md.
"""

from __future__ import annotations

from acomp_iaa import api
from acomp_iaa.api import *  # noqa: F403 - the controls, listed once in api.__all__
from acomp_iaa.driver import IAA_CRYPTO_MAX_BATCH_SIZE, DeflateIaaDriver
from acomp_iaa.faults import FAULT_KINDS
from acomp_iaa.subsystem import IaaDisabled
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
__all__ += api.__all__
