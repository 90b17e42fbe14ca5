"""``acomp new-plugin``: the skeleton is installable, clean, and passes its own tests unchanged.

The full third-party flow (a fresh venv, acomp installed from the repository,
the skeleton installed with its ``testing`` extra, its tests run) is
docs/examples/acomp-bz2/ci_check.sh, which CI runs; ``-m slow`` runs it here.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import acomp
import acomp.testing
from acomp.cli import main
from acomp.cli.new_plugin import NewPluginError, make_spec, render
from acomp.cli.new_plugin_template import CODECS

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "examples" / "acomp-bz2"
#: Files of the sample that are not the skeleton's: its CI check.
SAMPLE_EXTRA = {"ci_check.sh"}


def _files(directory: Path) -> dict[str, str]:
    return {
        p.relative_to(directory).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(directory.rglob("*"))
        # Not caches (__pycache__, .ruff_cache, ...) nor build output.
        if p.is_file()
        and not any(part.startswith((".", "__pycache__")) or part.endswith(".egg-info") for part in p.parts)
    }


def test_the_sample_plugin_is_the_skeletons_output() -> None:
    """docs/examples/acomp-bz2 is `acomp new-plugin bz2 --alg bz2 --codec bz2`, byte for byte."""
    want = render(make_spec("bz2", "bz2", codec="bz2"))
    have = {k: v for k, v in _files(SAMPLE).items() if k not in SAMPLE_EXTRA}
    assert sorted(have) == sorted(want)
    for path, text in want.items():
        assert have[path] == text, f"{path} differs: regenerate with 'acomp new-plugin bz2 --alg bz2 --codec bz2'"


def test_the_command_writes_the_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "snappy"
    assert main(["new-plugin", "snappy", "--alg", "snappy", "-o", str(out)]) == 0
    assert "wrote acomp-snappy (7 files)" in capsys.readouterr().out
    files = _files(out)
    assert set(files) == {
        "pyproject.toml",
        "README.md",
        "acomp_snappy/__init__.py",
        "acomp_snappy/py.typed",
        "tests/conftest.py",
        "tests/test_conformance.py",
        "tests/test_zswap.py",
    }
    pyproject = files["pyproject.toml"]
    assert '[project.entry-points."acomp.plugins"]\nsnappy = "acomp_snappy"' in pyproject
    assert 'testing = ["acomp[testing]"]' in pyproject
    assert 'driver_name = "snappy-generic"' in files["acomp_snappy/__init__.py"]
    assert "register: RegisterDriver" in files["acomp_snappy/__init__.py"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["Bad", "--alg", "x"], "plugin name 'Bad'"),
        (["ok", "--alg", "no spaces"], "--alg 'no spaces'"),
        (["ok", "--alg", "zstd", "--driver", "zstd-generic"], "already registered by plugin 'zstd'"),
    ],
)
def test_bad_names_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    out = tmp_path / "p"
    assert main(["new-plugin", *argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("acomp: error: new-plugin: ") and message in err, err
    assert not out.exists()


def test_a_directory_in_use_loses_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["new-plugin", "x", "--alg", "x", "-o", str(tmp_path)]) == 2
    assert "is not an empty directory (nothing was written)" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_driver_name_must_make_a_class_name() -> None:
    with pytest.raises(NewPluginError, match="plugin name"):
        make_spec("1x", "x")
    assert make_spec("my-zstd", "zstd").driver == "zstd-my-zstd"
    assert make_spec("my-zstd", "zstd").cls == "ZstdMyZstd"
    assert make_spec("my-zstd", "zstd").module == "acomp_my_zstd"


@pytest.fixture
def generated(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A skeleton for the codec ``request.param``, imported and registered under its plugin name."""
    codec = request.param
    spec = make_spec(f"kitskel{codec}", f"kitskel{codec}", codec=codec)
    out = tmp_path / spec.dist
    for rel, text in render(spec).items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(out))
    try:
        module = importlib.import_module(spec.module)
        assert acomp.driver.register_plugin(module, spec.name) == spec.name
        yield spec.driver, str(out)
    finally:
        acomp.driver.unregister_plugin(spec.name)
        sys.path.remove(str(out))
        sys.modules.pop(spec.module, None)


@pytest.mark.parametrize("generated", sorted(CODECS), indirect=True)
def test_every_codec_passes_the_kit(generated: tuple[str, str]) -> None:
    driver, _ = generated
    report = acomp.testing.check_driver(driver, max_examples=10)
    assert report.ok and "corrupt input" in report.passed and "decompression bomb" in report.passed


@pytest.mark.parametrize("generated", sorted(CODECS), indirect=True)
def test_every_codec_is_ruff_clean(generated: tuple[str, str]) -> None:
    _, out = generated
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        run = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=out, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.slow
@pytest.mark.parametrize("generated", sorted(CODECS), indirect=True)
def test_every_codec_is_mypy_strict_clean(generated: tuple[str, str], tmp_path: Path) -> None:
    driver, out = generated
    module = "acomp_" + driver.split("-")[0]
    env = {**os.environ, "MYPYPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), module, "tests"],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.slow
def test_sample_and_a_fresh_skeleton_install_and_pass_in_a_fresh_venv() -> None:
    """What CI runs: ci_check.sh (fresh venv, acomp from this tree, the sample and a new skeleton)."""
    run = subprocess.run(["bash", str(SAMPLE / "ci_check.sh"), str(ROOT)], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "plugin ci_check: OK" in run.stdout
