"""``acomp list``: every registered driver, like ``/proc/crypto``.

One row per driver: algorithm name, driver name, priority, plugin, batch size,
async batching, module and the capability flags (request chaining,
segmentation, async, device).  Plugins may add facts through the
``acomp_describe_driver`` hook (e.g. the emulated IAA devices and their work
queues); they are shown under the driver's row, and in ``--json``.
``--proc`` prints ``/proc/crypto``-style blocks instead of the table.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
import warnings
from typing import Any

import acomp
from acomp.cli.common import positive_int
from acomp.cli.output import dump_json, render_table
from acomp.records import AlgorithmRecord
from acomp.registry import ENTRY_POINT_GROUP, get_registry

__all__ = ["add_parser", "describe", "records_as_dicts", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "list",
        help="list registered drivers (like /proc/crypto)",
        description="List every registered compression driver, like /proc/crypto.",
    )
    p.add_argument("--alg", metavar="NAME", help="only drivers of this algorithm (e.g. deflate)")
    p.add_argument("--driver", metavar="NAME", help="only this driver")
    p.add_argument("--async-batching", action="store_true", help="only drivers with async batching")
    p.add_argument("--min-batch", type=positive_int, metavar="N", help="only drivers with batch_size >= N")
    p.add_argument("--chaining", action="store_true", help="only drivers that opt in to request chaining")
    p.add_argument("--segmentation", action="store_true", help="only drivers that opt in to segmentation")
    p.add_argument("--device", action="store_true", help="only device-backed drivers")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON output")
    out.add_argument("--proc", action="store_true", help="/proc/crypto-style blocks")
    p.set_defaults(func=run)


def describe(driver_name: str) -> dict[str, object]:
    """Extra facts a plugin gives through ``acomp_describe_driver`` ({} if none, or if it failed)."""
    try:
        facts = get_registry().pm.hook.acomp_describe_driver(driver_name=driver_name)
    except Exception as exc:  # a plugin's bug must not break the listing
        return {"describe_error": repr(exc)}
    return dict(facts) if isinstance(facts, dict) else {}


def _flags(rec: AlgorithmRecord) -> list[str]:
    names = []
    if rec.chaining:
        names.append("chain")
    if rec.segmentation:
        names.append("seg")
    if rec.is_async:
        names.append("async")
    if rec.is_device:
        names.append("device")
    return names


def _selected(rec: AlgorithmRecord) -> bool:
    """Whether ``acomp.alloc(rec.alg_name)`` picks this driver (the highest priority)."""
    return get_registry().lookup(rec.alg_name).driver_name == rec.driver_name


def records_as_dicts(records: list[AlgorithmRecord]) -> list[dict[str, object]]:
    out = []
    for rec in records:
        out.append(
            {
                "name": rec.alg_name,
                "driver": rec.driver_name,
                "priority": rec.priority,
                "plugin": rec.plugin,
                "module": rec.module,
                "batch_size": rec.batch_size,
                "async_batching": rec.async_batching,
                "chaining": rec.chaining,
                "segmentation": rec.segmentation,
                "async": rec.is_async,
                "device": rec.is_device,
                "wire_format": rec.wire_format,
                "selected": _selected(rec),
                "facts": _jsonable(describe(rec.driver_name)),
            }
        )
    return out


def _jsonable(value: object) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items()}
        if isinstance(value, (list, tuple, set)):
            return [_jsonable(v) for v in value]
        return str(value)


def _fact_lines(value: object, indent: str) -> list[str]:
    """Readable lines for a fact value: scalars inline, dicts and lists nested."""
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list, tuple)) and v and not _flat(v):
                lines.append(f"{indent}{k}:")
                lines.extend(_fact_lines(v, indent + "  "))
            else:
                lines.append(f"{indent}{k}: {_inline(v)}")
    elif isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, dict):
                lines.append(f"{indent}- " + ", ".join(f"{k}={_inline(v)}" for k, v in item.items()))
            else:
                lines.append(f"{indent}- {_inline(item)}")
    else:
        lines.append(f"{indent}{_inline(value)}")
    return lines


def _flat(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list, tuple)) for v in value)


def _inline(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_inline(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_inline(v)}" for k, v in value.items())
    return str(value)


def _load() -> tuple[list[AlgorithmRecord], list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", acomp.driver.AcompPluginWarning)
        records = acomp.algorithms()
    notes = [str(w.message) for w in caught if issubclass(w.category, acomp.driver.AcompPluginWarning)]
    loaded = set(get_registry().plugin_names())
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in loaded and not any(repr(ep.name) in n for n in notes):
            notes.append(f"plugin {ep.name!r} ({ep.value}) is installed but not loaded")
    return records, notes


def _filter(records: list[AlgorithmRecord], args: argparse.Namespace) -> list[AlgorithmRecord]:
    out = []
    for rec in records:
        if args.alg and rec.alg_name != args.alg:
            continue
        if args.driver and rec.driver_name != args.driver:
            continue
        if args.async_batching and not rec.async_batching:
            continue
        if args.min_batch and rec.batch_size < args.min_batch:
            continue
        if args.chaining and not rec.chaining:
            continue
        if args.segmentation and not rec.segmentation:
            continue
        if args.device and not rec.is_device:
            continue
        out.append(rec)
    return out


def run(args: argparse.Namespace) -> int:
    all_records, notes = _load()
    records = _filter(all_records, args)
    if args.json:
        dump_json({"drivers": records_as_dicts(records), "notes": notes})
        return 0
    if args.proc:
        blocks = []
        for d in records_as_dicts(records):
            lines = [
                f"name         : {d['name']}",
                f"driver       : {d['driver']}",
                f"module       : {d['module']}",
                f"plugin       : {d['plugin']}",
                f"priority     : {d['priority']}",
                "type         : acomp",
                f"batch_size   : {d['batch_size']}",
                f"async_batch  : {_inline(d['async_batching'])}",
                f"chaining     : {_inline(d['chaining'])}",
                f"segmentation : {_inline(d['segmentation'])}",
                f"async        : {_inline(d['async'])}",
                f"device       : {_inline(d['device'])}",
                f"wire_format  : {d['wire_format']}",
            ]
            facts = d["facts"]
            if isinstance(facts, dict) and facts:
                lines.extend(_fact_lines(facts, ""))
            blocks.append("\n".join(lines))
        print("\n\n".join(blocks))
    else:
        rows: list[list[object]] = []
        for rec in records:
            rows.append(
                [
                    rec.alg_name,
                    rec.driver_name + (" *" if _selected(rec) else ""),
                    rec.priority,
                    rec.plugin,
                    rec.batch_size,
                    rec.async_batching,
                    rec.module,
                    ",".join(_flags(rec)) or "-",
                ]
            )
        headers = ["name", "driver", "priority", "plugin", "batch_size", "async_batching", "module", "flags"]
        print(render_table(headers, rows))
        print("* = what acomp.alloc(name) picks (highest priority)")
        for rec in records:
            facts = describe(rec.driver_name)
            if facts:
                print(f"\n{rec.driver_name}:")
                print("\n".join(_fact_lines(facts, "  ")))
    if not records:
        print("(no driver matches)", file=sys.stderr)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0
