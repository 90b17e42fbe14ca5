"""Shared helpers for the hardening tests: page makers, a deadlock watchdog, the benchmark loaders.

The fault campaign and the load run live in ``benchmarks/`` (the long runs);
the tests import the very same functions with bounded parameters, so the CI
run and the documented campaign exercise one code path.
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from types import ModuleType

from acomp import PAGE_SIZE

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BENCHMARKS = os.path.join(ROOT, "benchmarks")


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` under a unique module name (``acomp_bench_<name>``)."""
    modname = f"acomp_bench_{name}"
    if modname in sys.modules:
        return sys.modules[modname]
    spec = importlib.util.spec_from_file_location(modname, os.path.join(BENCHMARKS, f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    return module


def text_page(rng: random.Random) -> bytes:
    """A compressible page: numbers and words, like a heap page of small objects."""
    words = [b"%d" % rng.getrandbits(24), b"acomp", b"zswap", b"page", b"\x00\x00\x00\x01"]
    out = bytearray()
    while len(out) < PAGE_SIZE:
        out += rng.choice(words) + b" "
    return bytes(out[:PAGE_SIZE])
