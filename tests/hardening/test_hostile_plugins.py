"""Broken or hostile drivers, in front of zswap: a clear error naming the plugin, nothing lost.

Already covered in tests/core (not repeated here): a plugin whose import
raises, whose ``acomp_register_drivers`` raises, that registers a duplicate
driver name or an invalid driver (test_registry.py); a driver returning more
than the capacity on the one-buffer path (test_transform.py); an async driver
that never completes, under ``await`` and ``wait()`` (test_async.py).
"""

from __future__ import annotations

import errno
import random
import types
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hardening_helpers import text_page

import acomp
from acomp import PAGE_SIZE
from acomp.zswap import SwapDevice, Zswap

PLUGIN = "hostile-test"


def _deflate(src: Any, cap: int) -> bytes:
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    out = c.compress(src) + c.flush()
    if len(out) > cap:
        raise acomp.NoSpace(f"{len(out)} > {cap}")
    return out


class Honest(acomp.driver.Driver):
    alg_name = "hostile"
    driver_name = "hostile-honest"
    wire_format = "deflate"

    def compress(self, src: Any, capacity: int) -> bytes:
        return _deflate(src, capacity)

    def decompress(self, src: Any, capacity: int) -> bytes:
        return acomp.driver.inflate_bounded(src, capacity)


class ShortDecompress(Honest):
    """Returns one byte less than it decompressed (a wrong dlen)."""

    driver_name = "hostile-shortdec"

    def decompress(self, src: Any, capacity: int) -> bytes:
        return super().decompress(src, capacity)[:-1]


class TruncatedCompress(Honest):
    """Emits a compressed stream two bytes short (a wrong dlen on compress)."""

    driver_name = "hostile-shortcomp"

    def compress(self, src: Any, capacity: int) -> bytes:
        return super().compress(src, capacity)[:-2]


class Overrun(Honest):
    """Returns more bytes than the destination holds (tries to write past dst)."""

    driver_name = "hostile-overrun"

    def compress(self, src: Any, capacity: int) -> bytes:
        return b"\xaa" * (capacity + 1)

    def decompress(self, src: Any, capacity: int) -> bytes:
        return b"\xbb" * (capacity + 1)


class OverrunOnDecompress(Honest):
    """Compresses honestly; returns more than the page on decompress."""

    driver_name = "hostile-overrundec"

    def decompress(self, src: Any, capacity: int) -> bytes:
        return b"\xbb" * (capacity + 1)


