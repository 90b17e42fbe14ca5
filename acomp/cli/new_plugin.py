"""``acomp new-plugin NAME --alg ALG -o DIR``: a plugin package that installs and passes its own tests.

The skeleton (:mod:`acomp.cli.new_plugin_template`): a ``pyproject.toml`` with
the ``acomp.plugins`` entry point and the ``testing`` extra (``acomp[testing]``),
a typed driver with a bounded decoder and the prescribed errors, built on a
stdlib codec (``--codec``: zlib, bz2 or lzma) for the author to replace, the
conformance kit as a pytest class, a zswap smoke test, and a README.
``docs/examples/acomp-bz2`` is this command's output for ``bz2``.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from pathlib import Path
from typing import Any

import attrs

from acomp.cli.new_plugin_template import CODECS, FILES

__all__ = ["PluginSpec", "add_parser", "run", "write_plugin"]

_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*\Z")


class NewPluginError(Exception):
    """A bad argument: the message says which and why; nothing was written."""


@attrs.define(frozen=True, slots=True)
class PluginSpec:
    """What one skeleton is made of (all names checked)."""

    #: The entry-point name: the plugin's name in ``acomp list`` and ``ACOMP_PLUGINS``.
    name: str
    #: The algorithm (kernel: ``cra_name``).
    alg: str
    #: The driver name (kernel: ``cra_driver_name``); default ``ALG-generic``, or ``ALG-NAME``.
    driver: str
    codec: str = "zlib"

    @property
    def module(self) -> str:
        return "acomp_" + self.name.replace("-", "_")

    @property
    def dist(self) -> str:
        return "acomp-" + self.name.replace("_", "-")

    @property
    def cls(self) -> str:
        return "".join(part.capitalize() for part in re.split(r"[-_]", self.driver))

    def substitutions(self) -> dict[str, str]:
        codec = CODECS[self.codec]
        values = {
            "name": self.name,
            "alg": self.alg,
            "driver": self.driver,
            "module": self.module,
            "dist": self.dist,
            "cls": self.cls,
            "level_below": str(codec.level_low - 1),
            "level_above": str(codec.level_high + 1),
        }
        for field in attrs.fields(type(codec)):
            values[f"codec_{field.name}"] = str(getattr(codec, field.name))
        return values


def make_spec(name: str, alg: str, driver: str | None = None, codec: str = "zlib") -> PluginSpec:
    """Check the names; raise :class:`NewPluginError` naming the bad one."""
    if not _NAME.match(name):
        raise NewPluginError(f"plugin name {name!r}: use lowercase letters, digits and single '-' or '_'")
    if not _NAME.match(alg):
        raise NewPluginError(f"--alg {alg!r}: use lowercase letters, digits and single '-' or '_'")
    if codec not in CODECS:
        raise NewPluginError(f"--codec {codec!r}: choose one of {', '.join(CODECS)}")
    if driver is None:
        driver = f"{alg}-generic" if name == alg else f"{alg}-{name}"
    if not _NAME.match(driver):
        raise NewPluginError(f"--driver {driver!r}: use lowercase letters, digits and single '-' or '_'")
    spec = PluginSpec(name, alg, driver, codec)
    if keyword.iskeyword(spec.cls) or not spec.cls.isidentifier():
        raise NewPluginError(f"--driver {driver!r} does not make a class name")
    return spec


def render(spec: PluginSpec) -> dict[str, str]:
    """Relative path -> text of every file of the skeleton."""
    values = spec.substitutions()
    return {path.replace("$module", spec.module): tpl.substitute(values) for path, tpl in FILES.items()}


def write_plugin(spec: PluginSpec, directory: Path) -> list[Path]:
    """Write the skeleton into ``directory`` (created; it must not hold anything yet)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise NewPluginError(f"-o {directory}: exists and is not an empty directory (nothing was written)")
    files = render(spec)
    written: list[Path] = []
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _registered_driver(driver: str) -> str | None:
    """The plugin that already registers ``driver``, if any."""
    import acomp

    for rec in acomp.algorithms():
        if rec.driver_name == driver:
            return rec.plugin
    return None


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "new-plugin",
        help="write a plugin package (driver, entry point, conformance and zswap tests)",
        description="Write an installable acomp plugin into DIR: a pyproject with the 'acomp.plugins' "
        "entry point and a 'testing' extra, a typed driver (bounded decompression, the prescribed errors) "
        "on a stdlib codec to replace with yours, acomp's conformance kit as tests, a zswap smoke test "
        "and a README.  It installs and passes its own tests as written.",
    )
    p.add_argument("name", metavar="NAME", help="plugin name: the entry point, e.g. 'snappy' (package acomp_NAME)")
    p.add_argument("--alg", required=True, help="algorithm name callers allocate, e.g. 'snappy'")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="DIR", help="new (or empty) directory")
    p.add_argument("--driver", help="driver name (default: ALG-generic when NAME is ALG, else ALG-NAME)")
    p.add_argument("--codec", default="zlib", choices=sorted(CODECS), help="stdlib codec to start from (zlib)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        spec = make_spec(args.name, args.alg, args.driver, args.codec)
        owner = _registered_driver(spec.driver)
        if owner is not None:
            raise NewPluginError(f"driver {spec.driver!r} is already registered by plugin {owner!r}; choose --driver")
        written = write_plugin(spec, args.output)
    except (NewPluginError, OSError) as exc:
        print(f"acomp: error: new-plugin: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, NewPluginError) else 1
    out = args.output
    print(f"wrote {spec.dist} ({len(written)} files) in {out}: driver {spec.driver!r}, algorithm {spec.alg!r}")
    print(f'next:  pip install -e "{out}[testing]"  &&  pytest {out}')
    return 0
