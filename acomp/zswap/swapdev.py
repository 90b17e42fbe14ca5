"""The swap layer around zswap: a swap area backed by a real file.

Kernel: ``swap_writepage`` / ``swap_read_folio`` (``mm/page_io.c``) with the
zero-page bitmap (``si->zeromap``), zswap in front, the block device behind.
A slot is ``PAGE_SIZE`` bytes at ``offset * PAGE_SIZE`` in the file.

Zero pages: as in ``swap_writepage``, the check is per folio.  A folio whose
every byte is zero only sets its bits in the zero map; any other folio goes
to zswap whole (its zero pages compress to a few bytes), and to the file if
zswap rejects it.

``swap_in`` is exclusive: the page goes back to memory and its slot is freed
wherever it was (zswap's loads are exclusive in the kernel; here the zero map
and the file follow suit, which keeps the model simple: a slot holds the last
page swapped out to it until that page is swapped in or invalidated).

Each run of 16 slots has a lock (the folio lock of the kernel's swap cache):
``swap_out``, ``swap_in`` and ``invalidate`` hold it, and zswap's writeback
tries it, skipping a slot that is busy.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Literal

import attrs

from acomp import PAGE_SIZE, InvalidArgument
from acomp.zswap.stats import folio_key
from acomp.zswap.zswap import Zswap

if TYPE_CHECKING:
    from acomp.driver import BufferLike

__all__ = ["SwapDevice", "SwapStats"]

Source = Literal["zero", "zswap", "file"]

_LOCK_SHIFT = 4
_NR_LOCKS = 1024
_ZERO_HEAD = bytes(64)


@attrs.define(slots=True, eq=False)
class SwapStats:
    """The swap layer's vmstat events."""

    pswpout: int = 0
    pswpin: int = 0
    swpout_zero: int = 0
    swpin_zero: int = 0
    #: Folios that zswap refused and that went to the file.
    zswap_rejected_folios: int = 0
    #: folio size in pages -> folios written to the file (the seed's ``SWPOUT-64kB`` rows).
    folios_to_file: dict[int, int] = attrs.field(factory=dict)