class _Batching(Honest):
    batch_size = 8
    async_batching = True  # so zswap gives it batches of 8

    def batch_compress(self, srcs: Sequence[Any], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        return [_deflate(s, c) for s, c in zip(srcs, capacities)]


class BatchRaises(_Batching):
    """A bare exception inside the batch hook zswap uses."""

    driver_name = "hostile-batchraise"

    def batch_compress(self, srcs: Sequence[Any], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        raise ZeroDivisionError("hostile batch hook")


class BatchOverrun(_Batching):
    driver_name = "hostile-batchoverrun"

    def batch_compress(self, srcs: Sequence[Any], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        return [b"\xcc" * (c + 100) for c in capacities]


class BatchTooFew(_Batching):
    driver_name = "hostile-batchfew"

    def batch_compress(self, srcs: Sequence[Any], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        return super().batch_compress(srcs, capacities)[:-1]


class BatchInterrupted(_Batching):
    """The second batch call raises KeyboardInterrupt (a BaseException, e.g. Ctrl-C inside a driver)."""

    driver_name = "hostile-batchkbd"
    calls = 0

    def batch_compress(self, srcs: Sequence[Any], capacities: Sequence[int]) -> list[acomp.driver.Result]:
        type(self).calls += 1
        if type(self).calls == 2:
            raise KeyboardInterrupt
        return super().batch_compress(srcs, capacities)


class NotBytes(Honest):
    """Returns a str, not a buffer."""

    driver_name = "hostile-notbytes"

    def compress(self, src: Any, capacity: int) -> str:  # type: ignore[override]
        return "definitely not bytes"


class BlackHole(Honest):
    """Accepts async submissions and never completes them."""

    driver_name = "hostile-blackhole"

    def submit(self, op: Any, req: Any, capacity: int, done: Any) -> bool:
        return True


DRIVERS = [
    Honest,
    ShortDecompress,
    TruncatedCompress,
    Overrun,
    OverrunOnDecompress,
    BatchRaises,
    BatchOverrun,
    BatchTooFew,
    BatchInterrupted,
    NotBytes,
    BlackHole,
]


@pytest.fixture(autouse=True)
def hostile_plugin() -> Iterator[None]:
    def register(register: Any) -> None:
        for d in DRIVERS:
            register(d)

    acomp.driver.register_plugin(types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(register)), PLUGIN)
    BatchInterrupted.calls = 0
    yield
    acomp.driver.unregister_plugin(PLUGIN)
    with pytest.raises(acomp.AlgorithmNotFound):
        acomp.alloc("hostile-honest")


def pages(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [text_page(rng) for _ in range(n)]


def still_usable(z: Zswap) -> None:
    """The registry and this zswap keep working with a sane driver after the hostile one."""
    assert acomp.alloc("zstd").driver_name
    z.set_compressor("zstd")
    page = pages(1, seed=99)[0]
    out = bytearray(PAGE_SIZE)
    assert z.store(10_000, page) and z.load(10_000, out) and out == page
    z.verify()


# -- wrong dlen ------------------------------------------------------------------------------


def test_short_decompress_is_a_loud_error_and_keeps_the_entry() -> None:
    page = pages(1)[0]
    with Zswap("hostile-shortdec", total_ram=64 << 20) as z:
        assert z.store(0, page)
        out = bytearray(PAGE_SIZE)
        with pytest.raises(acomp.InvalidData, match=f"decompressed {PAGE_SIZE - 1} bytes, expected {PAGE_SIZE}"):
            z.load(0, out)
        assert z.stats()["decompress_fail"] == 1
        assert 0 in z.offsets()  # kept: a reader of the same wire format could still get it back
        # ... and one can: the stream itself is sound deflate
        entry = z.entry(0)
        assert entry is not None
        raw = bytes(entry.pool.zs.view(entry.handle, entry.length))
        assert acomp.decompress(raw, "deflate-generic", PAGE_SIZE) == page
        still_usable(z)


def test_zswap_load_error_names_the_driver_and_plugin() -> None:
    """The wrong-dlen error is zswap's own message: it should say whose output was short.

    Bug (reported): ``Zswap._decompress`` raises
    ``InvalidData("zswap: decompressed 4095 bytes, expected 4096")`` without the
    driver or plugin, unlike every core DriverError.
    """
    with Zswap("hostile-shortdec", total_ram=64 << 20) as z:
        assert z.store(0, pages(1)[0])
        with pytest.raises(acomp.AcompError) as info:
            z.load(0, bytearray(PAGE_SIZE))
        assert "hostile-shortdec" in str(info.value) and PLUGIN in str(info.value)


def test_truncated_compress_output_is_caught_at_load_never_silent(tmp_path: Path) -> None:
    """A driver emitting a short stream: zswap cannot tell at store time (no checksum, no verify),
    but the load fails loudly, keeps the slot, and nothing else is affected."""
    folio = pages(4, seed=1)
    z = Zswap("hostile-shortcomp", total_ram=64 << 20)
    with z, SwapDevice(tmp_path / "swap", zswap=z, nr_slots=64) as dev:
        assert dev.swap_out(0, b"".join(folio)) == "zswap"
        out = bytearray(PAGE_SIZE)
        for i in range(4):
            with pytest.raises(acomp.AcompError) as info:
                dev.swap_in(i, out)
            assert info.value.errno in (errno.EINVAL, errno.EBADMSG)
        assert z.stats()["decompress_fail"] == 4
        assert z.offsets() == {0, 1, 2, 3}  # every slot still there, nothing freed silently
        dev.invalidate(0, 4)
        assert z.offsets() == set()
        still_usable(z)


# -- writing past dst ------------------------------------------------------------------------


def test_overrun_is_a_driver_error_and_zswap_stores_the_page_as_is() -> None:
    tfm = acomp.alloc("hostile-overrun")
    dst = bytearray(100)
    with pytest.raises(acomp.DriverError, match=rf"'hostile-overrun' \(plugin '{PLUGIN}'\) returned 101 bytes"):
        tfm.compress(acomp.Request(b"x" * 50, dst))
    assert dst == bytearray(100)  # the core copies: nothing was written past (or into) dst
    folio = pages(3, seed=2)
    with Zswap("hostile-overrun", total_ram=64 << 20) as z:  # v5: the folio is refused, counted
        assert not z.store(0, b"".join(folio))
        assert z.stats()["reject_compress_fail"] == 1 and z.stats()["stored_pages"] == 0
    with Zswap("hostile-overrun", total_ram=64 << 20, store_incompressible=True) as z:
        assert z.store(0, b"".join(folio))
        st = z.stats()
        assert st["stored_incompressible_pages"] == 3  # the compress error means "store as-is" (6.18)
        out = bytearray(PAGE_SIZE)
        for i, p in enumerate(folio):
            assert z.load(i, out) and out == p  # as-is pages need no decompress
        still_usable(z)


def test_overrun_on_decompress_is_caught_and_another_reader_saves_the_page() -> None:
    page = pages(1)[0]
    tfm = acomp.alloc("hostile-overrundec")
    blob = acomp.compress(page, "hostile-overrundec")
    out = bytearray(PAGE_SIZE)
    with pytest.raises(acomp.DriverError, match=rf"'hostile-overrundec' \(plugin '{PLUGIN}'\) returned 4097"):
        tfm.decompress(acomp.Request(blob, out))
    assert out == bytearray(PAGE_SIZE)  # the caller's page was not touched
    with Zswap("hostile-overrundec", total_ram=64 << 20) as z:
        assert z.store(0, page)
        # zswap reads the page through another driver of the same wire format
        assert z.load(0, out) and out == page
        assert z.stats()["decompress_failover"] == 1 and z.stats()["decompress_fail"] == 0
        assert 0 not in z.offsets()
        still_usable(z)


def test_batch_hook_overrun_fails_each_request_naming_the_plugin() -> None:
    tfm = acomp.alloc("hostile-batchoverrun")
    reqs = [acomp.Request(p, bytearray(PAGE_SIZE)) for p in pages(8)]
    assert tfm.batch_compress(reqs) is False
    for r in reqs:
        assert isinstance(r.err, acomp.DriverError) and r.dlen == 0
        assert f"(plugin '{PLUGIN}')" in str(r.err) and "hostile-batchoverrun" in str(r.err)
        assert not any(r.dst)  # nothing copied


def test_batch_hook_returning_too_few_results() -> None:
    tfm = acomp.alloc("hostile-batchfew")
    reqs = [acomp.Request(p, bytearray(PAGE_SIZE)) for p in pages(8)]
    assert tfm.batch_compress(reqs) is False
    for r in reqs:
        assert isinstance(r.err, acomp.DriverError) and "returned 7 results for a batch of 8" in str(r.err)


# -- exceptions inside the batch hook zswap uses ---------------------------------------------


def test_batch_hook_raising_stores_pages_as_is(tmp_path: Path) -> None:
    folio = pages(16, seed=3)
    with (
        Zswap("hostile-batchraise", total_ram=64 << 20, store_incompressible=True) as z,
        SwapDevice(tmp_path / "s", zswap=z, nr_slots=64) as dev,
    ):
        assert z.pool.info()["nr_reqs"] == 8  # zswap really goes through the batch hook
        tfm = acomp.alloc("hostile-batchraise")
        reqs = [acomp.Request(p, bytearray(PAGE_SIZE)) for p in folio[:8]]
        assert tfm.batch_compress(reqs) is False
        assert all(
            isinstance(r.err, acomp.DriverError) and f"(plugin '{PLUGIN}') raised ZeroDivisionError" in str(r.err)
            for r in reqs
        )
        assert dev.swap_out(0, b"".join(folio)) == "zswap"
        assert z.stats()["stored_incompressible_pages"] == 16
        out = bytearray(PAGE_SIZE)
        for i, p in enumerate(folio):
            assert dev.swap_in(i, out) == "zswap" and out == p
        still_usable(z)


def test_batch_hook_raising_without_writeback_rejects_the_folio_to_the_file(tmp_path: Path) -> None:
    folio = pages(16, seed=4)
    with (
        Zswap("hostile-batchraise", total_ram=64 << 20, writeback_enabled=False) as z,
        SwapDevice(tmp_path / "s", zswap=z, nr_slots=64) as dev,
    ):
        assert dev.swap_out(0, b"".join(folio)) == "file"  # all or nothing: none in zswap
        st = z.stats()
        # v5 zswap_batch_compress counts every failing request of the failed batch (8), then stops
        assert st["reject_compress_fail"] == 8 and st["stored_pages"] == 0 and st["pool_total_size"] == 0
        out = bytearray(PAGE_SIZE)
        for i, p in enumerate(folio):
            assert dev.swap_in(i, out) == "file" and out == p
        z.verify()
        still_usable(z)


def test_base_exception_in_batch_hook_leaks_nothing() -> None:
    """KeyboardInterrupt inside the driver propagates; the folio's pages compressed so far are freed.

    Bug (reported): ``Zswap._compress_folio`` frees the partial folio only on a
    normal failure; a BaseException from the driver (or Ctrl-C) leaves the
    zsmalloc objects of the first batch allocated with no entry: ``verify()``
    fails and the pool never shrinks back.
    """
    with Zswap("hostile-batchkbd", total_ram=64 << 20) as z:
        with pytest.raises(KeyboardInterrupt):
            z.store(0, b"".join(pages(16, seed=5)))
        assert z.stored_pages() == 0
        assert z.pool.zs.nr_objs == 0, f"{z.pool.zs.nr_objs} zsmalloc objects leaked"
        z.verify()


# -- results that are not buffers ------------------------------------------------------------


def test_result_that_is_not_a_buffer_is_a_driver_error() -> None:
    """Into a caller's dst the copy fails and becomes a DriverError; with ``dst=None`` it must too.

    Bug (reported): with ``dst=None`` ``Transform._sync`` adopts the driver's
    object as ``req.dst`` unchecked, so ``acomp.compress`` (and ``req.output()``)
    raise a bare ``TypeError`` from memoryview instead of a DriverError naming the plugin.
    """
    tfm = acomp.alloc("hostile-notbytes")
    with pytest.raises(acomp.DriverError, match="hostile-notbytes"):
        tfm.compress(acomp.Request(b"abc" * 100, bytearray(4096)))
    with pytest.raises(acomp.DriverError, match="hostile-notbytes"):
        acomp.compress(b"abc" * 100, "hostile-notbytes")


# -- never completing ------------------------------------------------------------------------


def test_never_completing_driver_polled_in_a_chain_is_bounded() -> None:
    tfm = acomp.alloc("hostile-blackhole")
    reqs = [acomp.Request(p, bytearray(2 * PAGE_SIZE), flags=acomp.RequestFlags.POLL) for p in pages(4)]
    codes = acomp.driver.do_async_req_chain(
        reqs, submit=lambda r: -tfm.submit(r), poll=lambda r: tfm.poll(r), timeout=0.05
    )
    assert codes == [-errno.ETIMEDOUT] * 4


def test_zswap_on_a_never_completing_async_driver_is_unaffected() -> None:
    """zswap only uses the synchronous ops, so a broken async path cannot hang it."""
    folio = pages(16, seed=6)
    with Zswap("hostile-blackhole", total_ram=64 << 20) as z:
        assert z.store(0, b"".join(folio))
        out = bytearray(PAGE_SIZE)
        assert all(z.load(i, out) and out == p for i, p in enumerate(folio))
        z.verify()
