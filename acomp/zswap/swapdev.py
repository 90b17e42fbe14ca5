"""The swap layer around zswap: a swap area backed by a real file.

Kernel: ``swap_writepage`` / ``swap_read_folio`` (``mm/page_io.c``) with the
zero-page bitmap (``si->zeromap``), zswap in front, the block device behind.
A slot is ``PAGE_SIZE`` bytes at ``offset * PAGE_SIZE`` in the file.

Zero pages: as in ``swap_writepage``, the check is per folio.  A folio whose
every byte is zero only sets its bits in the zero map; any other folio goes
to zswap whole (its zero pages compress to a few bytes), and to the file if
zswap rejects it (``SWPOUT-<size>`` counted).

``swap_in`` is exclusive: the page goes back to memory and its slot is freed
wherever it was (a slot holds the last page swapped out to it until that page
is swapped in or invalidated).  A page read from the file tells zswap
(``zswap_folio_swapin``), which protects that many entries from its shrinker.

Each run of 16 slots has a lock (the folio lock of the kernel's swap cache):
``swap_out``, ``swap_in``, ``invalidate`` and every file access hold it, and
zswap's writeback tries it, skipping a slot that is busy.

The file: created new (``O_EXCL``, mode 0600, never through a symlink) and
removed on :meth:`SwapDevice.close`, or, with ``reuse=True``, an existing
regular file opened without following symlinks and kept.  ``discard=True``
punches freed slots out of the file (the kernel's swap discard), so pages do
not stay in it after they are swapped in or invalidated.  A write is complete
or fails the whole folio with nothing marked; file errors are
:class:`~acomp.AcompError` with the OS errno.  ``close()`` (or garbage
collection) closes the file and detaches it from zswap.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat
import threading
import weakref
from typing import TYPE_CHECKING, Literal

import attrs

from acomp import PAGE_SIZE, AcompError, InvalidArgument, NoSpace
from acomp.request import byte_view
from acomp.zswap.stats import folio_key
from acomp.zswap.zswap import Zswap

if TYPE_CHECKING:
    from acomp.driver import BufferLike

__all__ = ["SwapDevice", "SwapStats"]

Source = Literal["zero", "zswap", "file"]

_LOCK_SHIFT = 4
_NR_LOCKS = 1024
_ZERO_HEAD = bytes(64)
_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02


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
    #: Slots punched out of the file (``discard=True``).
    discarded: int = 0


def file_error(exc: OSError, what: str) -> AcompError:
    """An OS error as an AcompError with its errno (ENOSPC is :class:`~acomp.NoSpace`)."""
    code = exc.errno or errno.EIO
    msg = f"{what}: {os.strerror(code)}"
    err: AcompError = NoSpace(msg) if code == errno.ENOSPC else AcompError(msg, errno=code)
    err.__cause__ = exc
    return err


def _pwrite_all(fd: int, data: memoryview, pos: int) -> None:
    """``os.pwrite`` until every byte is written; a write that makes no progress is ENOSPC."""
    done, n = 0, data.nbytes
    while done < n:
        w = os.pwrite(fd, data[done:], pos + done)
        if w <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        done += w


def _close_file(fd: int, path: str | None, ident: tuple[int, int]) -> None:
    """Close the swap file and remove it if we created it and the path still names it."""
    if path is not None:
        try:
            st = os.lstat(path)
            if (st.st_dev, st.st_ino) == ident:
                os.unlink(path)
        except OSError:
            pass
    os.close(fd)


class _Punch:
    """``fallocate(PUNCH_HOLE)`` through libc, when the platform has it."""

    fn: object = None

    @classmethod
    def hole(cls, fd: int, pos: int, length: int) -> bool:
        if cls.fn is None:
            try:
                f = ctypes.CDLL(None, use_errno=True).fallocate
                f.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong)
                cls.fn = f
            except (OSError, AttributeError):
                cls.fn = False
        if not cls.fn:
            return False
        return bool(cls.fn(fd, _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE, pos, length) == 0)  # type: ignore[operator]


class SwapDevice:
    """A swap area of ``nr_slots`` pages in the file ``path``, with ``zswap`` in front."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        zswap: Zswap | None = None,
        nr_slots: int = 1 << 16,
        *,
        reuse: bool = False,
        discard: bool = False,
    ) -> None:
        if type(nr_slots) is not int or nr_slots <= 0:
            raise InvalidArgument(f"nr_slots must be a positive int, got {nr_slots!r}")
        self.path = os.fspath(path)
        self.nr_slots = nr_slots
        self.discard = bool(discard)
        fd, created = self._open(self.path, reuse)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise InvalidArgument(f"swap file {self.path} is not a regular file")
            os.ftruncate(fd, nr_slots * PAGE_SIZE)
        except OSError as exc:
            os.close(fd)
            raise file_error(exc, f"swap file {self.path}") from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        ident = (st.st_dev, st.st_ino)
        self._finalizer = weakref.finalize(self, _close_file, fd, self.path if created else None, ident)
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

    @staticmethod
    def _open(path: str, reuse: bool) -> tuple[int, bool]:
        base = os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(path, base | os.O_CREAT | os.O_EXCL, 0o600), True
        except FileExistsError as exc:
            if not reuse:
                raise AcompError(f"swap file {path} exists (pass reuse=True to use it)", errno=errno.EEXIST) from exc
        except OSError as exc:
            raise file_error(exc, f"swap file {path}") from None
        try:
            return os.open(path, base), False
        except OSError as exc:
            raise file_error(exc, f"swap file {path}") from None

    def fileno(self) -> int:
        """The swap file's descriptor (-1 once closed), as a file object's."""
        return self._fd

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

    def write_slot(self, offset: int, page: BufferLike) -> None:
        """zswap writeback lands here (kernel: ``__swap_writepage``); call under the slot's lock."""
        self._check(offset, 1)
        self._write(offset, byte_view(page, "page")[:PAGE_SIZE])
        self.on_disk[offset] = 1
        with self._stats_lock:
            self.counters.pswpout += 1

    def _write(self, offset: int, data: memoryview) -> None:
        if self._fd < 0:
            raise AcompError(f"swap file {self.path} is closed", errno=errno.EBADF)
        try:
            _pwrite_all(self._fd, data, offset * PAGE_SIZE)
        except OSError as exc:
            raise file_error(exc, f"swap file {self.path}: write at slot {offset}") from None

    def _discard(self, offset: int, nr: int) -> None:
        """Punch the slots of ``offset..offset+nr-1`` that hold a page; call under their locks."""
        if not self.discard or self._fd < 0:
            return
        end = offset + nr
        i = offset
        while i < end:
            if not self.on_disk[i]:
                i += 1
                continue
            j = i
            while j < end and self.on_disk[j]:
                j += 1
            try:  # best effort: a failed discard leaves old bytes, never wrong ones
                if not _Punch.hole(self._fd, i * PAGE_SIZE, (j - i) * PAGE_SIZE):
                    _pwrite_all(self._fd, memoryview(bytes((j - i) * PAGE_SIZE)), i * PAGE_SIZE)
            except OSError:
                pass
            else:
                with self._stats_lock:
                    self.counters.discarded += j - i
            i = j

    # -- swap out / in ----------------------------------------------------------------------

    def _check(self, offset: int, nr: int) -> None:
        if type(offset) is not int or offset < 0 or nr <= 0 or offset + nr > self.nr_slots:
            raise InvalidArgument(f"swap slots {offset!r}..+{nr} outside 0..{self.nr_slots - 1}")

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
        """Swap a folio out to slots ``offset..``; return where it went.

        A write to the file that fails raises its :class:`~acomp.AcompError`
        and leaves the folio's slots empty (the caller still has the folio).
        """
        mv = byte_view(folio, "folio")
        nr, rem = divmod(mv.nbytes, PAGE_SIZE)
        if rem or nr == 0:
            raise InvalidArgument(f"swap_out: a folio is n x {PAGE_SIZE} bytes, got {mv.nbytes}")
        self._check(offset, nr)
        end = offset + nr
        zswap = self.zswap
        locks = self._lock_range(offset, nr)
        try:
            if self._fd < 0:
                raise AcompError(f"swap file {self.path} is closed", errno=errno.EBADF)
            if self._is_zero(mv):
                self._discard(offset, nr)
                self.zeromap[offset:end] = b"\x01" * nr
                self.on_disk[offset:end] = bytes(nr)
                if zswap is not None:
                    zswap.erase(offset, nr)
                with self._stats_lock:
                    self.counters.swpout_zero += nr
                return "zero"
            self.zeromap[offset:end] = bytes(nr)
            if zswap is not None and zswap.store(offset, mv):
                self._discard(offset, nr)
                self.on_disk[offset:end] = bytes(nr)
                return "zswap"
            try:
                self._write(offset, mv)
            except AcompError:
                self.on_disk[offset:end] = bytes(nr)  # partly overwritten: nothing valid there
                raise
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

        The slot is freed on success.  A zswap decompression failure or a file
        error raises its :class:`~acomp.AcompError` and leaves the slot as it was.
        """
        self._check(offset, 1)
        dst = byte_view(out, "out")
        if dst.nbytes < PAGE_SIZE or dst.readonly:
            raise InvalidArgument("swap_in: out must be a writable buffer of at least one page")
        dst = dst[:PAGE_SIZE]
        with self.slot_lock(offset):
            if self.zeromap[offset]:
                dst[:] = _zero_page
                self.zeromap[offset] = 0
                with self._stats_lock:
                    self.counters.swpin_zero += 1
                return "zero"
            zswap = self.zswap
            if zswap is not None and zswap.load(offset, dst):
                return "zswap"
            if not self.on_disk[offset]:
                return None
            if self._fd < 0:
                raise AcompError(f"swap file {self.path} is closed", errno=errno.EBADF)
            try:
                got = os.preadv(self._fd, [dst], offset * PAGE_SIZE)
            except OSError as exc:
                raise file_error(exc, f"swap file {self.path}: read at slot {offset}") from None
            if got != PAGE_SIZE:
                raise AcompError(f"swap file {self.path}: short read at slot {offset} ({got} bytes)", errno=errno.EIO)
            self._discard(offset, 1)
            self.on_disk[offset] = 0
            with self._stats_lock:
                self.counters.pswpin += 1
            if zswap is not None:
                zswap.folio_swapin()
            return "file"

    def invalidate(self, offset: int, nr: int = 1) -> None:
        """Free slots everywhere (kernel: ``swap_free`` -> ``zswap_invalidate``)."""
        self._check(offset, nr)
        end = offset + nr
        locks = self._lock_range(offset, nr)
        try:
            self._discard(offset, nr)
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
                "discarded": c.discarded,
            }
            for n in sorted(c.folios_to_file):
                out[folio_key("swpout", n)] = c.folios_to_file[n]
        out["zero_pages"] = sum(self.zeromap)
        out["file_pages"] = sum(self.on_disk)
        return out

    def close(self) -> None:
        """Detach from zswap, wait out every slot's user, close (and remove a created) file."""
        if self._fd < 0:
            return
        z = self.zswap
        if z is not None and z.swap is self:
            z.swap = None
        for lock in self._locks:
            lock.acquire()
        try:
            self._discard(0, self.nr_slots)
            self._fd = -1
            self._finalizer()
        finally:
            for lock in self._locks:
                lock.release()

    def __enter__(self) -> SwapDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_zero_page = bytes(PAGE_SIZE)
