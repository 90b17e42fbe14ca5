"""Shared pieces of the subcommands: argument types, driver parameters, allocation."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

import acomp
from acomp.cli.output import CliError
from acomp.transform import Transform

__all__ = [
    "add_io_arguments",
    "alloc_tfm",
    "int_in_range",
    "parse_params",
    "percent_type",
    "positive_int",
    "size_type",
]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_INT = re.compile(r"[+-]?\d+")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def int_in_range(text: str, lo: int, hi: int | None, expected: str, out_of_range: str | None = None) -> int:
    """``int(text)`` within ``lo..hi`` (``hi`` None: no upper bound), else an argparse error.

    A non-integer says ``expected <expected>, got 'text'``; an integer out of
    range says the same, or ``out_of_range`` (formatted with ``value``) when given.
    """
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < lo or (hi is not None and value > hi):
        message = out_of_range.format(value=value) if out_of_range else f"expected {expected}, got {text!r}"
        raise argparse.ArgumentTypeError(message)
    return value


def positive_int(text: str) -> int:
    """An int >= 1 (argparse type)."""
    return int_in_range(text, 1, None, "a positive integer")


def percent_type(text: str) -> int:
    """An int percentage in 1..100 (argparse type)."""
    return int_in_range(text, 1, 100, "a percentage 1..100")


def size_type(text: str) -> int:
    """A byte count with an optional K/M/G/T suffix (powers of 1024): ``512M``, ``2G``."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected a size like 4096, 64K, 512M or 2G, got {text!r}")
    value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive size, got {text!r}")
    return value


def add_io_arguments(p: argparse.ArgumentParser, input_help: str) -> None:
    """``IN`` and ``-o OUT`` of ``compress`` / ``decompress``: files, ``-`` for stdin / stdout."""
    p.add_argument("input", metavar="IN", help=input_help)
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="output file, or - for standard output")


def parse_params(items: Sequence[str] | None) -> dict[str, object]:
    """``["level=9", "sync_mode=async"]`` -> ``{"level": 9, "sync_mode": "async"}``."""
    params: dict[str, object] = {}
    for item in items or ():
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliError(f"bad driver parameter {item!r}: expected KEY=VALUE", code=2)
        value: object = raw
        low = raw.strip().lower()
        if _INT.fullmatch(low):
            value = int(raw)
        elif low in ("true", "yes", "on"):
            value = True
        elif low in ("false", "no", "off"):
            value = False
        params[key] = value
    return params


def alloc_tfm(name: str, params: dict[str, object] | None = None) -> Transform:
    """``acomp.alloc`` with CLI errors: unknown algorithm, bad parameters."""
    try:
        return acomp.alloc(name, **(params or {}))
    except acomp.AlgorithmNotFound:
        known = ", ".join(sorted({n for r in acomp.algorithms() for n in (r.driver_name, r.alg_name)}))
        raise CliError(f"unknown algorithm {name!r} (known: {known or 'none'})") from None
    except acomp.AcompError as exc:
        raise CliError(f"cannot allocate {name!r}: {exc}") from None
