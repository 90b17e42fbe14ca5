"""The kernel-cost model: what one zswap store would cost the kernel, per configuration.

``sys_us_per_zswpout = ZSWAP_OWN_US_PER_PAGE + compress_us_per_page``

* ``ZSWAP_OWN_US_PER_PAGE`` is everything a zswap store costs besides the
  compressor (reclaim's share, ``zswap_store`` itself, the zsmalloc copy, the
  xarray and LRU, the swap-out and swap-in paths ``usemem`` drives), derived
  **once** from the seed (SPEC section 2): with batching, deflate-iaa's sys
  time per zswpout was 32.5 µs (usemem30, 64k folios), and a batch of 8
  compressions took 9,959 ns on average (async request chaining), a CPU that
  busy-polls the batch paying all of it: 9.959 / 8 = 1.245 µs per page, so
  zswap's own cost is 32.5 - 1.245 = **31.255 µs** per page.  Only those two
  seed figures enter; the other seed figures (zstd's 54.9, no batching's
  34.2) are what the model is checked against, never fitted to.
* ``compress_us_per_page``: a software compressor's mean codec time per page
  (over the fastest 99 % of pages: the rest hold the scheduler's interruptions)
  **measured here** (:mod:`acomp.cli.pagefacts`): this machine's, which
  stands in for the kernel's codec on the same pages; a modelled device's
  (deflate-iaa) is its timing model's latency for exactly these pages through
  the ``acomp_model_latency`` hook: the sum of the calls' latencies over the
  pages, since the CPU polls each call to its end (v5: a batch of
  ``batch_size`` pages per call with ``async`` or ``sync`` request chaining,
  or one page per call without batching, a lone request being polled too).
* ``decompress_us_per_page`` likewise (zswap loads one page per call).

Assumed, not measured: zswap's own cost is the same for every compressor and
on this machine as on the seed's Sapphire Rapids; the CPU is busy for the
whole of a polled device call (sys time); the kernel's software codecs cost
what the Python bindings' C libraries cost here.  ``zswap_mb_s_per_cpu`` is
``PAGE_SIZE / sys_us_per_zswpout``: one CPU doing nothing but zswap stores.
``docs/choosing-a-compressor.md`` has the derivation and its checks.
"""

from __future__ import annotations

import array
import warnings
from collections.abc import Sequence
from typing import Any

from acomp.cli.pagefacts import percentile
from acomp.request import PAGE_SIZE

__all__ = [
    "BATCHINGS",
    "SEED_BATCH8_ASYNC_MEAN_NS",
    "SEED_SYS_US_PER_ZSWPOUT",
    "ZSWAP_OWN_US_PER_PAGE",
    "model_latency",
    "modelled",
    "software",
    "unmodelled",
]

#: The seed's sys time per zswpout, usemem30, 64k folios (SPEC section 2, seed-derived).
SEED_SYS_US_PER_ZSWPOUT = {"zstd": 54.9, "deflate-iaa:nobatch": 34.2, "deflate-iaa": 32.5}
#: The seed's batch-of-8 compress latency, async request chaining, mean (ns).
SEED_BATCH8_ASYNC_MEAN_NS = 9_959
#: zswap's own cost per stored page: derived once from the two seed figures above.
ZSWAP_OWN_US_PER_PAGE = SEED_SYS_US_PER_ZSWPOUT["deflate-iaa"] - SEED_BATCH8_ASYNC_MEAN_NS / 8 / 1e3

#: A modelled device's configurations: (suffix of the configuration's name, hook ``batching``, label).
BATCHINGS = (
    ("", "async", "async batch"),
    (":sync", "sync", "sync batch"),
    (":nobatch", "none", "no batching"),
)
#: Pages per hook call (a multiple of every batch size; batches are independent in the model).
_CHUNK = 4096


def _costs(compress_us: float | None, decompress_us: float | None) -> dict[str, float | None]:
    sys_us = None if compress_us is None else ZSWAP_OWN_US_PER_PAGE + compress_us
    return {
        "compress_us_per_page": compress_us,
        "decompress_us_per_page": decompress_us,
        "sys_us_per_zswpout": sys_us,
        "zswap_us_per_page": ZSWAP_OWN_US_PER_PAGE,
        "zswap_mb_s_per_cpu": PAGE_SIZE / sys_us if sys_us else None,
    }


