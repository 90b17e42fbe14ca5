"""Throwaway drivers and page makers for the zswap tests (imported by conftest and tests).

``ztest`` (driver ``ztest-batch``) batches 8 with async batching and records
every batch call; ``ztest1`` (``ztest-single``) does not batch; ``zfault``
(``zfault-generic``) fails on demand (compress and/or decompress), to reach
zswap's error paths; ``exact-page`` pads every output to ``ExactPage.size``
bytes.  All write raw deflate, so their streams are real.
"""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Sequence
from typing import Any

import acomp

PLUGIN = "zswap-test"


def _deflate(src: Any, cap: int) -> bytes:
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    out = c.compress(src) + c.flush()
    if len(out) > cap:
        raise acomp.NoSpace(f"{len(out)} > {cap}")
    return out


def _inflate(src: Any, cap: int) -> bytes:
    d = zlib.decompressobj(-15)
    try:
        out = d.decompress(src, cap)
    except zlib.error as exc:
        raise acomp.InvalidData(str(exc)) from None
    if d.unconsumed_tail:
        raise acomp.NoSpace("output exceeds capacity")
    if not d.eof:
        raise acomp.InvalidData("truncated")
    return out


class ZtestBatch(acomp.driver.Driver):
    alg_name = "ztest"
    driver_name = "ztest-batch"
    priority = 100
    batch_size = 8
    async_batching = True
    wire_format = "deflate"
    #: Sizes of every batch_compress call (any instance).
    batch_calls: list[int] = []
    single_calls: list[int] = []
    _lock = threading.Lock()

    def compress(self, src: Any, capacity: int) -> bytes:
        with self._lock:
            self.single_calls.append(1)
        return _deflate(src, capacity)

    def decompress(self, src: Any, capacity: int) -> bytes:
        return _inflate(src, capacity)

    def batch_compress(self, srcs: Sequence[Any], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        with self._lock:
            self.batch_calls.append(len(srcs))
        out: list[acomp.driver.Result] = []
        for s, c in zip(srcs, capacities):
            try:
                out.append(_deflate(s, c))
            except acomp.AcompError as exc:
                out.append(exc)
        return out


class ZtestSingle(acomp.driver.Driver):
    alg_name = "ztest1"
    driver_name = "ztest-single"
    wire_format = "deflate"
    calls: list[int] = []
    _lock = threading.Lock()

    def compress(self, src: Any, capacity: int) -> bytes:
        with self._lock:
            self.calls.append(1)
        return _deflate(src, capacity)

    def decompress(self, src: Any, capacity: int) -> bytes:
        return _inflate(src, capacity)


class Faults:
    """Switches for ``zfault``: each is a remaining count of failures (-1: always)."""

    compress = 0
    decompress = 0
    compress_errno = 5  # EIO

    @classmethod
    def reset(cls) -> None:
        cls.compress = cls.decompress = 0

    @classmethod
    def take(cls, name: str) -> bool:
        left = getattr(cls, name)
        if left == 0:
            return False
        if left > 0:
            setattr(cls, name, left - 1)
        return True


class Zfault(acomp.driver.Driver):
    alg_name = "zfault"
    driver_name = "zfault-generic"
    wire_format = "deflate"

    def compress(self, src: Any, capacity: int) -> bytes:
        if Faults.take("compress"):
            raise acomp.errors.error_from_errno(Faults.compress_errno, "injected compress fault")
        return _deflate(src, capacity)

    def decompress(self, src: Any, capacity: int) -> bytes:
        if Faults.take("decompress"):
            raise acomp.InvalidData("injected decompress fault")
        return _inflate(src, capacity)


class ExactPage(acomp.driver.Driver):
    """Pads every output to exactly ``size`` bytes (a length header, deflate, filler): a compressor
    whose output fits the page but gains nothing."""

    alg_name = "exact-page"
    driver_name = "exact-page-generic"
    wire_format = "exact-page"
    size = acomp.PAGE_SIZE

    def compress(self, src: Any, capacity: int) -> bytes:
        body = _deflate(src, capacity)
        out = len(body).to_bytes(2, "little") + body
        if len(out) > self.size or self.size > capacity:
            raise acomp.NoSpace("does not fit")
        return out.ljust(self.size, b"\xa5")

    def decompress(self, src: Any, capacity: int) -> bytes:
        raw = bytes(src)
        n = int.from_bytes(raw[:2], "little")
        return _inflate(raw[2 : 2 + n], capacity)


class TestPlugin:
    @acomp.driver.hookimpl
    def acomp_register_drivers(self, register: Any) -> None:
        register(ZtestBatch)
        register(ZtestSingle)
        register(Zfault)
        register(ExactPage)


def have_driver(name: str) -> bool:
    try:
        acomp.alloc(name).close()
    except acomp.AcompError:
        return False
    return True


def iaa_module() -> Any:
    """The emulated IAA plugin module when it is importable and registered, else None."""
    try:
        import acomp_iaa
    except ImportError:
        return None
    return acomp_iaa if have_driver("deflate-iaa") else None


def text_pages(n: int, seed: int = 0) -> list[bytes]:
    """Compressible, distinct pages (text-like)."""
    words = [b"swap", b"zswap", b"folio", b"entry", b"pool", b"kernel", b"page", b"lru"]
    out = []
    for i in range(n):
        parts = [words[(i * 7 + j * (seed + 3)) % len(words)] for j in range(900)]
        page = (b"%d:%d " % (seed, i) + b" ".join(parts))[: acomp.PAGE_SIZE]
        out.append(page.ljust(acomp.PAGE_SIZE, b"."))
    return out


def random_pages(n: int) -> list[bytes]:
    return [os.urandom(acomp.PAGE_SIZE) for _ in range(n)]
