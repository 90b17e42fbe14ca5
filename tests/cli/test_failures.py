"""Failures inside drivers and handlers: per-unit compress errors, drivers that lie, main()'s last resorts."""

from __future__ import annotations

import io
import json
import random
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from acomp_cli_helpers import assert_one_line_error

import acomp
import acomp.cli.list as list_cmd
from acomp.cli import main
from acomp.cli.compress import compress_stream
from acomp.errors import DriverError


class _FlakyDriver(acomp.driver.Driver):
    """Raw deflate, except that a unit starting with ``FAIL`` fails with EIO."""

    alg_name = "clitest-flaky"
    driver_name = "clitest-flaky-generic"

    def compress(self, src, capacity):  # type: ignore[no-untyped-def]
        if bytes(src[:4]) == b"FAIL":
            raise DriverError("the test driver refuses this unit")
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return self.fit(c.compress(bytes(src)) + c.flush(), capacity)

    def decompress(self, src, capacity):  # type: ignore[no-untyped-def]
        return self.fit(zlib.decompressobj(-15).decompress(bytes(src), capacity), capacity)


class _LyingDriver(_FlakyDriver):
    """Compresses fine; decompresses to the wrong bytes (same length)."""

    alg_name = "clitest-lying"
    driver_name = "clitest-lying-generic"

    def decompress(self, src, capacity):  # type: ignore[no-untyped-def]
        out = bytearray(super().decompress(src, capacity))
        out[0] ^= 0xFF
        return out


class _Plugin:
    @acomp.driver.hookimpl
    def acomp_register_drivers(self, register):  # type: ignore[no-untyped-def]
        register(_FlakyDriver)
        register(_LyingDriver)


@pytest.fixture
def test_drivers() -> Iterator[None]:
    acomp.algorithms()
    assert acomp.driver.register_plugin(_Plugin(), "cli-test-failures")
    try:
        yield
    finally:
        acomp.driver.unregister_plugin("cli-test-failures")


TEXT = b"a line of text that compresses well enough\n" * 100


def test_failed_units_are_stored_and_reported(cli, tmp_path: Path, test_drivers) -> None:  # type: ignore[no-untyped-def]
    data = TEXT[:4096] + b"FAIL" + TEXT[:4092] + TEXT[:4096] + b"FAIL tail"
    src, packed, back = tmp_path / "in", tmp_path / "in.acz", tmp_path / "out"
    src.write_bytes(data)
    rc, _, err = cli("compress", "-a", "clitest-flaky", str(src), "-o", str(packed))
    assert rc == 0
    assert "acomp: warning: 2 units failed to compress (2 x EIO) and were stored as-is" in err
    rc, _, err = cli("decompress", str(packed), "-o", str(back))
    assert rc == 0, err
    assert back.read_bytes() == data


def test_did_not_shrink_is_no_failure(test_drivers) -> None:  # type: ignore[no-untyped-def]
    with acomp.alloc("clitest-flaky") as tfm:
        writer, failures = compress_stream(tfm, io.BytesIO(random.Random(0).randbytes(4096)), io.BytesIO(), 4096)
    assert writer.stored_units == 1 and not failures


def test_wrong_bytes_are_caught_on_decompress(cli, tmp_path: Path, test_drivers) -> None:  # type: ignore[no-untyped-def]
    src, packed = tmp_path / "in", tmp_path / "in.acz"
    src.write_bytes(TEXT)
    assert cli("compress", "-a", "clitest-lying", str(src), "-o", str(packed))[0] == 0
    rc, _, err = cli("decompress", str(packed), "-o", str(tmp_path / "out"))
    assert_one_line_error(rc, err, "CRC mismatch")
    assert not (tmp_path / "out").exists()


def test_bench_reports_roundtrip_failures(cli, test_drivers) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = cli("bench", "--pages", "8", "--repeat", "1", "--drivers", "clitest-lying,clitest-flaky", "--json")
    assert rc == 1
    results = {r["driver"]: r for r in json.loads(out)["results"]}
    assert results["clitest-lying-generic"]["roundtrip_failures"] > 0
    assert results["clitest-flaky-generic"]["roundtrip_failures"] == 0
    assert "acomp: warning: pages did not round-trip with clitest-lying-generic" in err


def test_verbose_summaries(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, packed = tmp_path / "in", tmp_path / "in.acz"
    src.write_bytes(TEXT * 3)
    rc, _, err = cli("compress", "-v", "-a", "lz4", str(src), "-o", str(packed))
    assert rc == 0
    assert f"acomp: lz4-generic: {len(TEXT) * 3} -> {packed.stat().st_size} bytes" in err
    assert "4 units, 0 stored as-is" in err
    rc, _, err = cli("decompress", "-v", str(packed), "-o", str(tmp_path / "out"))
    assert rc == 0
    assert "lz4 (written by lz4-generic), unit size 4096, 4 units, decompressed by lz4-generic" in err


@pytest.mark.parametrize(
    ("exc", "status", "needle"),
    [
        (RuntimeError("boom"), 1, "internal error: RuntimeError('boom') (run with ACOMP_DEBUG=1"),
        (acomp.InvalidArgument("bad thing"), 1, "EINVAL: bad thing"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (MemoryError(), 1, "out of memory"),
    ],
)
def test_main_last_resort_handlers(  # type: ignore[no-untyped-def]
    cli, monkeypatch: pytest.MonkeyPatch, exc: BaseException, status: int, needle: str
) -> None:
    def boom(args: object) -> int:
        raise exc

    monkeypatch.delenv("ACOMP_DEBUG", raising=False)
    monkeypatch.setattr(list_cmd, "run", boom)
    rc, _, err = cli("list")
    assert rc == status
    assert_one_line_error(rc, err, needle)


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(list_cmd, "run", boom)
    monkeypatch.delenv("ACOMP_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="boom"):
        main(["--debug", "list"])
    monkeypatch.setenv("ACOMP_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["list"])
