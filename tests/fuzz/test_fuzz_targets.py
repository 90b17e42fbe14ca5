"""The fuzz targets under hypothesis: a bounded run in every CI, longer under ``-m fuzz``.

The same targets run coverage-guided under atheris (``fuzz/run.py``); here
hypothesis drives them so the default suite keeps them honest without atheris.
"""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "fuzz"))
import targets

QUICK = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=20000, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
@QUICK
@given(data=st.binary(min_size=0, max_size=6000))
def test_target_raises_only_acomp_errors(name: str, data: bytes) -> None:
    targets.TARGETS[name](data)


@pytest.mark.fuzz
@pytest.mark.parametrize("name", sorted(targets.TARGETS))
@LONG
@given(data=st.binary(min_size=0, max_size=20000))
def test_target_long_campaign(name: str, data: bytes) -> None:
    targets.TARGETS[name](data)
