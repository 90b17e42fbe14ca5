"""The algorithm registry: pluggy plugin manager, entry points, records, lookup.

Kernel counterpart: ``crypto/api.c`` (``crypto_alg_list``, ``crypto_alg_lookup``)
plus module loading.  Plugins come from the entry-point group ``acomp.plugins``
unless ``ACOMP_DISABLE_PLUGIN_AUTOLOAD=1``; ``ACOMP_PLUGINS=a,b`` loads only the
named entry points (``DIST:NAME`` names one distribution's).  A plugin that
fails to import, names a hook no hookspec has, or raises in a hook gives an
:class:`~acomp.errors.AcompPluginWarning` naming it, and the others still load.
A driver name registered twice keeps its first registration; acomp's own
plugins register first.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import threading
import warnings
from collections.abc import Iterable
from typing import Any

import pluggy

from acomp import hookspecs
from acomp.driver import Driver
from acomp.errors import AcompPluginWarning, AlgorithmNotFound, InvalidArgument
from acomp.records import AlgorithmRecord

__all__ = [
    "ENTRY_POINT_GROUP",
    "AcompPluginWarning",
    "Registry",
    "get_registry",
]

ENTRY_POINT_GROUP = "acomp.plugins"
#: The distribution whose plugins (the shipped drivers) load first.
OWN_DISTRIBUTION = "acomp"
AUTOLOAD_ENV = "ACOMP_DISABLE_PLUGIN_AUTOLOAD"
ALLOWLIST_ENV = "ACOMP_PLUGINS"


def _warn(message: str) -> None:
    warnings.warn(message, AcompPluginWarning, stacklevel=3)


def _env_allowlist() -> set[str] | None:
    raw = os.environ.get(ALLOWLIST_ENV, "").strip()
    if not raw:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _autoload_disabled() -> bool:
    return os.environ.get(AUTOLOAD_ENV, "").strip().lower() not in ("", "0", "false", "no")


class Registry:
    """Registered drivers, by driver name; lookup by algorithm or driver name.

    ``autoload=None`` follows the environment (see module docs); entry points
    are loaded lazily, on the first query.
    """

    def __init__(self, *, autoload: bool | None = None) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._autoload = (not _autoload_disabled()) if autoload is None else autoload
        self._loaded = False
        self._lock = threading.RLock()
        self._records: dict[str, AlgorithmRecord] = {}
        self._seq = 0
        #: Bumped by every change of the drivers registered: callers that cache a lookup
        #: (the many-buffer calls' transforms) re-check only when it moved.
        self.generation = 0

    # -- plugins -----------------------------------------------------------------

    def load_entry_points(self, names: Iterable[str] | None = None) -> list[str]:
        """Import and register plugins of the ``acomp.plugins`` group; return their names.

        ``names`` (or ``ACOMP_PLUGINS``) restricts loading to those entry points:
        ``DIST:NAME`` admits distribution ``DIST``'s entry point ``NAME``; a bare
        ``NAME`` admits it only when one distribution provides that name.
        acomp's own plugins load first, then the others by distribution and
        name, so which of two drivers of one name is refused never depends on
        the order in which the environment lists them.
        """
        allow = set(names) if names is not None else _env_allowlist()
        loaded: list[str] = []
        with self._lock:
            self._loaded = True
            eps = _entry_points()
            by_name: dict[str, list[str]] = {}
            for dist, ep in eps:
                by_name.setdefault(ep.name, []).append(dist)
            for ep_name, dists in sorted(by_name.items()):
                if len(dists) > 1:
                    _warn(
                        f"acomp: entry point {ep_name!r} of group {ENTRY_POINT_GROUP!r} is provided by "
                        f"{' and '.join(repr(d) for d in dists)}; registered as "
                        f"{', '.join(repr(f'{d}:{ep_name}') for d in dists)}"
                    )
            for dist, ep in eps:
                qualified = f"{dist}:{ep.name}"
                unique = len(by_name[ep.name]) == 1
                if allow is not None and qualified not in allow and not (unique and ep.name in allow):
                    continue
                name = ep.name if unique else qualified
                if self.pm.has_plugin(name) or self.pm.is_blocked(name):
                    continue
                try:
                    plugin = ep.load()
                except Exception as exc:  # any import failure must not stop the others
                    _warn(f"acomp: plugin {name!r} ({ep.value}, from {dist!r}) failed to import: {exc!r}; skipped")
                    continue
                if self.register_plugin(plugin, name=name) is not None:
                    loaded.append(name)
            for entry in sorted(allow or ()):
                dist, _, ep_name = entry.rpartition(":")
                if ep_name not in by_name or (dist and dist not in by_name[ep_name]):
                    _warn(f"acomp: {ALLOWLIST_ENV} names plugin {entry!r}, which is not installed")
                elif not dist and len(by_name[ep_name]) > 1:
                    choices = ", ".join(f"{d}:{ep_name}" for d in by_name[ep_name])
                    _warn(f"acomp: {ALLOWLIST_ENV} names {entry!r}, which is ambiguous: write one of {choices}")
        return loaded

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    if self._autoload:
                        self.load_entry_points()
                    self._loaded = True

    def register_plugin(self, plugin: object, name: str | None = None) -> str | None:
        """Register a plugin object (module or instance) and its drivers.

        Returns the plugin's name, or None (with a warning) when it was refused:
        a malformed hook, a hook name no hookspec has (pluggy's
        ``check_pending()``; a typo such as ``acomp_register_driver``), or a
        hook that raised.  Nothing of a refused plugin stays registered.
        """
        with self._lock:
            try:
                plugin_name = self.pm.register(plugin, name)
            except Exception as exc:
                _warn(f"acomp: plugin {name or plugin!r} could not be registered: {exc}")
                return None
            if plugin_name is None:  # blocked
                return None
            unknown = _unknown_hooks(self.pm, plugin)
            if unknown:
                self.pm.unregister(plugin)
                _warn(f"acomp: plugin {plugin_name!r} refused: {unknown}")
                return None
            for attr in _unmarked_hooks(plugin):
                _warn(
                    f"acomp: plugin {plugin_name!r} has a function {attr!r} that looks like a hook but is not "
                    "marked with @acomp.driver.hookimpl; it is ignored"
                )
            pending: list[type[Driver]] = []
            try:
                for impl in self.pm.hook.acomp_register_drivers.get_hookimpls():
                    if impl.plugin is plugin:
                        impl.function(register=pending.append)
            except Exception as exc:
                self.pm.unregister(plugin)
                _warn(f"acomp: plugin {plugin_name!r} raised in acomp_register_drivers: {exc!r}; skipped")
                return None
            for driver_cls in pending:
                self._add_driver(driver_cls, plugin_name)
            # One observer's failure costs only its own notification (pluggy would stop at the first).
            for impl in self.pm.hook.acomp_plugin_loaded.get_hookimpls():
                try:
                    impl.function(registry=self, plugin_name=plugin_name)
                except Exception as exc:
                    _warn(f"acomp: plugin {impl.plugin_name!r} raised in acomp_plugin_loaded: {exc!r}; ignored")
            return plugin_name

    def unregister_plugin(self, name: str) -> None:
        """Remove a plugin and every driver it registered (kernel: rmmod)."""
        with self._lock:
            plugin = self.pm.get_plugin(name)
            if plugin is not None:
                self.pm.unregister(plugin)
            for driver_name in [d for d, r in self._records.items() if r.plugin == name]:
                del self._records[driver_name]
                self.generation += 1

    def plugin_names(self) -> list[str]:
        self._ensure_loaded()
        return sorted(n for n, _ in self.pm.list_name_plugin())

    def _add_driver(self, driver_cls: Any, plugin_name: str) -> None:
        problem = _validate_driver(driver_cls)
        if problem:
            _warn(f"acomp: plugin {plugin_name!r} registered an invalid driver {driver_cls!r}: {problem}")
            return
        existing = self._records.get(driver_cls.driver_name)
        if existing is not None:
            _warn(
                f"acomp: plugin {plugin_name!r} registered driver {driver_cls.driver_name!r}, "
                f"already registered by plugin {existing.plugin!r}; the duplicate is refused"
            )
            return
        self._seq += 1
        self._records[driver_cls.driver_name] = AlgorithmRecord.from_driver(driver_cls, plugin_name, self._seq)
        self.generation += 1

    # -- queries -------------------------------------------------------------------

    def records(self) -> list[AlgorithmRecord]:
        """Every registered driver: by algorithm name, then best first."""
        self._ensure_loaded()
        with self._lock:
            recs = list(self._records.values())
        return sorted(recs, key=lambda r: (r.alg_name, -r.priority, -r.seq))

    def lookup(self, name: str) -> AlgorithmRecord:
        """The driver named ``name``, else the best driver of algorithm ``name``.

        Among equal priorities the most recently registered wins, as in the
        kernel's ``crypto_alg_lookup`` (new algorithms go to the list's head).
        """
        if not isinstance(name, str):
            raise InvalidArgument(f"algorithm name must be a str, got {type(name).__name__}")
        self._ensure_loaded()
        with self._lock:
            rec = self._records.get(name)
            if rec is not None:
                return rec
            candidates = [r for r in self._records.values() if r.alg_name == name]
        if not candidates:
            known = ", ".join(sorted({r.alg_name for r in self.records()} | set(self._records)))
            raise AlgorithmNotFound(f"no driver for algorithm or driver {name!r} (registered: {known or 'none'})")
        return max(candidates, key=lambda r: (r.priority, r.seq))


def _entry_points() -> list[tuple[str, importlib.metadata.EntryPoint]]:
    """(distribution, entry point) of the group: acomp's own first, then by distribution and name."""
    out = []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        out.append((dist, ep))
    return sorted(out, key=lambda de: (de[0] != OWN_DISTRIBUTION, de[0], de[1].name))


