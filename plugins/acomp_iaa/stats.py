"""iaa_crypto's debugfs statistics, with the kernel's names, plus the virtual latencies.

Global: ``total_comp_calls``, ``total_decomp_calls``, ``total_sw_decomp_calls``,
``total_comp_bytes_out``, ``total_decomp_bytes_in``,
``total_completion_einval_errors``, ``total_completion_timeout_errors``,
``total_completion_comp_buf_overflow_errors``.  Per device and per WQ:
``comp_calls``, ``comp_bytes``, ``decomp_calls``, ``decomp_bytes``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from acomp_iaa.timing import summarize

__all__ = ["GLOBAL_COUNTERS", "WQ_COUNTERS", "IaaStats"]

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
WQ_COUNTERS = ("comp_calls", "comp_bytes", "decomp_calls", "decomp_bytes")
#: Emulation-only counters (no kernel equivalent).
EXTRA_COUNTERS = ("verify_calls", "verify_mismatches", "wq_full_errors", "disabled_rejects")

#: One recorded batch: (device, slen, dlen, lost) per descriptor.
BatchRecord = tuple[tuple[int, int, int, bool], ...]

#: How many recent batches are kept for the latency summary.
LATENCY_HISTORY = 1024


class IaaStats:
    """All counters behind one lock (updates are a few integer adds)."""

    def __init__(self, n_devices: int, wqs_per_device: int) -> None:
        self._lock = threading.Lock()
        self._n_devices = n_devices
        self._wqs = wqs_per_device
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._global = dict.fromkeys(GLOBAL_COUNTERS + EXTRA_COUNTERS, 0)
            self._wq = [[dict.fromkeys(WQ_COUNTERS, 0) for _ in range(self._wqs)] for _ in range(self._n_devices)]
            self._latency: dict[str, deque[list[Any]]] = {}
            self._batches: dict[str, int] = {}

    def add(self, name: str, value: int = 1) -> None:
        with self._lock:
            self._global[name] += value

    def submitted(self, compress: bool, descs: Sequence[tuple[int, int, int]]) -> None:
        """Count a batch's descriptors, each ``(device, wq, slen)``, under one lock."""
        with self._lock:
            g = self._global
            if compress:
                g["total_comp_calls"] += len(descs)
                for device, wq, _ in descs:
                    self._wq[device][wq]["comp_calls"] += 1
            else:
                g["total_decomp_calls"] += len(descs)
                for device, wq, slen in descs:
                    g["total_decomp_bytes_in"] += slen
                    self._wq[device][wq]["decomp_calls"] += 1

    def succeeded(self, device: int, wq: int, compress: bool, slen: int, dlen: int) -> None:
        with self._lock:
            if compress:
                self._global["total_comp_bytes_out"] += dlen
                self._wq[device][wq]["comp_bytes"] += dlen
            else:
                self._wq[device][wq]["decomp_bytes"] += slen

    def record_batch(self, mode: str, jobs: BatchRecord) -> None:
        """Keep a batch's descriptors (device, slen, dlen, lost) for the virtual clock."""
        with self._lock:
            hist = self._latency.get(mode)
            if hist is None:
                hist = self._latency[mode] = deque(maxlen=LATENCY_HISTORY)
            hist.append([jobs, None])
            self._batches[mode] = self._batches.get(mode, 0) + 1

    def latencies(self, clock: Callable[[str, BatchRecord], float]) -> dict[str, list[float]]:
        """Virtual latency of each kept batch, by mode; each batch is timed once, in order."""
        with self._lock:
            out: dict[str, list[float]] = {}
            for mode, hist in self._latency.items():
                values = []
                for entry in hist:
                    if entry[1] is None:
                        entry[1] = clock(mode, entry[0])
                    values.append(entry[1])
                out[mode] = values
            return out

    def get(self, name: str) -> int:
        with self._lock:
            return self._global[name]

    def wq(self, device: int, wq: int) -> dict[str, int]:
        with self._lock:
            return dict(self._wq[device][wq])

    def snapshot(self, latencies: dict[str, list[float]] | None = None) -> dict[str, Any]:
        """Nested dict: globals, ``devices`` -> ``iaa{N}`` -> totals and ``wqs`` -> ``wq.{M}``.

        ``latencies``: the virtual latency of each recorded batch, by mode
        (summarized under ``latency``: the last :data:`LATENCY_HISTORY` batches).
        """
        with self._lock:
            devices: dict[str, Any] = {}
            for d, wqs in enumerate(self._wq):
                totals = dict.fromkeys(WQ_COUNTERS, 0)
                for w in wqs:
                    for k in WQ_COUNTERS:
                        totals[k] += w[k]
                devices[f"iaa{d}"] = {**totals, "wqs": {f"wq.{i}": dict(w) for i, w in enumerate(wqs)}}
            latency = {
                mode: {**summarize(h).as_dict(), "batches": self._batches.get(mode, 0), "last": h[-16:]}
                for mode, h in (latencies or {}).items()
            }
            return {**self._global, "devices": devices, "latency": latency}
