"""acomp.testing: hypothesis strategies and the conformance kit for driver authors.

Check a driver in one call::

    import acomp.testing
    acomp.testing.check_driver("mydrv-generic")     # raises ConformanceError naming the property

or as one pytest class::

    class TestMine(acomp.testing.ConformanceSuite):
        driver = "mydrv-generic"

Strategies (pages, folios, a driver's streams and their damaged versions,
batches with planted failures) are in :mod:`acomp.testing.strategies`.
Hypothesis profiles ``ci``, ``dev`` and ``thorough`` are registered on import;
the kit picks ``$HYPOTHESIS_PROFILE``, else ``ci`` when ``$CI`` is set, else
``dev``.  :func:`load_profile` also makes it hypothesis' default, for your own
``@given`` tests (call it from a ``conftest.py``).

Needs ``hypothesis``, and ``pytest`` for :class:`ConformanceSuite`: both come with
``pip install "acomp[testing]"``.  The properties, options and budgets: docs/testing.md.
"""

from __future__ import annotations

# The public names are listed once, in each module's ``__all__``.
from acomp.testing import _profiles, conformance, strategies
from acomp.testing._profiles import *  # noqa: F403
from acomp.testing.conformance import *  # noqa: F403

_profiles.register_profiles()

__all__ = [*conformance.__all__, *_profiles.__all__, "strategies"]
