"""Hypothesis profiles for acomp's strategies and conformance kit.

``ci``   bounded, for CI and the default test run under ``CI=...`` (25 examples per property)
``dev``  more examples, the default on a developer's machine (100 per property)
``thorough`` a long campaign (2000 per property), run on purpose

All three: no deadline (this machine is noisy; drivers may be emulated
devices) and no "too slow" health check.  The profile is chosen by
``HYPOTHESIS_PROFILE``; without it, ``ci`` when ``CI`` is set, else ``dev``.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, Phase, settings

__all__ = ["PROFILES", "active_profile", "kit_settings", "load_profile", "register_profiles"]

#: Profile name -> max_examples.
PROFILES: dict[str, int] = {"ci": 25, "dev": 100, "thorough": 2000}

# function_scoped_fixture: so a project's own ``@given`` tests with pytest fixtures can
# run under these profiles too (``load_profile()`` from its conftest.py is then all it needs).
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]

_registered = False


def _existing(name: str) -> settings | None:
    try:
        return settings.get_profile(name)
    except Exception:  # hypothesis.errors.InvalidArgument: not registered
        return None


def register_profiles() -> None:
    """Register the ``ci``, ``dev`` and ``thorough`` profiles with hypothesis (idempotent).

    A profile of that name that already exists (hypothesis' own ``ci``, or one a
    project registered in its ``conftest.py``) is kept as the parent: only the
    example budget, the deadline and the health checks above are set on top.
    """
    global _registered
    if _registered:
        return
    for name, examples in PROFILES.items():
        parent = _existing(name)
        quiet = set(_QUIET) | (set(parent.suppress_health_check) if parent is not None else set())
        settings.register_profile(
            name,
            parent,
            max_examples=examples,
            deadline=None,
            suppress_health_check=sorted(quiet, key=lambda h: h.value),
        )
    _registered = True


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in ("", "0", "false", "no")


def active_profile(explicit: str | None = None) -> str:
    """The profile to use: ``explicit``, else ``$HYPOTHESIS_PROFILE``, else ``ci`` under CI, else ``dev``."""
    if explicit:
        return explicit
    env = os.environ.get("HYPOTHESIS_PROFILE", "").strip()
    if env:
        return env
    return "ci" if _truthy(os.environ.get("CI")) else "dev"


def load_profile(name: str | None = None) -> str:
    """Register the profiles and make the active one hypothesis' default; return its name."""
    register_profiles()
    chosen = active_profile(name)
    settings.load_profile(chosen)
    return chosen


def kit_settings(profile: str | None = None, max_examples: int | None = None, *, shrink: bool = False) -> settings:
    """The settings the conformance kit runs its properties with.

    Without ``shrink`` a failure is reported as found: the kit's messages
    describe the failing input, and shrinking a page-sized example through a
    broken driver can take longer than the whole run.
    """
    register_profiles()
    parent = settings.get_profile(active_profile(profile))
    # No example database: the kit's properties are inner functions that share one
    # database key, so replaying one property's failure into another would be noise.
    quiet = sorted(set(parent.suppress_health_check) | set(_QUIET), key=lambda h: h.value)
    common: dict[str, Any] = {
        "deadline": None,
        "report_multiple_bugs": False,
        "database": None,
        "suppress_health_check": quiet,
    }
    if max_examples is not None:
        common["max_examples"] = max_examples
    if not shrink:
        common["phases"] = [p for p in parent.phases if p not in (Phase.shrink, Phase.explain)]
    return settings(parent, **common)
