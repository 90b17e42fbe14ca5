"""Shared test set-up: the kit's hypothesis profiles (``ci`` bounded, ``dev``, ``thorough``).

One place defines them, ``acomp.testing._profiles``; ``HYPOTHESIS_PROFILE`` picks one,
else ``ci`` under ``CI``, else ``dev``.
"""

from __future__ import annotations

from acomp.testing import load_profile

load_profile()
