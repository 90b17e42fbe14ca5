"""A hypothesis state machine against a dict model: every page swapped out comes back intact.

The swap device runs with a small RAM budget so the pool limit, the
hysteresis and the (synchronous) limit-driven worker all take part; the
memory-pressure shrinker (count/scan), zsmalloc compaction and the explicit
shrink run as rules; the compressor changes at run time; ``zfault`` injects
compress and decompress failures (and ``deflate-iaa``'s own fault injection
when the IAA plugin is there).  Both incompressible-page policies run: v5's
(a folio with a page that does not compress goes to the file) and 6.18's
``store_incompressible``.  After every step each live page is in exactly one
tier (zero map, zswap, file) and the counters agree with the tree.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from zswap_helpers import Faults, iaa_module

import acomp
from acomp import PAGE_SIZE
from acomp.testing import active_profile
from acomp.zswap import SHRINK_STOP, SwapDevice, Zswap

NR_SLOTS = 96

page_kinds = st.sampled_from(["zero", "text", "random", "repeat"])


def make_page(kind: str, seed: int) -> bytes:
    if kind == "zero":
        return bytes(PAGE_SIZE)
    if kind == "random":
        return random.Random(seed).randbytes(PAGE_SIZE)
    if kind == "repeat":
        return bytes([seed % 256]) * PAGE_SIZE
    return (b"page %d " % seed * 600)[:PAGE_SIZE]


class ZswapMachine(RuleBasedStateMachine):
    compressors: tuple[str, ...] = ("ztest1", "ztest", "zfault", "zstd", "lz4")
    #: The incompressible-page policy under test (False: the seed's v5).
    as_is = False

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="zswap-sm-"))
        self.zswap = Zswap(
            self.compressors[0],
            total_ram=150 * PAGE_SIZE,
            shrink_async=False,
            store_incompressible=self.as_is,
            nr_cpus=2,
        )
        self.dev = SwapDevice(self.dir / "swap", zswap=self.zswap, nr_slots=NR_SLOTS)
        self.model: dict[int, bytes] = {}
        self.written_back = 0

    def teardown(self) -> None:
        self.dev.close()
        self.zswap.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        Faults.reset()

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        self.zswap.set_compressor(data.draw(st.sampled_from(self.compressors)))
        for run in range(data.draw(st.integers(0, 3))):
            self.swap_out(run, 16, ["text", "random", "text", "zero"] * 4, run * 100)

    @rule(
        run=st.integers(0, NR_SLOTS // 16 - 1),
        nr=st.sampled_from([1, 2, 4, 16]),
        kinds=st.lists(page_kinds, min_size=16, max_size=16),
        seed=st.integers(0, 10_000),
    )
    def swap_out(self, run: int, nr: int, kinds: list[str], seed: int) -> None:
        offset = run * 16 + (seed % (16 // nr)) * nr
        pages = [make_page(kinds[i], seed + i) for i in range(nr)]
        where = self.dev.swap_out(offset, b"".join(pages))
        assert where in ("zero", "zswap", "file")
        if "random" in kinds[:nr] and not self.as_is:
            assert where == "file"  # v5: the page fails its request, the folio goes whole
        for i, p in enumerate(pages):
            self.model[offset + i] = p

    @rule(data=st.data())
    def swap_in(self, data: st.DataObject) -> None:
        live = sorted(self.model)
        if live and data.draw(st.booleans()):
            offset = data.draw(st.sampled_from(live))
        else:
            offset = data.draw(st.integers(0, NR_SLOTS - 1))
        out = bytearray(PAGE_SIZE)
        try:
            src = self.dev.swap_in(offset, out)
        except acomp.AcompError:
            # An injected decompress fault: the page must still be there.
            assert offset in self.model
            assert offset in self.zswap.offsets()
            return
        expect = self.model.pop(offset, None)
        if expect is None:
            assert src is None
        else:
            assert src is not None
            assert bytes(out) == expect

    @rule(offset=st.integers(0, NR_SLOTS - 1), nr=st.integers(1, 4))
    def invalidate(self, offset: int, nr: int) -> None:
        nr = min(nr, NR_SLOTS - offset)
        self.dev.invalidate(offset, nr)
        for i in range(offset, offset + nr):
            self.model.pop(i, None)

    @rule(nr=st.integers(1, 20))
    def shrink(self, nr: int) -> None:
        before = self.zswap.stored_pages()
        done = self.zswap.shrink(nr)
        assert 0 <= done <= min(nr, before)

    @rule(nr=st.integers(0, 24), enabled=st.booleans())
    def memory_pressure(self, nr: int, enabled: bool) -> None:
        """vmscan's view: the zswap shrinker's count then scan, then zsmalloc's."""
        z = self.zswap
        z.shrinker_enabled = enabled
        stored, backing, swapins = z.stored_pages(), z.total_pages(), z.nr_disk_swapins
        count = z.shrinker_count()
        if not enabled or not z.writeback_enabled:
            assert count == 0 and z.shrinker_scan(nr) == SHRINK_STOP
            return
        # kernel: (LRU entries - recent disk swap-ins) x backing pages / stored pages
        expect = (stored - min(swapins, stored)) * backing // stored if stored else 0
        assert count == expect and z.nr_disk_swapins == (swapins - min(swapins, stored) if stored else swapins)
        before = z.stored_pages()
        freed = z.shrinker_scan(nr)
        assert freed == SHRINK_STOP or 0 < freed <= min(nr, before)
        pages = z.total_pages()
        compacted = z.compact()
        assert z.total_pages() == pages - compacted

    @rule()
    def toggle_writeback(self) -> None:
        self.zswap.writeback_enabled = not self.zswap.writeback_enabled

    @rule(data=st.data())
    def set_compressor(self, data: st.DataObject) -> None:
        self.zswap.set_compressor(data.draw(st.sampled_from(self.compressors)))

    @rule(compress=st.integers(0, 3), decompress=st.integers(0, 1))
    def inject_faults(self, compress: int, decompress: int) -> None:
        Faults.compress = compress
        Faults.decompress = decompress

    @rule()
    def toggle_enabled(self) -> None:
        self.zswap.enabled = not self.zswap.enabled

    @invariant()
    def consistent(self) -> None:
        z = self.zswap
        z.verify()  # stored_pages == live entries, per-pool objects, pool_total_size == pages
        st_ = z.stats()
        assert st_["stored_pages"] == len(z.offsets())
        assert st_["pool_total_size"] == sum(p.zs.total_pages for p in z.pools()) * PAGE_SIZE
        assert st_["zswpwb"] == st_["written_back_pages"]
        assert z.pools()[0].compressor == z.compressor
        if not self.as_is:
            assert st_["stored_incompressible_pages"] == 0
        # Every live page is in exactly one tier, and nothing else is anywhere.
        in_zswap = z.offsets()
        zero = {i for i, b in enumerate(self.dev.zeromap) if b}
        disk = {i for i, b in enumerate(self.dev.on_disk) if b}
        assert not (in_zswap & zero) and not (in_zswap & disk) and not (zero & disk)
        assert in_zswap | zero | disk == set(self.model)
        # Writeback only ever moves pages onto the disk, and counts each.
        assert st_["written_back_pages"] >= self.written_back
        self.written_back = int(st_["written_back_pages"])  # type: ignore[call-overload]