class SwapDevice:
    """A swap area of ``nr_slots`` pages in the file ``path``, with ``zswap`` in front."""

    def __init__(self, path: str | os.PathLike[str], zswap: Zswap | None = None, nr_slots: int = 1 << 16) -> None:
        if nr_slots <= 0:
            raise InvalidArgument(f"nr_slots must be positive, got {nr_slots}")
        self.path = os.fspath(path)
        self.nr_slots = nr_slots
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(self._fd, nr_slots * PAGE_SIZE)
        self.zeromap = bytearray(nr_slots)
        #: 1 where the file holds the slot's page.
        self.on_disk = bytearray(nr_slots)
        self._locks = tuple(threading.Lock() for _ in range(_NR_LOCKS))
        self._stats_lock = threading.Lock()
        self.counters = SwapStats()
        self._zero: dict[int, bytes] = {}
        self.zswap = zswap
        if zswap is not None and zswap.swap is None:
            zswap.swap = self

    # -- slot locks (zswap's WritebackTarget) -----------------------------------------------

    def slot_lock(self, offset: int) -> threading.Lock:
        return self._locks[(offset >> _LOCK_SHIFT) % _NR_LOCKS]

    def _lock_range(self, offset: int, nr: int) -> list[threading.Lock]:
        ids = sorted(
            {(o >> _LOCK_SHIFT) % _NR_LOCKS for o in range(offset, offset + nr, 1 << _LOCK_SHIFT)}
            | {((offset + nr - 1) >> _LOCK_SHIFT) % _NR_LOCKS}
        )
        locks = [self._locks[i] for i in ids]
        for lock in locks:
            lock.acquire()
        return locks

    def write_slot(self, offset: int, page: bytearray) -> None:
        """zswap writeback lands here (kernel: ``__swap_writepage`` of the swapcache folio)."""
        os.pwrite(self._fd, page, offset * PAGE_SIZE)
        self.on_disk[offset] = 1
        with self._stats_lock:
            self.counters.pswpout += 1

    # -- swap out / in ----------------------------------------------------------------------

    def _check(self, offset: int, nr: int) -> None:
        if offset < 0 or nr <= 0 or offset + nr > self.nr_slots:
            raise InvalidArgument(f"swap slots {offset}..{offset + nr - 1} outside 0..{self.nr_slots - 1}")

    def _is_zero(self, mv: memoryview) -> bool:
        if mv[:64].tobytes() != _ZERO_HEAD[: min(64, mv.nbytes)]:
            return False
        n = mv.nbytes
        zero = self._zero.get(n)
        if zero is None:
            zero = self._zero[n] = bytes(n)
        obj = mv.obj
        if isinstance(obj, (bytes, bytearray)) and len(obj) == n:
            return obj == zero
        return mv.tobytes() == zero

    def swap_out(self, offset: int, folio: BufferLike) -> Source:
        """Swap a folio out to slots ``offset..``; return where it went."""
        mv = memoryview(folio)
        if mv.ndim != 1 or mv.itemsize != 1:
            mv = mv.cast("B")
        nr, rem = divmod(mv.nbytes, PAGE_SIZE)
        if rem or nr == 0:
            raise InvalidArgument(f"swap_out: a folio is n x {PAGE_SIZE} bytes, got {mv.nbytes}")
        self._check(offset, nr)
        end = offset + nr
        zswap = self.zswap
        locks = self._lock_range(offset, nr)
        try:
            if self._is_zero(mv):
                self.zeromap[offset:end] = b"\x01" * nr
                self.on_disk[offset:end] = bytes(nr)
                if zswap is not None:
                    zswap.erase(offset, nr)
                with self._stats_lock:
                    self.counters.swpout_zero += nr
                return "zero"
            self.zeromap[offset:end] = bytes(nr)
            if zswap is not None and zswap.store(offset, mv):
                self.on_disk[offset:end] = bytes(nr)
                return "zswap"
            os.pwrite(self._fd, mv, offset * PAGE_SIZE)
            self.on_disk[offset:end] = b"\x01" * nr
            with self._stats_lock:
                c = self.counters
                c.pswpout += nr
                c.folios_to_file[nr] = c.folios_to_file.get(nr, 0) + 1
                if zswap is not None:
                    c.zswap_rejected_folios += 1
            return "file"
        finally:
            for lock in locks:
                lock.release()

    def swap_in(self, offset: int, out: BufferLike) -> Source | None:
        """Read slot ``offset`` into ``out`` (one page): zero map, zswap, file; None if empty.

        The slot is freed on success.  A zswap decompression failure raises
        its :class:`~acomp.AcompError` and leaves the slot as it was.
        """
        self._check(offset, 1)
        dst = memoryview(out)
        if dst.ndim != 1 or dst.itemsize != 1:
            dst = dst.cast("B")
        if dst.nbytes < PAGE_SIZE or dst.readonly:
            raise InvalidArgument("swap_in: out must be a writable buffer of at least one page")
        dst = dst[:PAGE_SIZE]
        lock = self.slot_lock(offset)
        with lock:
            if self.zeromap[offset]:
                dst[:] = _zero_page
                self.zeromap[offset] = 0
                with self._stats_lock:
                    self.counters.swpin_zero += 1
                return "zero"
            zswap = self.zswap
            if zswap is not None and zswap.load(offset, dst):
                return "zswap"
            if self.on_disk[offset]:
                got = os.preadv(self._fd, [dst], offset * PAGE_SIZE)
                if got != PAGE_SIZE:
                    raise OSError(f"swap file {self.path}: short read at slot {offset}")
                self.on_disk[offset] = 0
                with self._stats_lock:
                    self.counters.pswpin += 1
                return "file"
            return None

    def invalidate(self, offset: int, nr: int = 1) -> None:
        """Free slots everywhere (kernel: ``swap_free`` -> ``zswap_invalidate``)."""
        self._check(offset, nr)
        end = offset + nr
        locks = self._lock_range(offset, nr)
        try:
            self.zeromap[offset:end] = bytes(nr)
            self.on_disk[offset:end] = bytes(nr)
            if self.zswap is not None:
                self.zswap.erase(offset, nr)
        finally:
            for lock in locks:
                lock.release()

    # -- accounting -------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        with self._stats_lock:
            c = self.counters
            out = {
                "pswpout": c.pswpout,
                "pswpin": c.pswpin,
                "swpout_zero": c.swpout_zero,
                "swpin_zero": c.swpin_zero,
                "zswap_rejected_folios": c.zswap_rejected_folios,
            }
            for n in sorted(c.folios_to_file):
                out[folio_key("swpout", n)] = c.folios_to_file[n]
        out["zero_pages"] = sum(self.zeromap)
        out["file_pages"] = sum(self.on_disk)
        return out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> SwapDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_zero_page = bytes(PAGE_SIZE)
