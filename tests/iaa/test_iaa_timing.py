"""The virtual clock: fitted on the seed's Table 1, deterministic, fed by the driver's batch records."""

from __future__ import annotations

import acomp_iaa
import pytest
from acomp_iaa import SEED_LATENCY, DeflateIaaDriver, simulate_batch_latency
from acomp_iaa.timing import Job, TimingModel, model_latency

import acomp
from acomp.errors import InvalidArgument


@pytest.fixture(scope="module")
def simulated() -> dict[str, object]:
    return {mode: simulate_batch_latency(mode, n_batches=20_000, seed=0) for mode in SEED_LATENCY}


@pytest.mark.parametrize("mode", sorted(SEED_LATENCY))
def test_model_is_fitted_on_the_seed_table_within_10_percent(mode: str, simulated: dict[str, object]) -> None:
    # Calibration, not a prediction: the model's parameters were chosen on this table.
    ours = simulated[mode]
    seed = SEED_LATENCY[mode]
    for field in ("mean", "p50", "p99"):
        got, want = getattr(ours, field), getattr(seed, field)
        assert abs(got / want - 1) <= 0.10, f"{mode} {field}: {got:.0f} ns vs seed {want:.0f} ns"


def test_model_is_deterministic_and_responds_to_topology() -> None:
    a = simulate_batch_latency("async", n_batches=500, seed=3)
    b = simulate_batch_latency("async", n_batches=500, seed=3)
    assert a == b
    # One device with one engine serializes the batch: async loses its advantage.
    serial = simulate_batch_latency("async", n_batches=500, seed=3, devices_per_package=1, engines_per_device=1)
    assert serial.p50 > 2 * a.p50
    sync = simulate_batch_latency("sync", n_batches=500, seed=3)
    assert sync.p50 > 3 * a.p50


def test_lost_descriptor_costs_the_timeout() -> None:
    m = TimingModel(seed=1)
    jobs = [Job(i % 4, 4096, 2000) for i in range(8)]
    ok = m.batch_latency("async", jobs)
    lost = m.batch_latency_with_timeouts("async", jobs, [False] * 7 + [True])
    assert lost >= m.params.timeout_ns > ok


def test_real_batches_are_recorded_by_mode_and_executor(real_pages: list[bytes]) -> None:
    d = DeflateIaaDriver()
    for _ in range(3):
        d.batch_compress(real_pages[:8], [8192] * 8)
    d.compress(real_pages[0], 8192)
    d.close()
    acomp_iaa.unbind()
    acomp_iaa.set_driver_attr("sync_mode", "sync")
    d = DeflateIaaDriver()
    d.batch_compress(real_pages[:8], [8192] * 8)
    s = acomp_iaa.stats()
    assert s["batch_records"] == {"async": {"do_async_req_chain": 3, "single": 1}, "sync": {"do_req_chain": 1}}
    lat = s["latency"]
    assert lat["async"]["do_async_req_chain"]["n"] == 3 and len(lat["async"]["do_async_req_chain"]["last"]) == 3
    assert lat["sync"]["do_req_chain"]["mean_ns"] > 2 * lat["async"]["do_async_req_chain"]["mean_ns"]
    assert s["engine_busy_ns"]["iaa0"] > 0
    d.close()


# -- acomp_model_latency: the plugin's hook -------------------------------------------------------


def test_model_latency_hook_answers_for_deflate_iaa_only() -> None:
    registry = acomp.registry.get_registry()
    registry.plugin_names()  # load the entry points
    hook = registry.pm.hook.acomp_model_latency
    sizes = [(4096, 2000)] * 20
    got = hook(driver_name="deflate-iaa", op="compress", sizes=sizes, batching="async")
    assert len(got) == 3  # calls of 8, 8 and 4 pages
    assert hook(driver_name="zstd-generic", op="compress", sizes=sizes, batching="async") is None


def test_model_latency_batching_modes_and_determinism() -> None:
    sizes = [(4096, 1500 + 10 * i) for i in range(80)]
    a = model_latency("compress", sizes, "async")
    s = model_latency("compress", sizes, "sync")
    n = model_latency("compress", sizes, "none")
    assert len(a) == len(s) == 10 and len(n) == 80
    assert a == model_latency("compress", sizes, "async")  # seeded
    assert sum(s) > 2 * sum(a)  # sync chaining pays every page's latency in turn
    assert sum(n) / 80 > sum(a) / 80 / 8  # a lone request costs more per page than a batch
    d = model_latency("decompress", [(1500, 4096)] * 8, "async")
    assert len(d) == 1 and d[0] > 0
    assert model_latency("compress", [], "async") == []


def test_model_latency_is_cheap_for_10000_pages() -> None:
    out = model_latency("compress", [(4096, 2000)] * 10_000, "async")
    assert len(out) == 1250  # no timed assertion: benchmarks measure speed


@pytest.mark.parametrize(
    ("op", "sizes", "batching"),
    [
        ("crush", [(1, 1)], "async"),
        ("compress", [(1, 1)], "always"),
        ("compress", [(1,)], "async"),
        ("compress", [(1, -1)], "async"),
        ("compress", [(1.0, 1)], "async"),
        ("compress", [[1, 1]], "async"),
    ],
)
def test_model_latency_bad_arguments(op: str, sizes: list[object], batching: str) -> None:
    with pytest.raises(InvalidArgument):
        model_latency(op, sizes, batching)  # type: ignore[arg-type]
