"""The plugin hooks (pluggy hookspecs) a compression plugin may implement.

A plugin is a module (or object) registered under the entry-point group
``acomp.plugins``.  It implements one or more hooks below, marked with
``acomp.driver.hookimpl``::

    import acomp

    @acomp.driver.hookimpl
    def acomp_register_drivers(register):
        register(MyDriver)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from acomp.driver import Driver
    from acomp.registry import Registry

PROJECT = "acomp"

#: Marks a hook specification (this module's functions).
hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a plugin's hook implementation: ``@acomp.driver.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def acomp_register_drivers(register: Callable[[type[Driver]], None]) -> None:
    """Register this plugin's drivers (kernel: ``crypto_register_acomp``).

    Call ``register(DriverClass)`` once per driver, where ``DriverClass`` is a
    subclass of :class:`acomp.driver.Driver`.  A driver whose ``driver_name`` is
    already taken is refused with a warning naming both plugins; the other
    drivers still register.  Called once per plugin, when it is registered.
    Plugins whose codec library is missing simply register nothing (and may
    say why with a warning).
    """


@hookspec
def acomp_plugin_loaded(registry: Registry, plugin_name: str) -> None:
    """Called after a plugin named ``plugin_name`` registered its drivers.

    Lets a plugin observe others (e.g. log, or adjust its own priority policy).
    Most plugins do not implement it.
    """


@hookspec
def acomp_register_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add subcommands to the ``acomp`` command line (llm's ``register_commands``).

    ``subparsers`` is the CLI's :meth:`argparse.ArgumentParser.add_subparsers`
    object.  Add a parser with ``subparsers.add_parser(NAME, help=...)`` and
    give it ``set_defaults(func=run)``, where ``run(args) -> int`` returns the
    exit status.  Raise :class:`acomp.AcompError` (or ``acomp.cli.CliError``)
    for a one-line error.  A plugin whose hook raises loses its commands, not
    the CLI.  Commands build on the CLI's helpers for command authors:
    :mod:`acomp.cli.output` (tables, JSON, progress bars, plots, ``CliError``),
    :mod:`acomp.cli.corpus` and :mod:`acomp.cli.usemem` (``acomp seed`` does).
    """


@hookspec(firstresult=True)
def acomp_model_latency(
    driver_name: str, op: str, sizes: Sequence[tuple[int, int]], batching: str
) -> list[float] | None:
    """Modelled latency (ns) of the calls that would process ``sizes`` on ``driver_name`` (acomp only).

    For a driver backed by a modelled device (the emulated IAA's timing model).
    ``op`` is ``"compress"`` or ``"decompress"``; ``sizes`` holds one
    ``(slen, dlen)`` pair per page, in order; ``batching`` is ``"async"``
    (batches of the driver's batch size, submitted together and polled),
    ``"sync"`` (the same batches as sync request chaining) or ``"none"`` (one
    request per call).  Returns one latency per call, in call order (a batch
    of 8 pages is one call), or ``None`` when the plugin does not model
    ``driver_name`` (``firstresult``: the first answer wins).  Numbers are
    the model's, never measured: label them so.
    """


@hookspec(firstresult=True)
def acomp_describe_driver(driver_name: str) -> dict[str, object] | None:
    """Return extra, human-readable facts about ``driver_name`` or ``None``.

    The first plugin that knows the driver answers (``firstresult``).  The CLI's
    ``acomp list`` shows these facts, e.g. an emulated device's work queues.
    """