def _iaa_api() -> Any:
    """The IAA plugin's control functions (inject_fault, enable, clear_faults), or None."""
    mod = iaa_module()
    if mod is None:
        return None
    if hasattr(mod, "inject_fault"):
        return mod
    try:
        import acomp_iaa.api as api
    except ImportError:
        return None
    return api


IAA_FAULTS = ("timeout", "comp_buf_overflow", "analytics_error", "verify_mismatch", "einval")


class IaaMachine(ZswapMachine):
    compressors = ("deflate-iaa", "zstd", "deflate")
    _iaa: Any = _iaa_api()

    def teardown(self) -> None:
        if self._iaa is not None:
            self._iaa.clear_faults()
            self._iaa.enable()
        super().teardown()

    @precondition(lambda self: self._iaa is not None)
    @rule(kind=st.sampled_from(IAA_FAULTS), count=st.integers(1, 3))
    def iaa_fault(self, kind: str, count: int) -> None:
        self._iaa.inject_fault(kind, count=count)

    @precondition(lambda self: self._iaa is not None)
    @rule()
    def iaa_enable(self) -> None:
        """An operator re-enables the device after a timeout disabled it."""
        self._iaa.enable()


class StoreIncompressibleMachine(ZswapMachine):
    as_is = True


def _bounded(examples: int, steps: int) -> settings:
    """The active profile's budget (``ci``: 25 examples), capped for this machine."""
    parent = settings.get_profile(active_profile())
    return settings(parent, max_examples=min(parent.max_examples, examples), stateful_step_count=steps, deadline=None)


TestZswapMachine = ZswapMachine.TestCase
TestZswapMachine.settings = _bounded(40, 40)
TestStoreIncompressibleMachine = StoreIncompressibleMachine.TestCase
TestStoreIncompressibleMachine.settings = _bounded(30, 40)


@pytest.mark.skipif(_iaa_api() is None, reason="deflate-iaa (acomp_iaa) not available yet")
class TestIaaMachine(IaaMachine.TestCase):  # type: ignore[name-defined, misc]
    settings = _bounded(15, 30)
