"""acomp.testing.strategies and the hypothesis profiles: what they generate is what they say."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import acomp
from acomp import PAGE_SIZE
from acomp.testing import active_profile, kit_settings, load_profile
from acomp.testing import strategies as acst

# A software driver that ships with acomp and detects truncation.
DRIVER = "zstd-generic"


@given(acst.labelled_pages())
def test_pages_are_a_page_of_their_kind(kp: tuple[str, bytes]) -> None:
    kind, page = kp
    assert len(page) == PAGE_SIZE
    if kind == "zero":
        assert page == bytes(PAGE_SIZE)
    elif kind == "same_filled":
        assert page == page[:8] * (PAGE_SIZE // 8)
    elif kind == "text":
        assert all(32 <= b < 127 or b in (9, 10) for b in page)
    elif kind == "binary":
        # 8-byte little-endian fields, most of them small or zero.
        fields = [int.from_bytes(page[i : i + 8], "little") for i in range(0, PAGE_SIZE, 8)]
        assert sum(f < 2**32 for f in fields) > len(fields) // 2


def test_page_kinds_differ_in_compressibility() -> None:
    sizes = {kind: len(acomp.compress(acst.make_page(kind, 1), DRIVER)) for kind in acst.PAGE_KINDS}
    assert sizes["zero"] < sizes["text"] < sizes["random"]
    assert sizes["random"] >= PAGE_SIZE  # incompressible
    assert sizes["same_filled"] < 64


@given(st.sampled_from(acst.PAGE_KINDS), st.integers(0, 2**32 - 1), st.integers(0, 3 * PAGE_SIZE))
def test_make_page_is_deterministic_and_sized(kind: str, seed: int, size: int) -> None:
    page = acst.make_page(kind, seed, size)
    assert len(page) == size
    assert page == acst.make_page(kind, seed, size)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown page kind"):
        acst.make_page("nope", 0)
    with pytest.raises(ValueError, match="page kinds"):
        acst.pages(["nope"])


@given(acst.pages(["zero", "random"]))
def test_pages_of_chosen_kinds(page: bytes) -> None:
    assert page == bytes(PAGE_SIZE) or len(set(page)) > 64


@given(acst.folios(2, 8))
def test_folios_are_whole_pages_within_bounds(folio: bytes) -> None:
    assert len(folio) % PAGE_SIZE == 0
    assert 2 <= len(folio) // PAGE_SIZE <= 8


@given(acst.folios(1, 512, power_of_two=True))
def test_folio_orders(folio: bytes) -> None:
    n = len(folio) // PAGE_SIZE
    assert n & (n - 1) == 0 and 1 <= n <= 512


def test_folio_bounds_are_checked() -> None:
    with pytest.raises(ValueError):
        acst.folios(0, 4)
    with pytest.raises(ValueError):
        acst.folios(1, 513)
    with pytest.raises(ValueError):
        acst.folios(3, 3, power_of_two=True)


@given(acst.compressed_streams(DRIVER))
def test_compressed_streams_are_the_drivers_output(cs: acst.CompressedStream) -> None:
    assert acomp.decompress(cs.stream, DRIVER, max_size=max(1, len(cs.original))) == cs.original


@given(acst.corrupt_streams(DRIVER))
def test_corrupt_streams_are_damaged(cs: acst.CorruptStream) -> None:
    good = acomp.compress(cs.original, DRIVER)
    assert cs.stream != good
    if cs.how.startswith("truncated"):
        assert good.startswith(cs.stream) and len(cs.stream) < len(good)
    elif "appended" in cs.how:
        assert cs.stream.startswith(good) and len(cs.stream) > len(good)
    elif "flipped" in cs.how or "overwritten" in cs.how:
        assert len(cs.stream) == len(good)


@given(acst.truncated_streams(DRIVER))
def test_truncated_streams_are_strict_prefixes(cs: acst.CorruptStream) -> None:
    good = acomp.compress(cs.original, DRIVER)
    assert cs.original
    assert good.startswith(cs.stream) and len(cs.stream) < len(good)
    with pytest.raises(acomp.AcompError):
        acomp.decompress(cs.stream, DRIVER, max_size=len(cs.original))


@given(acst.planted_batches(DRIVER, "compress"))
def test_planted_compress_batches(batch: list[acst.PlantedRequest]) -> None:
    assert 1 <= len(batch) <= acomp.alloc(DRIVER).batch_size
    for p in batch:
        assert p.src == p.original
        if p.expect == "nospace":
            assert p.capacity < len(acomp.compress(p.src, DRIVER))
        else:
            assert p.expect == "ok" and p.capacity >= len(acomp.compress(p.src, DRIVER))


@given(acst.planted_batches(DRIVER, "decompress", min_size=2, max_size=17))
def test_planted_decompress_batches(batch: list[acst.PlantedRequest]) -> None:
    assert 2 <= len(batch) <= 17
    for p in batch:
        full = acomp.compress(p.original, DRIVER)
        if p.expect == "ok":
            assert p.src == full and p.capacity >= len(p.original)
        elif p.expect == "nospace":
            assert p.src == full and p.capacity < len(p.original)
        else:
            assert p.expect == "corrupt" and full.startswith(p.src) and len(p.src) < len(full)


def test_planted_batches_plant_failures() -> None:
    seen: set[str] = set()

    @given(acst.planted_batches(DRIVER, "decompress", min_size=8, max_size=8))
    def collect(batch: list[acst.PlantedRequest]) -> None:
        seen.update(p.expect for p in batch)

    collect()
    assert seen == {"ok", "nospace", "corrupt"}


def test_planted_batches_check_arguments() -> None:
    with pytest.raises(ValueError, match="op must be"):
        acst.planted_batches(DRIVER, "sideways")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_size"):
        acst.planted_batches(DRIVER, "compress", min_size=5, max_size=2)


# -- profiles ------------------------------------------------------------------------


def test_profile_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert active_profile() == "dev"
    monkeypatch.setenv("CI", "true")
    assert active_profile() == "ci"
    monkeypatch.setenv("CI", "0")
    assert active_profile() == "dev"
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "thorough")
    assert active_profile() == "thorough"
    assert active_profile("ci") == "ci"


def test_kit_settings_follow_the_profile() -> None:
    assert kit_settings("ci").max_examples < kit_settings("dev").max_examples
    assert kit_settings("ci", max_examples=3).max_examples == 3
    assert kit_settings("thorough").deadline is None


def test_load_profile_makes_it_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from hypothesis import settings

    before = settings.default
    try:
        assert load_profile("thorough") == "thorough"
        assert settings.default.max_examples == settings.get_profile("thorough").max_examples
    finally:
        settings.load_profile(active_profile())
        assert settings.default.max_examples == before.max_examples
