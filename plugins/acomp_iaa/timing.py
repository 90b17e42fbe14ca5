"""The virtual clock: what a batch would cost on the real IAA.

Python cannot show IAA's microsecond latencies, so every descriptor also runs
through this model, which advances virtual time (nanoseconds) from a few
physical parameters (see docs/iaa.md, "Timing model"):

* the submitting CPU pays ``submit_ns`` per descriptor (descriptor set-up and
  the ENQCMDS round trip) and ``completion_ns`` per completion record it
  processes (status, output size, statistics);
* an engine takes ``engine_setup_ns`` plus a per-byte cost for input and output;
  each device has ``engines_per_device`` engines working in parallel;
* a descriptor on a package's shared (global) WQ waits, with probability
  ``contention_p``, behind jobs of other cores of the package (a geometric
  number of them, ``contention_jobs_mean`` on average): the p99 tail;
* a waiting CPU either spins on one record (``sync``: notices the completion
  within one ``poll_ns`` read), walks the chain reading every pending record
  (``async``: ``poll_ns`` per read; the seed's v4 "async polling" pays
  ``v4_poll_extra_ns`` more per read for its per-request bookkeeping), or
  sleeps until the interrupt (``async_irq``: ``irq_ns`` per completion);
* every cost is multiplied by a lognormal jitter (``jitter_sigma``).

The model is deterministic for a given seed.  Batches are independent: all
engines are idle when a batch starts, except for the modelled contention.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable, Sequence
from typing import Literal

import attrs

from acomp_iaa.fixed import deflate_fixed, resolve_codec

__all__ = [
    "BATCHING_MODES",
    "SEED_LATENCY",
    "SEED_TOPOLOGY_SHAPE",
    "Job",
    "LatencySummary",
    "ModelMode",
    "TimingModel",
    "TimingParams",
    "model_latency",
    "page_sizes",
    "simulate_batch_latency",
    "summarize",
    "usemem_pages",
]

#: ``sync``/``async``/``async_irq`` are the driver's sync_mode values;
#: ``async_polling`` is the seed's v4 batching without request chaining.
ModelMode = Literal["sync", "async", "async_irq", "async_polling"]


@attrs.define(frozen=True, slots=True)
class TimingParams:
    """Calibrated against the seed's table (docs/iaa.md explains each value)."""

    submit_ns: float = 785.0
    completion_ns: float = 150.0
    poll_ns: float = 100.0
    v4_poll_extra_ns: float = 25.0
    irq_ns: float = 1500.0
    engine_setup_ns: float = 660.0
    engine_ns_per_in_byte: float = 0.42
    engine_ns_per_out_byte: float = 0.25
    jitter_sigma: float = 0.05
    contention_p: float = 0.001
    contention_jobs_mean: float = 1.5
    cold_start_p: float = 0.04
    cold_start_ns: float = 5000.0
    #: What a lost descriptor costs the waiting CPU before it gives up.
    timeout_ns: float = 1_000_000.0


@attrs.define(frozen=True, slots=True)
class Job:
    """One descriptor as the model sees it."""

    device: int
    slen: int
    dlen: int


@attrs.define(frozen=True, slots=True)
class LatencySummary:
    """Batch latency statistics in nanoseconds."""

    n: int
    mean: float
    p50: float
    p99: float

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "mean_ns": self.mean, "p50_ns": self.p50, "p99_ns": self.p99}


#: The seed's table: ``crypto_acomp_batch_compress()`` of 8 pages, usemem30,
#: 16k/32k/64k folios (mean, p50, p99 in ns).
SEED_LATENCY: dict[str, LatencySummary] = {
    "async_polling": LatencySummary(5_210_702, 10_083.0, 9_675.0, 17_488.0),
    "sync": LatencySummary(5_396_532, 33_391.0, 32_977.0, 39_426.0),
    "async": LatencySummary(5_509_777, 9_959.0, 9_611.0, 16_590.0),
}

#: The seed machine: 2 packages x 56 cores, 4 IAA devices per package, 2 WQs per device.
SEED_TOPOLOGY_SHAPE: dict[str, int] = {
    "packages": 2,
    "cores_per_package": 56,
    "devices_per_package": 4,
    "wqs_per_device": 2,
    "engines_per_device": 8,
}


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (as bpftrace histograms are read)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize(latencies: Iterable[float]) -> LatencySummary:
    values = sorted(latencies)
    if not values:
        return LatencySummary(0, 0.0, 0.0, 0.0)
    return LatencySummary(len(values), sum(values) / len(values), _percentile(values, 50), _percentile(values, 99))


