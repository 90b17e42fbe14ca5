"""The shared argument types and helpers of :mod:`acomp.cli.common`, fed good and bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from acomp import PAGE_SIZE
from acomp.cli.common import alloc_tfm, parse_params, percent_type, positive_int, size_type
from acomp.cli.compress import unit_size_type
from acomp.cli.output import CliError
from acomp.cli.pages import load_corpus


@pytest.mark.parametrize(
    ("fn", "good", "bad", "message"),
    [
        (positive_int, {"1": 1, "42": 42}, ["0", "-1", "x", "1.5", ""], "expected a positive integer"),
        (percent_type, {"1": 1, "100": 100}, ["0", "101", "-5", "ten"], "expected a percentage 1..100"),
        (unit_size_type, {"512": 512, "65536": 65536}, ["abc", "4k"], "expected an integer unit size"),
        (unit_size_type, {}, ["511", "65537", "0"], "unit size must be in 512..65536, got"),
        (size_type, {"4096": 4096, "64K": 65536, "2g": 2 << 30, "1.5MiB": 3 << 19}, ["", "-5M", "5X"], "size like"),
        (size_type, {}, ["0", "0K"], "expected a positive size"),
    ],
)
def test_argument_types(fn, good, bad, message) -> None:  # type: ignore[no-untyped-def]
    for text, value in good.items():
        assert fn(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            fn(text)


def test_unit_size_out_of_range_names_the_value() -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        unit_size_type("100")
    assert str(info.value) == "unit size must be in 512..65536, got 100"


def test_parse_params() -> None:
    got = parse_params(["level=9", "neg=-3", " on = yes", "off=False", "mode=async", "empty="])
    assert got == {"level": 9, "neg": -3, "on": True, "off": False, "mode": "async", "empty": ""}
    assert parse_params(None) == {}
    for bad in ("level", "=5", " =1"):
        with pytest.raises(CliError, match="KEY=VALUE") as info:
            parse_params([bad])
        assert info.value.code == 2


def test_alloc_tfm_errors() -> None:
    with pytest.raises(CliError, match=r"unknown algorithm 'nope' \(known: .*lz4-generic"):
        alloc_tfm("nope")
    with pytest.raises(CliError, match="cannot allocate 'zstd'"):
        alloc_tfm("zstd", {"level": 99})
    with alloc_tfm("lz4", {}) as tfm:
        assert tfm.alg_name == "lz4"


def test_load_corpus(tmp_path: Path) -> None:
    assert len(load_corpus(None, 0, 7)) == 7
    assert len(load_corpus("", 0, 7)) == 7
    assert len(load_corpus(" 5 ", 0, 7)) == 5
    f = tmp_path / "data"
    f.write_bytes(b"x" * (2 * PAGE_SIZE + 1))
    assert load_corpus(str(f), 0, 7).kinds == ("file",) * 3
    with pytest.raises(CliError, match="positive count") as info:
        load_corpus("0", 0, 7)
    assert info.value.code == 2
    with pytest.raises(CliError, match="neither a page count nor an existing file"):
        load_corpus(str(tmp_path / "missing"), 0, 7)
    with pytest.raises(CliError, match="is a directory"):
        load_corpus(str(tmp_path), 0, 7)
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(CliError, match="is empty"):
        load_corpus(str(tmp_path / "empty"), 0, 7)