def software(configuration: str, compress_us: float | None, decompress_us: float | None) -> dict[str, Any]:
    """The model for a software compressor from its codec times measured here."""
    return {
        "configuration": configuration,
        **_costs(compress_us, decompress_us),
        "sources": {
            "compress": "measured here: this machine's codec time per page (mean of the fastest 99 %)",
            "decompress": "measured here: this machine's codec time per page (mean of the fastest 99 %)",
            "zswap": "derived from the seed (docs/choosing-a-compressor.md)",
        },
    }


def unmodelled(configuration: str) -> dict[str, Any]:
    """A device-backed driver no plugin models: its emulator's speed says nothing of the device's."""
    return {
        "configuration": configuration,
        **{k: None for k in _costs(None, None)},
        "zswap_us_per_page": ZSWAP_OWN_US_PER_PAGE,
        "sources": {
            "compress": "none: no plugin models this device (acomp_model_latency returned None); the codec times "
            "are the emulator's, measured here, and say nothing of the device's",
            "decompress": "none (see compress)",
            "zswap": "derived from the seed (docs/choosing-a-compressor.md)",
        },
    }


def model_latency(driver_name: str, op: str, sizes: Sequence[tuple[int, int]], batching: str) -> list[float] | None:
    """``acomp_model_latency`` for ``sizes``, asked in chunks; None when no plugin models the driver.

    A plugin that raises is reported with a warning and treated as not modelling.
    """
    from acomp.registry import get_registry

    hook = get_registry().pm.hook.acomp_model_latency
    out: list[float] = []
    for start in range(0, len(sizes), _CHUNK):
        try:
            got = hook(driver_name=driver_name, op=op, sizes=list(sizes[start : start + _CHUNK]), batching=batching)
        except Exception as exc:
            warnings.warn(f"acomp_model_latency failed for {driver_name}: {exc!r}", stacklevel=2)
            return None
        if got is None:
            return None
        out.extend(float(x) for x in got)
    return out


def _per_page(latencies: Sequence[float], pages: int) -> float | None:
    return sum(latencies) / pages / 1e3 if pages else None


def modelled(driver_name: str, sizes: array.array[int] | Sequence[int]) -> dict[str, Any] | None:
    """The model for a device a plugin models, from the compressed ``sizes`` of these pages; None if none does.

    Returns the async-batch configuration's figures, and every configuration's
    under ``configurations`` (with the per-call latencies' p50/p99 per page
    under ``compress_ns`` / ``decompress_ns``).
    """
    comp_sizes = [(PAGE_SIZE, min(s, PAGE_SIZE)) for s in sizes]
    stored = [(s, PAGE_SIZE) for s in sizes if s <= PAGE_SIZE]
    if not comp_sizes:
        return None
    decomp = model_latency(driver_name, "decompress", stored, "none") if stored else []
    if decomp is None:
        return None
    configurations: dict[str, Any] = {}
    for suffix, batching, label in BATCHINGS:
        comp = model_latency(driver_name, "compress", comp_sizes, batching)
        if comp is None:
            continue
        per_call = len(comp_sizes) / len(comp) if comp else 1.0
        configurations[driver_name + suffix] = {
            "batching": batching,
            "label": label,
            **_costs(_per_page(comp, len(comp_sizes)), _per_page(decomp, len(stored))),
            "compress_ns": _percentiles([c / per_call for c in comp]),
            "decompress_ns": _percentiles(decomp),
        }
    if not configurations:
        return None
    default = configurations.get(driver_name) or next(iter(configurations.values()))
    return {
        "configuration": driver_name if driver_name in configurations else next(iter(configurations)),
        **{k: default[k] for k in _costs(None, None)},
        "sources": {
            "compress": "modelled: the device's timing model on these pages' sizes (acomp_model_latency)",
            "decompress": "modelled: the device's timing model, one page per call",
            "zswap": "derived from the seed (docs/choosing-a-compressor.md)",
        },
        "configurations": configurations,
    }


def _percentiles(values: Sequence[float]) -> dict[str, float | None]:
    ints = [round(v) for v in values]
    return {"p50": percentile(ints, 50), "p99": percentile(ints, 99)}