class TimingModel:
    """Virtual clock for batches of descriptors; thread-safe, seeded."""

    def __init__(self, params: TimingParams | None = None, *, engines_per_device: int = 8, seed: int = 0) -> None:
        self.params = params or TimingParams()
        self.engines_per_device = engines_per_device
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        #: Virtual busy time per device (ns), summed over all batches.
        self.engine_busy_ns: dict[int, float] = {}

    def _jitter(self) -> float:
        s = self.params.jitter_sigma
        return math.exp(self._rng.gauss(-0.5 * s * s, s)) if s > 0 else 1.0

    def engine_ns(self, job: Job) -> float:
        p = self.params
        base = p.engine_setup_ns + job.slen * p.engine_ns_per_in_byte + job.dlen * p.engine_ns_per_out_byte
        return base * self._jitter()

    def _contention_ns(self, own_ns: float) -> float:
        p = self.params
        if p.contention_p <= 0 or self._rng.random() >= p.contention_p:
            return 0.0
        # Foreign jobs ahead on the shared WQ: geometric count with the given
        # mean, each a page like ours; the first is already part done.
        q = 1.0 / p.contention_jobs_mean
        wait = own_ns * self._rng.random()
        while self._rng.random() >= q:
            wait += own_ns * self._jitter()
        return wait

    def batch_latency(self, mode: ModelMode, jobs: Sequence[Job]) -> float:
        """Virtual ns from the first submission to the last completion the caller sees."""
        with self._lock:
            return self._batch(mode, jobs, None)

    def batch_latency_with_timeouts(self, mode: ModelMode, jobs: Sequence[Job], lost: Sequence[bool]) -> float:
        """As :meth:`batch_latency`; a lost descriptor costs ``timeout_ns`` of waiting."""
        with self._lock:
            return self._batch(mode, jobs, lost)

    def _run_engine(self, t_submit: float, job: Job, free: dict[int, list[float]]) -> float:
        engines = free.get(job.device)
        if engines is None:
            engines = [0.0] * self.engines_per_device
            free[job.device] = engines
        i = min(range(len(engines)), key=engines.__getitem__)
        run = self.engine_ns(job)
        start = max(t_submit, engines[i]) + self._contention_ns(run)
        end = start + run
        engines[i] = end
        self.engine_busy_ns[job.device] = self.engine_busy_ns.get(job.device, 0.0) + run
        return end

    def _batch(self, mode: ModelMode, jobs: Sequence[Job], lost: Sequence[bool] | None) -> float:
        p = self.params
        free: dict[int, list[float]] = {}
        t = 0.0
        if not jobs:
            return t
        if p.cold_start_p > 0 and self._rng.random() < p.cold_start_p:
            t += self._rng.expovariate(1.0 / p.cold_start_ns)
        if lost is None:
            lost = [False] * len(jobs)
        if mode == "sync":
            for job, gone in zip(jobs, lost):
                t += p.submit_ns * self._jitter()
                if gone:
                    t += p.timeout_ns
                    continue
                end = self._run_engine(t, job, free)
                t = max(t, end) + self._rng.random() * p.poll_ns
                t += p.completion_ns * self._jitter()
            return t
        ends: list[float] = []
        for job, gone in zip(jobs, lost):
            t += p.submit_ns * self._jitter()
            ends.append(math.inf if gone else self._run_engine(t, job, free))
        if mode == "async_irq":
            order = sorted(ends)
            if order[-1] == math.inf:
                return t + p.timeout_ns
            for end in order:
                t = max(t, end + p.irq_ns * self._jitter()) + p.completion_ns * self._jitter()
            return t
        read_ns = p.poll_ns + (p.v4_poll_extra_ns if mode == "async_polling" else 0.0)
        give_up = t + p.timeout_ns
        pending = list(range(len(jobs)))
        while pending:
            still: list[int] = []
            for i in pending:
                t += read_ns
                if ends[i] <= t:
                    t += p.completion_ns * self._jitter()
                elif t >= give_up:
                    continue  # lost: reported as ETIMEDOUT
                else:
                    still.append(i)
            if still and len(still) == len(pending):
                # Nothing finished in this pass: skip ahead to the next
                # completion in whole passes of reads, as the loop would.
                nxt = min(min(ends[i] for i in still), give_up)
                if nxt > t:
                    per_pass = read_ns * len(still)
                    t += math.ceil((nxt - t) / per_pass) * per_pass - per_pass
            pending = still
        return t