def _unknown_hooks(pm: pluggy.PluginManager, plugin: object) -> str:
    """Why ``plugin`` has hookimpls that match no hookspec, or "" (kernel analogue: a bad symbol at insmod)."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        known = sorted(n for n in dir(hookspecs) if n.startswith(f"{hookspecs.PROJECT}_"))
        wrong = [
            name
            for name in dir(plugin)
            if getattr(getattr(plugin, name, None), f"{hookspecs.PROJECT}_impl", None) is not None
            and name not in known
        ]
        hints = []
        for name in wrong:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return f"no hook named {', '.join(hints) or str(exc)}; known hooks: {', '.join(known)}"
    return ""


def _unmarked_hooks(plugin: object) -> list[str]:
    known = {n for n in dir(hookspecs) if n.startswith(f"{hookspecs.PROJECT}_")}
    return [
        name
        for name in dir(plugin)
        if name in known
        and callable(getattr(plugin, name, None))
        and getattr(getattr(plugin, name), f"{hookspecs.PROJECT}_impl", None) is None
    ]


def _validate_driver(driver_cls: Any) -> str | None:
    if not (isinstance(driver_cls, type) and issubclass(driver_cls, Driver)):
        return "not a subclass of acomp.driver.Driver"
    for attr in ("alg_name", "driver_name"):
        value = getattr(driver_cls, attr, None)
        if not isinstance(value, str) or not value:
            return f"{attr} must be a non-empty str"
    if not isinstance(driver_cls.priority, int):
        return "priority must be an int"
    if not isinstance(driver_cls.batch_size, int) or not 1 <= driver_cls.batch_size <= 1024:
        return "batch_size must be an int in 1..1024"
    if driver_cls.batch_size > 1 and driver_cls.batch_compress is Driver.batch_compress:
        return f"batch_size={driver_cls.batch_size} claimed without a batch_compress hook"
    if driver_cls.async_batching and driver_cls.batch_compress is Driver.batch_compress:
        return "async_batching claimed without a batch_compress hook"
    return None


_default: Registry | None = None
_default_lock = threading.Lock()


def get_registry() -> Registry:
    """The process-wide registry (created on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Registry()
    return _default


def reset_registry(registry: Registry | None = None) -> Registry:
    """Replace the process-wide registry (tests; a fresh one re-reads the environment)."""
    global _default
    with _default_lock:
        _default = registry if registry is not None else Registry()
        return _default
