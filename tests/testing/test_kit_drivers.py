"""The conformance kit against deliberately broken drivers: each fails, naming its property.

Drivers are registered at run time in the process-wide registry and removed
after each test.  The kit runs in full (one ``check_driver`` call) with a
small example budget: the broken property must be among the failures, and
the properties the driver does not break must pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import kit_drivers as kd
import pytest

import acomp
import acomp.testing
from acomp.testing import ConformanceError, ConformanceFailure, ConformanceSuite, check_driver
from acomp.testing.conformance._kit import Kit
from acomp.testing.conformance._requests import chains_in_flight

# Enough to find every planted bug (each is hit by the first examples); keeps the file fast.
EXAMPLES = 8

Register = Callable[..., str]


@pytest.fixture
def register() -> Iterator[Register]:
    """Register driver classes under a throwaway plugin; removed after the test."""
    names: list[str] = []

    def _register(*drivers: type[acomp.driver.Driver]) -> str:
        name = f"kit-test-{len(names)}-{drivers[0].driver_name}"
        got = acomp.registry.get_registry().register_plugin(kd.KitPlugin(*drivers), name=name)
        assert got == name
        names.append(name)
        return name

    yield _register
    for name in names:
        acomp.registry.get_registry().unregister_plugin(name)


def run_kit(driver: str) -> ConformanceError:
    with pytest.raises(ConformanceError) as info:
        check_driver(driver, max_examples=EXAMPLES)
    return info.value


def assert_names(err: ConformanceError, driver: str, prop: str) -> None:
    assert prop in err.failures, f"{prop!r} not among the failures: {err.failures}"
    msg = err.failures[prop]
    assert msg.startswith(f"{driver}: property '{prop}': "), msg
    assert msg in str(err)


def test_good_drivers_pass(register: Register) -> None:
    register(kd.GoodDeflate, kd.GoodBatchingDeflate)
    for driver in ("kitdeflate-good", "kitdeflate-batching"):
        report = check_driver(driver)  # the profile's full budget
        assert report.ok
        assert report.failed == {}
        # The two share a wire format, so every property applies and ran.
        assert report.passed == list(acomp.testing.PROPERTIES), report


def test_wrong_dlen_fails_dlen(register: Register) -> None:
    register(kd.WrongDlen)
    err = run_kit("kitdeflate-wrongdlen")
    assert_names(err, "kitdeflate-wrongdlen", "dlen")
    assert "do not decompress" in err.failures["dlen"]
    assert "round trip" in err.failures
    assert_names(err, "kitdeflate-wrongdlen", "round trip")
    assert "registration" in err.report.passed


def test_overstated_dlen_fails_dlen(register: Register) -> None:
    register(kd.PaddedDlen)
    err = run_kit("kitdeflate-padded")
    assert_names(err, "kitdeflate-padded", "dlen")
    assert "dlen is larger than the stream" in err.failures["dlen"]
    # Its streams still round-trip: only the dlen property sees the lie.
    assert "round trip" in err.report.passed


def test_ignoring_the_dst_bound_fails_dst_bounds(register: Register) -> None:
    register(kd.IgnoresDstBound)
    err = run_kit("kitdeflate-unbounded")
    assert_names(err, "kitdeflate-unbounded", "dst bounds")
    assert "returned 4096 bytes into a 4095-byte dst" in err.failures["dst bounds"]
    assert "decompression bomb" in err.failures
    assert "round trip" in err.report.passed


def test_inflating_before_the_bound_check_fails_the_bomb(register: Register) -> None:
    register(kd.InflatesFirst)
    err = run_kit("kitdeflate-inflatesfirst")
    assert_names(err, "kitdeflate-inflatesfirst", "decompression bomb")
    assert "heap peaked" in err.failures["decompression bomb"]
    # Errors are right, only the memory is not: dst bounds hold.
    assert "dst bounds" in err.report.passed


def test_inflating_in_native_memory_fails_the_bomb(register: Register) -> None:
    """Item 3: the bomb inflated where tracemalloc cannot see it (an mmap, as a C codec's buffer)."""
    register(kd.InflatesNatively)
    err = run_kit("kitdeflate-inflatesnatively")
    assert_names(err, "kitdeflate-inflatesnatively", "decompression bomb")
    msg = err.failures["decompression bomb"]
    assert "resident memory peaked" in msg and "native memory" in msg, msg
    # The Python heap stayed small (the old kit's only measure), and the errors are right.
    assert "heap" not in msg
    assert {"dst bounds", "corrupt input", "round trip"} <= set(err.report.passed)


def test_bounded_decoder_with_native_state_passes_the_bomb(register: Register) -> None:
    """Item 3: 8 MiB of native decoder state per call is not a bomb; only output beyond the dst is."""
    register(kd.LargeDecoderState)
    report = check_driver("kitdeflate-largestate", properties=["decompression bomb"], max_examples=EXAMPLES)
    assert report.passed == ["decompression bomb"], report


def test_native_memory_is_measured_here() -> None:
    """The native check must not silently not run on the platform CI uses."""
    from acomp.testing.conformance._memory import native_memory_unmeasured, resident_growth

    assert native_memory_unmeasured() == ""
    grown = resident_growth(lambda: bytearray(32 << 20))
    assert grown >= 30 << 20, grown


def test_nospace_for_corrupt_input_fails_corrupt_input(register: Register) -> None:
    """Item 4: ENOSPC is "does not fit"; corrupt or truncated input is InvalidData/BadMessage."""
    register(kd.CorruptAsNoSpace)
    err = run_kit("kitdeflate-corruptnospace")
    assert_names(err, "kitdeflate-corruptnospace", "corrupt input")
    msg = err.failures["corrupt input"]
    assert "NoSpace(ENOSPC" in msg and "expected errno in {EBADMSG, EINVAL}" in msg, msg
    assert {"round trip", "dst bounds", "decompression bomb"} <= set(err.report.passed)


def test_nospace_for_corrupt_input_passes_when_relaxed(register: Register) -> None:
    """Item 4: the named option accepts it, and the report says so."""
    register(kd.CorruptAsNoSpace)
    report = check_driver(
        "kitdeflate-corruptnospace",
        properties=["corrupt input", "empty input"],
        strict_corrupt_errors=False,
        max_examples=EXAMPLES,
    )
    assert report.passed == ["corrupt input", "empty input"]
    assert any("strict_corrupt_errors=False" in n for n in report.notes), report.notes


def test_honest_nospace_for_a_damaged_stream_is_accepted(register: Register) -> None:
    """Item 4: a damaged stream that is a valid, longer stream may say "does not fit"."""
    register(kd.GoodDeflate)
    page = kd.deflate(bytes(8192))  # valid raw deflate of two pages
    tfm = acomp.alloc("kitdeflate-good")
    with pytest.raises(acomp.NoSpace):
        tfm.decompress(acomp.Request(page, dst=bytearray(4096)))
    report = check_driver("kitdeflate-good", properties=["corrupt input"], max_examples=200)
    assert report.passed == ["corrupt input"]


def test_a_bare_value_error_fails_corrupt_input(register: Register) -> None:
    register(kd.RaisesValueError)
    err = run_kit("kitdeflate-valueerror")
    assert_names(err, "kitdeflate-valueerror", "corrupt input")
    msg = err.failures["corrupt input"]
    assert "ValueError" in msg and "EIO" in msg, msg
    assert "round trip" in err.report.passed


def test_batch_size_without_a_hook_is_refused_at_registration(register: Register) -> None:
    with pytest.warns(acomp.driver.AcompPluginWarning, match="batch_size=8 claimed without a batch_compress hook"):
        register(kd.ClaimsBatchWithoutHook)
    assert "kitdeflate-nohook" not in {r.driver_name for r in acomp.algorithms()}
    err = run_kit("kitdeflate-nohook")
    assert_names(err, "kitdeflate-nohook", "registration")
    assert "AcompPluginWarning" in err.failures["registration"]
    assert set(err.report.skipped) == set(acomp.testing.PROPERTIES) - {"registration"}


def test_batch_hook_returning_one_result_fails_batch(register: Register) -> None:
    register(kd.BatchFirstOnly)
    err = run_kit("kitdeflate-firstonly")
    assert_names(err, "kitdeflate-firstonly", "batch")
    assert "results for a batch of" in err.failures["batch"]


def test_batch_hook_processing_only_the_first_fails_batch(register: Register) -> None:
    register(kd.BatchSameResult)
    err = run_kit("kitdeflate-sameresult")
    assert_names(err, "kitdeflate-sameresult", "batch")
    # Some request after the first got the first one's outcome (its output or its error), seen
    # through tfm.batch_compress or, when that takes one request (no async batching), the hook itself.
    unit = r"(batch_compress of \d+: request|the batch_compress hook with \d+ source\(s\): source) [1-7] of \d+ "
    assert re.search(unit, err.failures["batch"]), err.failures["batch"]


def test_async_batching_without_a_batch_fails_capabilities(register: Register) -> None:
    register(kd.AsyncBatchingWithoutBatch)
    err = run_kit("kitdeflate-fakeasyncbatch")
    assert_names(err, "kitdeflate-fakeasyncbatch", "capabilities")
    assert "async_batching claimed with batch_size=1" in err.failures["capabilities"]
    assert set(err.failures) == {"capabilities"}


@pytest.mark.filterwarnings("ignore:.*completed a request twice:acomp.registry.AcompPluginWarning")
def test_double_completion_fails_async(register: Register) -> None:
    register(kd.DoubleCompletion)
    err = run_kit("kitdeflate-doublecb")
    assert_names(err, "kitdeflate-doublecb", "async")
    assert "completed a request twice" in err.failures["async"]


def test_peeking_at_a_missing_header_fails_empty_input(register: Register) -> None:
    register(kd.PeeksHeader)
    err = run_kit("kitdeflate-peeksheader")
    assert_names(err, "kitdeflate-peeksheader", "empty input")
    msg = err.failures["empty input"]
    assert "decompress of an empty stream" in msg and "IndexError" in msg, msg
    assert "round trip" in err.report.passed


def test_one_compress_descriptor_fails_chain(register: Register) -> None:
    """Several chains in flight at once (and several requests: 'async') share the one descriptor.

    The core runs each chain one request at a time (v6.15 acomp_do_req_chain,
    the driver has no REQ_CHAIN), so one chain alone is right; what the old
    test relied on (the core submitting a chain's requests all at once) is gone.
    """
    register(kd.SharedDescriptor)
    err = run_kit("kitdeflate-onedescriptor")
    assert_names(err, "kitdeflate-onedescriptor", "chain")
    # Under v6.15 only the several chains see it; a core that still submits a chain's
    # requests all at once shows it in the first async chain already.
    chain_in_flight = r"(4 async chains of 3 in flight at once|async chain of \d+) \(compress\): request \d+ of \d+ "
    assert re.search(chain_in_flight, err.failures["chain"]), err.failures["chain"]
    assert_names(err, "kitdeflate-onedescriptor", "async")
    assert "8 async compress requests in flight at once: request " in err.failures["async"], err.failures
    # One request in flight at a time is right: sync chains and single submits pass.
    assert set(err.failures) == {"chain", "async"}
    # The several-chains check alone catches it, whichever way the core runs one chain.
    kit = Kit("kitdeflate-onedescriptor")
    kit.prop = "chain"
    try:
        with pytest.raises(ConformanceFailure, match=r"4 async chains of 3 in flight at once \(compress\): request "):
            chains_in_flight(kit, kit.tfm())
    finally:
        kit.close()


def test_compressing_a_views_whole_buffer_fails_segmentation(register: Register) -> None:
    register(kd.ZeroCopyView)
    err = run_kit("kitdeflate-zerocopy")
    assert_names(err, "kitdeflate-zerocopy", "segmentation")
    assert re.search(r"segmented compress of a \d+-page folio .*: unit \d+ ", err.failures["segmentation"])
    # A whole buffer given as a memoryview is fine: only units (slices of the folio) differ.
    assert set(err.failures) == {"segmentation"}


def test_unlocked_shared_state_fails_thread_safety(register: Register) -> None:
    register(kd.SharedScratch)
    err = run_kit("kitdeflate-scratch")
    assert_names(err, "kitdeflate-scratch", "thread safety")
    assert "4 threads sharing one transform: thread " in err.failures["thread safety"]
    # Requests in flight at once ('async', 'chain') run on acomp's worker threads: the same race.
    assert set(err.failures) <= {"thread safety", "async", "chain"}


def test_another_format_under_the_wire_format_fails_wire_format(register: Register) -> None:
    register(kd.GoodDeflate, kd.ZlibWrapped)
    err = run_kit("kitdeflate-zlib")
    assert_names(err, "kitdeflate-zlib", "wire format")
    assert "kitdeflate-good cannot read this driver's stream" in err.failures["wire format"]
    # Its own streams round-trip: only a sibling of the same wire format sees it.
    assert set(err.failures) == {"wire format"}


def test_every_property_has_a_broken_driver() -> None:
    """Each property of the kit is shown to fail: a test above names it via assert_names."""
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    proven = set(re.findall(r'assert_names\(err, "[^"]+", "([^"]+)"\)', source))
    assert proven == set(acomp.testing.PROPERTIES), sorted(set(acomp.testing.PROPERTIES) - proven)


def test_unknown_driver_fails_registration() -> None:
    err = run_kit("no-such-driver-xyz")
    assert_names(err, "no-such-driver-xyz", "registration")


def test_one_property_and_unknown_property(register: Register) -> None:
    register(kd.IgnoresDstBound)
    report = check_driver("kitdeflate-unbounded", properties=["registration", "dlen"], max_examples=EXAMPLES)
    assert report.passed == ["registration", "dlen"]
    with pytest.raises(ValueError, match="unknown property"):
        check_driver("kitdeflate-unbounded", properties=["no such property"])


# -- the pytest-class form ----------------------------------------------------------------


class _UnboundedSuite(ConformanceSuite):
    driver = "kitdeflate-unbounded"
    max_examples = EXAMPLES


class _MissingSuite(ConformanceSuite):
    driver = "kitdeflate-not-registered"
    skip_if_missing = True


def test_suite_methods_fail_with_the_property(register: Register) -> None:
    register(kd.IgnoresDstBound)
    suite = _UnboundedSuite()
    try:
        suite.test_registration()
        suite.test_round_trip()
        with pytest.raises(ConformanceFailure, match=r"^kitdeflate-unbounded: property 'dst bounds': ") as info:
            suite.test_dst_bounds()
        assert info.value.property == "dst bounds"
        assert isinstance(info.value, AssertionError)
    finally:
        _UnboundedSuite.teardown_class()


def test_suite_skips_a_missing_driver_when_asked() -> None:
    with pytest.raises(pytest.skip.Exception, match="not registered"):
        _MissingSuite().test_round_trip()


def test_suite_needs_a_driver() -> None:
    class NoDriver(ConformanceSuite):
        pass

    with pytest.raises(TypeError, match="set the class attribute 'driver'"):
        NoDriver().test_registration()


@pytest.fixture(scope="class")
def _good_registered() -> Iterator[None]:
    name = acomp.registry.get_registry().register_plugin(
        kd.KitPlugin(kd.GoodDeflate, kd.GoodBatchingDeflate), "kit-suite-good"
    )
    assert name == "kit-suite-good"
    yield
    acomp.registry.get_registry().unregister_plugin("kit-suite-good")


@pytest.mark.usefixtures("_good_registered")
class TestGoodBatchingDriverSuite(ConformanceSuite):
    """The class form, collected by pytest, on a driver registered at run time."""

    driver = "kitdeflate-batching"
    max_examples = EXAMPLES


def test_suite_has_one_test_per_property() -> None:
    """The pytest class is generated from the table: one test per row, named after it."""
    tests = sorted(n for n in dir(ConformanceSuite) if n.startswith("test_"))
    assert tests == sorted("test_" + p.replace(" ", "_") for p in acomp.testing.PROPERTIES)


def test_report_is_an_attrs_value() -> None:
    import attrs

    report = acomp.testing.ConformanceReport(
        "d",
        (
            acomp.testing.PropertyOutcome("dlen", "passed"),
            acomp.testing.PropertyOutcome("chain", "failed", "d: property 'chain': x"),
            acomp.testing.PropertyOutcome("wire format", "skipped", "no sibling"),
        ),
    )
    assert attrs.has(type(report)) and not hasattr(report, "__dict__")
    assert report.passed == ["dlen"] and report.failed == {"chain": "d: property 'chain': x"}
    assert report.skipped == {"wire format": "no sibling"} and not report.ok
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        report.driver = "e"  # type: ignore[misc]
