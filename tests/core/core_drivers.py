"""Throwaway drivers and a plugin object for core tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Sequence

import acomp


class ZlibTest(acomp.driver.Driver):
    """A tiny software driver used to test the core without any plugin."""

    alg_name = "testz"
    driver_name = "testz-generic"
    priority = 100

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        out = zlib.compress(src, 1, -15)
        if len(out) > capacity:
            raise acomp.NoSpace("too big")
        return out

    def decompress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        return acomp.driver.inflate_bounded(src, capacity)


class ZlibBatching(ZlibTest):
    """Same codec, with a (sequential) batch hook, the chaining opt-in, and a claim of async batching.

    The claim is what makes ``crypto_acomp_batch_size()`` 4 rather than 1 (v5).
    """

    driver_name = "testz-batch"
    priority = 200
    batch_size = 4
    async_batching = True
    features = acomp.driver.Feature.REQ_CHAIN | acomp.driver.Feature.REQ_SEG
    batch_calls: list[int] = []

    def batch_compress(
        self, srcs: Sequence[acomp.driver.BufferLike], capacities: Sequence[int]
    ) -> list[acomp.driver.Result]:
        type(self).batch_calls.append(len(srcs))
        return super().batch_compress(srcs, capacities)


class TestPlugin:
    __test__ = False

    @acomp.driver.hookimpl
    def acomp_register_drivers(self, register):  # type: ignore[no-untyped-def]
        register(ZlibTest)
        register(ZlibBatching)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with warnings shown and no ACOMP_* variable but ``env``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ACOMP_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
