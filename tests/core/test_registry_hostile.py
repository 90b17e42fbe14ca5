"""One plugin's failure never costs another; the allow-list and the registry admit nothing ambiguously.

Issue 14 items 7 and 8, issue 17 item 6.  Before: a raising ``acomp_plugin_loaded`` emptied the
registry for the life of the process; ``ACOMP_PLUGINS=zstd`` loaded any package's entry point named
``zstd``, silently, and that package could register ``zstd-generic``; a typo'd hookimpl
(``acomp_register_driver``) registered with no warning.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from core_drivers import run_python

import acomp
from acomp.errors import AcompPluginWarning
from acomp.registry import Registry

FOREIGN = """
import acomp
from acomp.driver import Driver, RegisterDriver, hookimpl

class Impostor(Driver):
    alg_name = "zstd"
    driver_name = "zstd-generic"
    priority = 999
    def compress(self, src, capacity):
        return b"impostor"

@hookimpl
def acomp_register_drivers(register: RegisterDriver) -> None:
    register(Impostor)
"""


def _fake_dist(root: Path, dist: str, module: str, body: str, ep_name: str) -> None:
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[acomp.plugins]\n{ep_name} = {module}\n")
    (root / f"{module}.py").write_text(body)


SHOW = """
import acomp
r = acomp.registry.get_registry().lookup("zstd-generic")
print(r.plugin, r.module, acomp.compress(b"x" * 100, "zstd")[:4].hex())
"""


def test_a_foreign_entry_point_named_zstd_never_replaces_ours(tmp_path: Path) -> None:
    _fake_dist(tmp_path, "evil-pkg", "evil_zstd", FOREIGN, "zstd")
    out = run_python(SHOW, PYTHONPATH=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == ["acomp:zstd", "acomp_zstd"]  # ours, loaded first
    assert out.stdout.split()[2] == "28b52ffd"  # a real zstd frame
    assert "entry point 'zstd' of group 'acomp.plugins' is provided by 'acomp' and 'evil-pkg'" in out.stderr
    assert "'evil-pkg:zstd' registered driver 'zstd-generic', already registered by plugin 'acomp:zstd'" in (out.stderr)


def test_the_allow_list_refuses_an_ambiguous_name_and_admits_dist_colon_name(tmp_path: Path) -> None:
    _fake_dist(tmp_path, "evil-pkg", "evil_zstd", FOREIGN, "zstd")
    ambiguous = run_python(
        "import acomp; print(len(acomp.algorithms()))", PYTHONPATH=str(tmp_path), ACOMP_PLUGINS="zstd"
    )
    assert ambiguous.stdout.strip() == "0"
    assert "names 'zstd', which is ambiguous: write one of acomp:zstd, evil-pkg:zstd" in ambiguous.stderr
    ours = run_python(SHOW, PYTHONPATH=str(tmp_path), ACOMP_PLUGINS="acomp:zstd")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.split()[:2] == ["acomp:zstd", "acomp_zstd"]
    theirs = run_python(SHOW, PYTHONPATH=str(tmp_path), ACOMP_PLUGINS="evil-pkg:zstd")
    assert theirs.stdout.split()[:2] == ["evil-pkg:zstd", "evil_zstd"]  # named exactly: admitted, loudly labelled


def test_a_raising_plugin_loaded_hook_costs_only_its_own_notification(registry: Registry) -> None:
    class Observer:
        @acomp.driver.hookimpl
        def acomp_plugin_loaded(self, registry: Registry, plugin_name: str) -> None:
            raise RuntimeError("observer bug")

    with pytest.warns(AcompPluginWarning, match="'observer' raised in acomp_plugin_loaded: RuntimeError"):
        assert registry.register_plugin(Observer(), "observer") == "observer"
    from core_drivers import ZlibTest

    class Later(ZlibTest):
        driver_name = "testz-after-observer"

    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(Later)))
    with pytest.warns(AcompPluginWarning, match="raised in acomp_plugin_loaded"):
        assert registry.register_plugin(plugin, "later") == "later"
    names = {r.driver_name for r in registry.records()}
    assert {"testz-generic", "testz-batch", "testz-after-observer"} <= names


def test_a_raising_plugin_loaded_hook_from_an_entry_point_keeps_the_registry(tmp_path: Path) -> None:
    body = (
        "import acomp\n@acomp.driver.hookimpl\n"
        "def acomp_plugin_loaded(registry, plugin_name):\n    raise RuntimeError('x')\n"
    )
    _fake_dist(tmp_path, "observer-pkg", "observer_plugin", body, "observer")
    out = run_python("import acomp; print(len(acomp.algorithms()) >= 4)", PYTHONPATH=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_a_hook_name_typo_is_refused_with_a_hint(registry: Registry) -> None:
    from core_drivers import ZlibTest

    class Typo(ZlibTest):
        driver_name = "testz-typo"

    plugin = types.SimpleNamespace(acomp_register_driver=acomp.driver.hookimpl(lambda register: register(Typo)))
    with pytest.warns(
        AcompPluginWarning, match=r"no hook named 'acomp_register_driver' \(did you mean 'acomp_register_drivers'\?\)"
    ):
        assert registry.register_plugin(plugin, "typo") is None
    assert "typo" not in registry.plugin_names()
    assert "testz-typo" not in {r.driver_name for r in registry.records()}


def test_an_unmarked_hook_function_is_named(registry: Registry) -> None:
    plugin = types.SimpleNamespace(acomp_register_drivers=lambda register: None)  # no @hookimpl
    with pytest.warns(AcompPluginWarning, match="'acomp_register_drivers' that looks like a hook but is not marked"):
        assert registry.register_plugin(plugin, "unmarked") == "unmarked"


def test_a_correct_plugin_with_an_optional_hook_is_accepted_silently(registry: Registry) -> None:
    import warnings

    from core_drivers import ZlibTest

    class Fine(ZlibTest):
        driver_name = "testz-fine"

    class Plugin:
        @acomp.driver.hookimpl
        def acomp_register_drivers(self, register: acomp.driver.RegisterDriver) -> None:
            register(Fine)

        @acomp.driver.hookimpl(optionalhook=True)
        def acomp_some_future_hook(self) -> None:
            """An optional hook of a later acomp: pluggy's check_pending accepts it."""

    with warnings.catch_warnings():
        warnings.simplefilter("error", AcompPluginWarning)
        assert registry.register_plugin(Plugin(), "fine") == "fine"
    assert acomp.alloc("testz-fine").driver_name == "testz-fine"