def usemem_pages(n: int = 64, seed: int = 30) -> list[bytes]:
    """Synthetic pages standing in for usemem30's: half random, half repeated text.

    Their fixed-deflate output is about 60% of the page, so both the input and
    output byte costs of the engine matter.  Deterministic for a seed.
    """
    rng = random.Random(seed)
    words = [rng.randbytes(16) for _ in range(32)]
    pages = []
    for _ in range(n):
        chunks = []
        for _ in range(4096 // 64):
            if rng.random() < 0.5:
                chunks.append(rng.randbytes(64))
            else:
                chunks.append(b"".join(rng.choice(words) for _ in range(4)))
        pages.append(b"".join(chunks))
    return pages


def page_sizes(pages: Iterable[bytes], limit: int = 256) -> list[tuple[int, int]]:
    """(slen, dlen) of each page under the real fixed-deflate codec (at most ``limit`` pages)."""
    codec = resolve_codec("auto")
    out = []
    for i, page in enumerate(pages):
        if i >= limit:
            break
        out.append((len(page), len(deflate_fixed(bytes(page), codec))))
    if not out:
        raise ValueError("page_source yielded no pages")
    return out


def simulate_batch_latency(
    mode: ModelMode,
    n_batches: int = 20_000,
    seed: int = 0,
    page_source: Iterable[bytes] | None = None,
    *,
    batch_size: int = 8,
    params: TimingParams | None = None,
    devices_per_package: int = SEED_TOPOLOGY_SHAPE["devices_per_package"],
    wqs_per_device: int = SEED_TOPOLOGY_SHAPE["wqs_per_device"],
    engines_per_device: int = SEED_TOPOLOGY_SHAPE["engines_per_device"],
) -> LatencySummary:
    """Latency of ``n_batches`` compress batches of ``batch_size`` pages on the seed's machine.

    Compress descriptors go round robin over the package's global WQs (wq.1
    of every device) when devices have 2 WQs, as in the seed; with one WQ per
    device a core's batch all goes to its own device.
    """
    sizes = page_sizes(page_source if page_source is not None else usemem_pages())
    model = TimingModel(params, engines_per_device=engines_per_device, seed=seed)
    latencies = []
    rr = 0
    k = 0
    for _ in range(n_batches):
        jobs = []
        for _ in range(batch_size):
            slen, dlen = sizes[k % len(sizes)]
            k += 1
            if wqs_per_device >= 2:
                device = rr % devices_per_package
                rr += 1
            else:
                device = 0
            jobs.append(Job(device, slen, dlen))
        latencies.append(model._batch(mode, jobs, None))
    return summarize(latencies)


#: ``batching`` values of :func:`model_latency` (the ``acomp_model_latency`` hook).
BATCHING_MODES = ("async", "sync", "none")


def model_latency(
    op: str,
    sizes: Sequence[tuple[int, int]],
    batching: str,
    *,
    params: TimingParams | None = None,
    seed: int = 0,
    batch_size: int = 8,
) -> list[float]:
    """Modelled latency (ns) of each call processing ``sizes`` on the seed's machine (acomp only).

    ``batching``: ``"async"`` (batches of ``batch_size``, async request
    chaining), ``"sync"`` (the same batches, sync request chaining) or
    ``"none"`` (one synchronous request per call).  Compress calls spread over
    the package's 4 devices (global WQs, as the seed ran); decompress calls go
    to the core's own device (wq.0).  Deterministic for a seed; the model's
    per-byte costs were fitted on compress only, so decompress figures are
    predictions.
    """
    from acomp.errors import InvalidArgument

    if op not in ("compress", "decompress"):
        raise InvalidArgument(f"op must be 'compress' or 'decompress', got {op!r}")
    if batching not in BATCHING_MODES:
        raise InvalidArgument(f"batching must be one of {BATCHING_MODES}, got {batching!r}")
    pairs: list[tuple[int, int]] = []
    for pair in sizes:
        if (
            not isinstance(pair, tuple)
            or len(pair) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in pair)
        ):
            raise InvalidArgument(f"sizes must hold (slen, dlen) pairs of ints >= 0, got {pair!r}")
        pairs.append(pair)
    per_call = 1 if batching == "none" else batch_size
    mode: ModelMode = "async" if batching == "async" else "sync"
    model = TimingModel(params, engines_per_device=SEED_TOPOLOGY_SHAPE["engines_per_device"], seed=seed)
    devices = SEED_TOPOLOGY_SHAPE["devices_per_package"]
    out: list[float] = []
    rr = 0
    for start in range(0, len(pairs), per_call):
        jobs = []
        for slen, dlen in pairs[start : start + per_call]:
            if op == "compress":
                jobs.append(Job(rr % devices, slen, dlen))
                rr += 1
            else:
                jobs.append(Job(0, slen, dlen))
        out.append(model.batch_latency(mode, jobs))
    return out
