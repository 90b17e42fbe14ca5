"""Moved to :mod:`acomp.cli.corpus` (the corpus serves only the CLI).

These names stay importable here only until ``acomp seed`` (moving to the IAA
plugin) and ``benchmarks/bench_core.py`` import them from their new home;
then this module goes.
"""

from acomp.cli.corpus import DEFAULT_MIX, DEFAULT_SEED, PAGES_PER_FILE, Corpus, build_corpus

__all__ = ["DEFAULT_MIX", "DEFAULT_SEED", "PAGES_PER_FILE", "Corpus", "build_corpus"]
