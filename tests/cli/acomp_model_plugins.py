"""Plugins implementing ``acomp_model_latency`` for the advise tests (imported by name, like acomp_cli_helpers).

* :class:`LinearModel` models ``lz4-generic`` as if it were a device, with a
  latency the tests can compute by hand: the plumbing, checked exactly.
* :class:`IaaTimingStandIn` answers for ``deflate-iaa`` with the IAA plugin's
  own timing model (``acomp_iaa.timing.TimingModel``), the way the plugin's
  hook will: a stand-in used only while no installed plugin answers the hook
  for ``deflate-iaa`` (the iaa helper is adding the real one).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

import acomp
from acomp.driver import register_plugin, unregister_plugin

#: LinearModel: ns per call = FIXED + PER_OUT_BYTE x output bytes of the call's pages, batches of BATCH.
FIXED, PER_OUT_BYTE, BATCH = 1_000.0, 0.5, 8


class LinearModel:
    @acomp.driver.hookimpl
    def acomp_model_latency(
        self, driver_name: str, op: str, sizes: Sequence[tuple[int, int]], batching: str
    ) -> list[float] | None:
        if driver_name != "lz4-generic":
            return None
        per = 1 if batching == "none" else BATCH
        factor = 2.0 if batching == "sync" else 1.0
        out = []
        for start in range(0, len(sizes), per):
            group = sizes[start : start + per]
            written = sum(d for _s, d in group) if op == "compress" else sum(s for s, _d in group)
            out.append(factor * (FIXED + PER_OUT_BYTE * written))
        return out


class IaaTimingStandIn:
    """deflate-iaa through acomp_iaa.timing: one descriptor per page, round robin over the package's devices."""

    def __init__(self) -> None:
        from acomp_iaa import timing

        self.timing = timing
        self.model = timing.TimingModel(seed=0)
        self.devices = timing.SEED_TOPOLOGY_SHAPE["devices_per_package"]

    @acomp.driver.hookimpl
    def acomp_model_latency(
        self, driver_name: str, op: str, sizes: Sequence[tuple[int, int]], batching: str
    ) -> list[float] | None:
        if driver_name != "deflate-iaa":
            return None
        mode = "sync" if batching == "sync" else "async"
        per = 1 if batching == "none" else 8
        job = self.timing.Job
        out = []
        rr = 0
        for start in range(0, len(sizes), per):
            jobs = []
            for slen, dlen in sizes[start : start + per]:
                jobs.append(job(rr % self.devices, slen, dlen))
                rr += 1
            out.append(self.model.batch_latency(mode, jobs))
        return out


def _registered(plugin: object, name: str) -> Iterator[object]:
    register_plugin(plugin, name)
    try:
        yield plugin
    finally:
        unregister_plugin(name)


@pytest.fixture
def linear_model() -> Iterator[object]:
    yield from _registered(LinearModel(), "test-linear-model")


def real_iaa_model_answers() -> bool:
    from acomp.cli.kernel_model import model_latency

    return model_latency("deflate-iaa", "compress", [(4096, 2000)], "none") is not None


@pytest.fixture
def iaa_model() -> Iterator[str]:
    """Some model of deflate-iaa's latency: the installed plugin's, else the stand-in; yields which."""
    if "deflate-iaa" not in {r.driver_name for r in acomp.algorithms()}:
        pytest.skip("deflate-iaa is not registered")
    if real_iaa_model_answers():
        yield "plugin"
        return
    pytest.importorskip("acomp_iaa.timing")
    for _ in _registered(IaaTimingStandIn(), "test-iaa-timing-stand-in"):
        yield "stand-in"
