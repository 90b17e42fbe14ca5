"""The registry: entry points, the allow-list and autoload switch, priorities, bad plugins."""

from __future__ import annotations

import os
import types

import pytest
from core_drivers import ZlibTest, run_python

import acomp
from acomp.registry import AcompPluginWarning, Registry


def test_shipped_plugins_load_through_entry_points() -> None:
    reg = Registry(autoload=True)
    names = {r.driver_name for r in reg.records()}
    assert {"deflate-generic", "zstd-generic", "lz4-generic", "lz4hc-generic"} <= names
    rec = reg.lookup("zstd-generic")
    assert (rec.alg_name, rec.plugin, rec.module) == ("zstd", "zstd", "acomp_zstd")


def test_algorithms_records_have_the_spec_fields(registry: Registry) -> None:
    recs = acomp.algorithms()
    assert [r.driver_name for r in recs] == ["testz-batch", "testz-generic"]
    batch = recs[0]
    assert (batch.alg_name, batch.priority, batch.plugin, batch.batch_size, batch.async_batching) == (
        "testz",
        200,
        "testplugin",
        4,
        True,
    )
    assert batch.chaining and batch.segmentation and not batch.is_async


def test_alloc_by_algorithm_picks_highest_priority_and_driver_name_exactly(registry: Registry) -> None:
    assert acomp.alloc("testz").driver_name == "testz-batch"
    assert acomp.alloc("testz-generic").driver_name == "testz-generic"


def test_equal_priority_goes_to_the_most_recent_registration(registry: Registry) -> None:
    class Late(ZlibTest):
        driver_name = "testz-late"
        priority = 200

    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(Late)))
    registry.register_plugin(plugin, name="late")
    assert acomp.alloc("testz").driver_name == "testz-late"
    registry.unregister_plugin("late")
    assert acomp.alloc("testz").driver_name == "testz-batch"


def test_unknown_name_is_algorithm_not_found(registry: Registry) -> None:
    with pytest.raises(acomp.AlgorithmNotFound) as info:
        acomp.alloc("no-such-alg")
    assert info.value.errno == 2 and "no-such-alg" in str(info.value)
    assert isinstance(info.value, acomp.AcompError)


def test_unknown_param_is_einval(registry: Registry) -> None:
    with pytest.raises(acomp.InvalidArgument, match="unknown parameter"):
        acomp.alloc("testz", level=3)


def test_plugin_whose_hook_raises_is_skipped_with_a_warning(registry: Registry) -> None:
    def boom(register: object) -> None:
        raise RuntimeError("hook exploded")

    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(boom))
    with pytest.warns(AcompPluginWarning, match="'exploder' raised in acomp_register_drivers"):
        assert registry.register_plugin(plugin, name="exploder") is None
    assert "exploder" not in registry.plugin_names()
    assert acomp.alloc("testz-generic")  # the others still work


def test_duplicate_driver_name_is_refused_naming_both_plugins(registry: Registry) -> None:
    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(ZlibTest)))
    with pytest.warns(AcompPluginWarning, match=r"'dup'.*already registered by plugin 'testplugin'"):
        registry.register_plugin(plugin, name="dup")
    assert acomp.registry.get_registry().lookup("testz-generic").plugin == "testplugin"


@pytest.mark.parametrize(
    ("attrs", "problem"),
    [
        ({"driver_name": ""}, "driver_name must be a non-empty str"),
        ({"batch_size": 0}, "batch_size must be an int"),
        ({"batch_size": 8}, "claimed without a batch_compress hook"),
    ],
)
def test_invalid_driver_is_refused(registry: Registry, attrs: dict[str, object], problem: str) -> None:
    bad = type("Bad", (ZlibTest,), {"driver_name": "testz-bad", **attrs})
    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(bad)))
    with pytest.warns(AcompPluginWarning, match=problem):
        registry.register_plugin(plugin, name="bad")
    assert "testz-bad" not in {r.driver_name for r in registry.records()}


def test_not_a_driver_class_is_refused(registry: Registry) -> None:
    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(object)))
    with pytest.warns(AcompPluginWarning, match="not a subclass of acomp.driver.Driver"):
        registry.register_plugin(plugin, name="notadriver")




def test_autoload_switch_loads_none() -> None:
    out = run_python("import acomp; print(len(acomp.algorithms()))", ACOMP_DISABLE_PLUGIN_AUTOLOAD="1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


def test_allowlist_loads_only_those() -> None:
    out = run_python(
        "import acomp; print(sorted({r.plugin for r in acomp.algorithms()}))",
        ACOMP_PLUGINS="lz4,zstd",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['lz4', 'zstd']"


def test_allowlist_naming_a_missing_plugin_warns() -> None:
    out = run_python("import acomp; acomp.algorithms()", ACOMP_PLUGINS="lz4,nonexistent")
    assert "'nonexistent', which is not installed" in out.stderr


def test_plugin_that_fails_to_import_is_named_and_the_rest_load(tmp_path: os.PathLike[str]) -> None:
    """A throwaway distribution whose module raises at import, found through entry points."""
    dist = os.path.join(tmp_path, "broken_acomp_plugin-1.0.dist-info")
    os.makedirs(dist)
    with open(os.path.join(dist, "METADATA"), "w") as f:
        f.write("Metadata-Version: 2.1\nName: broken-acomp-plugin\nVersion: 1.0\n")
    with open(os.path.join(dist, "entry_points.txt"), "w") as f:
        f.write("[acomp.plugins]\nbroken = broken_acomp_plugin\n")
    with open(os.path.join(tmp_path, "broken_acomp_plugin.py"), "w") as f:
        f.write("raise ImportError('missing libfoo.so')\n")
    out = run_python(
        "import acomp; print(len({r.plugin for r in acomp.algorithms()}) >= 3)",
        PYTHONPATH=str(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    assert "plugin 'broken' (broken_acomp_plugin, from 'broken-acomp-plugin') failed to import" in out.stderr
    assert "missing libfoo.so" in out.stderr
    assert out.stdout.strip() == "True"


def test_plugin_loaded_hook_sees_each_plugin_after_its_drivers(registry: Registry) -> None:
    seen: list[tuple[str, bool]] = []

    class Observer:
        @acomp.driver.hookimpl
        def acomp_plugin_loaded(self, registry: Registry, plugin_name: str) -> None:
            drivers = {r.driver_name for r in registry.records() if r.plugin == plugin_name}
            seen.append((plugin_name, "testz-late2" in drivers))

    class Late(ZlibTest):
        driver_name = "testz-late2"

    registry.register_plugin(Observer(), name="observer")
    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(Late)))
    registry.register_plugin(plugin, name="late2")
    assert seen == [("observer", False), ("late2", True)]
