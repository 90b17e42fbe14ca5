"""Run a fuzz target under atheris (coverage-guided): ``python fuzz/run.py decompress -runs=100000``.

Install with ``pip install atheris`` (CPython wheels on Linux).  Extra
arguments go to libFuzzer (``-runs=N``, ``-max_total_time=S``, a corpus dir).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    import targets

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in targets.TARGETS:
        sys.exit(f"usage: run.py {{{','.join(targets.TARGETS)}}} [libFuzzer args]")
    target = targets.TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()
