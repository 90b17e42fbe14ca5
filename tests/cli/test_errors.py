"""Every error is one line on stderr, a non-zero exit status and no traceback (real process)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from acomp_cli_helpers import assert_one_line_error, run_process

from acomp.cli.container import ContainerHeader, ContainerWriter


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("errors")
    data = (b"some text that compresses " * 700) + os.urandom(5000)
    src = d / "in.bin"
    src.write_bytes(data)
    good = d / "good.acz"
    r = run_process(["compress", "-a", "zstd", str(src), "-o", str(good)])
    assert r.returncode == 0, r.stderr
    raw = good.read_bytes()
    corrupt = bytearray(raw)
    corrupt[60] ^= 0x5A  # inside the first unit's payload
    header_bad = bytearray(raw)
    header_bad[12] ^= 0x01  # unit size field: header CRC mismatch
    out = {
        "src": src,
        "good": good,
        "corrupt": d / "corrupt.acz",
        "header": d / "header.acz",
        "trunc_header": d / "trunc_header.acz",
        "trunc_unit": d / "trunc_unit.acz",
        "trunc_end": d / "trunc_end.acz",
        "foreign": d / "foreign.txt",
        "empty": d / "empty.acz",
        "trailing": d / "trailing.acz",
        "alien": d / "alien.acz",
        "outdir": d / "outdir",
    }
    out["corrupt"].write_bytes(bytes(corrupt))
    out["header"].write_bytes(bytes(header_bad))
    out["trunc_header"].write_bytes(raw[:12])
    out["trunc_unit"].write_bytes(raw[:200])
    out["trunc_end"].write_bytes(raw[:-12])
    out["foreign"].write_bytes(b"#!/bin/sh\necho this is not a container\n")
    out["empty"].write_bytes(b"")
    out["trailing"].write_bytes(raw + b"x")
    alien = io.BytesIO()  # a valid, empty container of an algorithm nobody implements
    ContainerWriter(alien, ContainerHeader("nosuchalg", "nosuchalg-hw", 4096)).finish()
    out["alien"].write_bytes(alien.getvalue())
    out["outdir"].mkdir()
    return out


CASES = {
    "unknown algorithm": (["compress", "-a", "no-such-alg", "{src}", "-o", "{tmp}/x"], "unknown algorithm"),
    "missing input": (["compress", "-a", "zstd", "{tmp}/does-not-exist", "-o", "{tmp}/x"], "no such file"),
    "missing container": (["decompress", "{tmp}/does-not-exist.acz", "-o", "{tmp}/x"], "no such file"),
    "directory input": (["compress", "-a", "lz4", "{tmp}", "-o", "{tmp}/x"], "directory"),
    "corrupt container": (["decompress", "{corrupt}", "-o", "{tmp}/x"], "corrupt"),
    "corrupt header": (["decompress", "{header}", "-o", "{tmp}/x"], "corrupt"),
    "truncated header": (["decompress", "{trunc_header}", "-o", "{tmp}/x"], "truncated"),
    "truncated unit": (["decompress", "{trunc_unit}", "-o", "{tmp}/x"], "truncated"),
    "truncated end": (["decompress", "{trunc_end}", "-o", "{tmp}/x"], "truncated"),
    "foreign file": (["decompress", "{foreign}", "-o", "{tmp}/x"], "not an acomp container"),
    "empty file": (["decompress", "{empty}", "-o", "{tmp}/x"], "not an acomp container"),
    "trailing data": (["decompress", "{trailing}", "-o", "{tmp}/x"], "after the end marker"),
    "decompress unknown override": (["decompress", "{good}", "-a", "nope", "-o", "{tmp}/x"], "unknown algorithm"),
    "bad driver param": (["compress", "-a", "zstd", "-p", "level=99", "{src}", "-o", "{tmp}/x"], "level"),
    "malformed param": (["compress", "-a", "zstd", "-p", "level", "{src}", "-o", "{tmp}/x"], "KEY=VALUE"),
    "bad unit size": (["compress", "-a", "zstd", "--unit-size", "100", "{src}", "-o", "{tmp}/x"], "unit size"),
    "negative pages": (["bench", "--pages", "-3"], "--pages"),
    "zero repeat": (["bench", "--repeat", "0", "--pages", "4"], "positive integer"),
    "bench unknown driver": (["bench", "--pages", "4", "--drivers", "zstd,bogus"], "unknown algorithm"),
    "bench pages file missing": (["bench", "--pages", "{tmp}/nope.bin"], "neither a page count"),
    "zswap negative workers": (["zswap", "--workers", "-1"], "positive integer"),
    "zswap bad percent": (["zswap", "--max-pool-percent", "101"], "percentage"),
    "zswap bad ram": (["zswap", "--total-ram=-5M"], "size"),
    "zswap unknown compressor": (
        ["zswap", "-c", "nope", "--workers", "1", "--pages-per-worker", "4"],
        "unknown algorithm",
    ),
    "zswap bad folio": (["zswap", "--folio-size", "3k"], "folio size"),
    "list bad number": (["list", "--min-batch", "abc"], "positive integer"),
    "output is a directory": (["compress", "-a", "lz4", "{src}", "-o", "{outdir}"], "is a directory"),
    "output directory missing": (["compress", "-a", "lz4", "{src}", "-o", "{tmp}/no/dir/x"], "cannot write"),
    "unit size not a number": (["compress", "-a", "zstd", "--unit-size", "4k", "{src}", "-o", "{tmp}/x"], "unit size"),
    "param with no key": (["compress", "-a", "zstd", "-p", "=5", "{src}", "-o", "{tmp}/x"], "KEY=VALUE"),
    "container of an unknown algorithm": (["decompress", "{alien}", "-o", "{tmp}/x"], "no registered driver"),
    "decompress with a foreign wire format": (
        ["decompress", "{good}", "-a", "lz4", "-o", "{tmp}/x"],
        "does not decompress",
    ),
    "bench no driver named": (["bench", "--pages", "4", "--drivers", ","], "no driver named"),
    "bench bad driver param": (["bench", "--pages", "4", "--drivers", "zstd", "-p", "level=99"], "level"),
    "bench pages directory": (["bench", "--pages", "{outdir}"], "is a directory"),
    "corpus pages empty file": (["corpus", "--pages", "{empty}"], "is empty"),
    "zswap compare names nothing": (["zswap", "--compare", ","], "no compressor named"),
    "zswap bad configuration": (["zswap", "--compare", "lz4:fast"], "NAME:nobatch"),
    "zswap too many pages": (
        ["zswap", "-c", "lz4", "--workers", "4096", "--pages-per-worker", "2048"],
        "more than this tool allows",
    ),
    "zswap zero ram": (["zswap", "--total-ram", "0"], "positive size"),
    "seed zero batches": (["seed", "--batches", "0"], "positive integer"),
    "unknown command": (["frobnicate"], "invalid choice"),
    "unknown option": (["list", "--frobnicate"], "unrecognized"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_is_one_line(name: str, files: dict[str, Path], tmp_path: Path) -> None:
    argv, needle = CASES[name]
    fmt = {k: str(v) for k, v in files.items()}
    fmt["tmp"] = str(tmp_path)
    args = [a.format(**fmt) for a in argv]
    r = run_process(args)
    assert_one_line_error(r.returncode, r.stderr.decode(), needle)
    # A failed run leaves no output file behind.
    assert not (tmp_path / "x").exists()


def test_usage_error_exit_status_is_2(cli: object) -> None:
    r = run_process(["bench", "--pages", "-3"])
    assert r.returncode == 2


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    f = tmp_path / "secret.bin"
    f.write_bytes(b"x" * 100)
    f.chmod(0)
    r = run_process(["compress", "-a", "lz4", str(f), "-o", str(tmp_path / "x")])
    assert_one_line_error(r.returncode, r.stderr.decode(), "permission denied")


def test_in_process_errors_do_not_raise(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rc, _out, err = cli("decompress", str(tmp_path / "missing"), "-o", str(tmp_path / "x"))
    assert_one_line_error(rc, err, "no such file")
    rc, _out, err = cli("compress", "-a", "nope", str(tmp_path / "missing"), "-o", "-")
    assert_one_line_error(rc, err, "unknown algorithm")
