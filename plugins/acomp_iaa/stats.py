"""iaa_crypto's debugfs statistics, with the kernel's names, plus the per-mode batch records.

Global (kernel ``iaa_crypto_stats.c``): ``total_comp_calls``,
``total_decomp_calls``, ``total_sw_decomp_calls``, ``total_comp_bytes_out``,
``total_decomp_bytes_in``, ``total_completion_einval_errors``,
``total_completion_timeout_errors``, ``total_completion_comp_buf_overflow_errors``.
Per device and per WQ: ``comp_calls``, ``comp_bytes``, ``decomp_calls``,
``decomp_bytes``.  They count where the kernel counts (see docs/iaa.md,
"Statistics"): calls when a descriptor is submitted, bytes when it succeeded.

Each thread adds into its own counter array, without a lock (the kernel's
counters are atomics); a snapshot sums the arrays.  A batch's counts are added
once per batch.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from acomp_iaa.timing import summarize

__all__ = ["EXTRA_COUNTERS", "GLOBAL_COUNTERS", "WQ_COUNTERS", "BatchRecord", "Counters", "IaaStats"]

GLOBAL_COUNTERS = (
    "total_comp_calls",
    "total_decomp_calls",
    "total_sw_decomp_calls",
    "total_comp_bytes_out",
    "total_decomp_bytes_in",
    "total_completion_einval_errors",
    "total_completion_timeout_errors",
    "total_completion_comp_buf_overflow_errors",
)
#: acomp only (no kernel counter): verify work, descriptor waits that gave up,
#: requests refused while disabled, spin-limit timeouts (the kernel only logs those).
EXTRA_COUNTERS = (
    "verify_calls",
    "verify_mismatches",
    "desc_alloc_timeouts",
    "disabled_rejects",
    "completion_spin_timeouts",
)
WQ_COUNTERS = ("comp_calls", "comp_bytes", "decomp_calls", "decomp_bytes")
_NAMES = GLOBAL_COUNTERS + EXTRA_COUNTERS
#: Index of each global counter in :attr:`Counters.g`.
IDX = {name: i for i, name in enumerate(_NAMES)}
COMP_CALLS, DECOMP_CALLS, SW_DECOMP_CALLS, COMP_BYTES_OUT, DECOMP_BYTES_IN = range(5)
EINVAL_ERRORS, TIMEOUT_ERRORS, COMP_BUF_OVERFLOW_ERRORS = range(5, 8)
VERIFY_CALLS, VERIFY_MISMATCHES, DESC_ALLOC_TIMEOUTS, DISABLED_REJECTS, SPIN_TIMEOUTS = range(8, 13)
#: Offsets of a WQ's counters in :attr:`Counters.wq` (``wq.stat_base`` + these).
WQ_COMP_CALLS, WQ_COMP_BYTES, WQ_DECOMP_CALLS, WQ_DECOMP_BYTES = range(4)

#: One recorded batch: (device, slen, dlen, lost) per descriptor.
BatchRecord = Sequence[tuple[int, int, int, bool]]

#: How many recent batches are kept per mode for the latency summary.
LATENCY_HISTORY = 1024


class Counters:
    """One thread's counters: ``g`` by :data:`IDX`, ``wq`` four per WQ, and its calls
    by (mode, executor)."""

    __slots__ = ("calls", "g", "wq")

    def __init__(self, n_wqs: int) -> None:
        self.g = [0] * len(_NAMES)
        self.wq = [0] * (4 * n_wqs)
        self.calls: dict[tuple[str, str], int] = {}


class IaaStats:
    """The counters of every thread, and the recent batches of each mode."""

    def __init__(self, n_devices: int, wqs_per_device: int) -> None:
        self._lock = threading.Lock()
        self._n_devices = n_devices
        self._wqs = wqs_per_device
        self._all: list[Counters] = []
        self._tl = threading.local()
        self._latency: dict[str, deque[list[Any]]] = {}

    def mine(self) -> Counters:
        """The calling thread's counters (registered on first use)."""
        try:
            c: Counters = self._tl.c
            return c
        except AttributeError:
            c = Counters(self._n_devices * self._wqs)
            with self._lock:
                self._all.append(c)
            self._tl.c = c
            return c

    def reset(self) -> None:
        with self._lock:
            for c in self._all:
                c.g[:] = [0] * len(c.g)
                c.wq[:] = [0] * len(c.wq)
                c.calls.clear()
            self._latency = {}

    def record_batch(self, c: Counters, mode: str, executor: str, jobs: BatchRecord) -> None:
        """Keep a call (a batch or a lone request) for the virtual clock, under its mode and executor.

        ``c`` is the calling thread's counters; ``executor`` is how the driver
        ran it: ``do_req_chain`` (sync chaining), ``do_async_req_chain`` (submit
        all, then poll), ``single`` (a lone synchronous request), ``poll`` or
        ``irq`` (a lone POLL request, read by iaa_comp_poll or completed by the
        interrupt handler).  ``jobs`` is not copied: the caller hands it over.
        """
        hist = self._latency.get(mode)
        if hist is None:
            with self._lock:
                hist = self._latency.setdefault(mode, deque(maxlen=LATENCY_HISTORY))
        hist.append([executor, jobs, None])  # deque.append is atomic
        key = (mode, executor)
        calls = c.calls
        calls[key] = calls.get(key, 0) + 1

    def latencies(self, clock: Callable[[str, BatchRecord], float]) -> dict[str, dict[str, list[float]]]:
        """Virtual latency of each kept batch, by mode and executor; each batch is timed once."""
        with self._lock:
            out: dict[str, dict[str, list[float]]] = {}
            for mode, hist in self._latency.items():
                by_executor: dict[str, list[float]] = {}
                for entry in hist.copy():  # copy() is one C call: appends cannot interleave
                    if entry[2] is None:
                        entry[2] = clock(entry[0], entry[1])
                    by_executor.setdefault(entry[0], []).append(entry[2])
                out[mode] = by_executor
            return out

    def _sum(self) -> tuple[list[int], list[int]]:
        with self._lock:
            arrays = list(self._all)
        g = [0] * len(_NAMES)
        wq = [0] * (4 * self._n_devices * self._wqs)
        for c in arrays:
            g = [a + b for a, b in zip(g, c.g)]
            wq = [a + b for a, b in zip(wq, c.wq)]
        return g, wq

    def snapshot(self, latencies: dict[str, dict[str, list[float]]] | None = None) -> dict[str, Any]:
        """Nested dict: globals, ``devices`` -> ``iaa{N}`` -> totals and ``wqs`` -> ``wq.{M}``.

        ``batch_records``: how many calls each mode ran with each executor;
        ``latency``: mode -> executor -> the virtual latency summary of the last
        :data:`LATENCY_HISTORY` calls of that mode (``latencies``, ns).
        """
        g, flat = self._sum()
        devices: dict[str, Any] = {}
        for d in range(self._n_devices):
            wqs = {}
            totals = dict.fromkeys(WQ_COUNTERS, 0)
            for w in range(self._wqs):
                base = 4 * (d * self._wqs + w)
                one = {k: flat[base + i] for i, k in enumerate(WQ_COUNTERS)}
                wqs[f"wq.{w}"] = one
                for k in WQ_COUNTERS:
                    totals[k] += one[k]
            devices[f"iaa{d}"] = {**totals, "wqs": wqs}
        with self._lock:
            arrays = list(self._all)
        executors: dict[str, dict[str, int]] = {}
        for c in arrays:
            for (mode, ex), n in list(c.calls.items()):
                by = executors.setdefault(mode, {})
                by[ex] = by.get(ex, 0) + n
        latency = {
            mode: {ex: {**summarize(v).as_dict(), "last": v[-16:]} for ex, v in by_ex.items()}
            for mode, by_ex in (latencies or {}).items()
        }
        return {**dict(zip(_NAMES, g)), "devices": devices, "latency": latency, "batch_records": executors}
