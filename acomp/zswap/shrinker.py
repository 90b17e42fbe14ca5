"""zswap writeback: the limit-driven worker, the memory-pressure shrinker, the explicit call.

Kernel (mainline since the shrinker rework; the seed's v5 sits on it):

* ``shrink_worker`` (queued on ``shrink_wq`` after any failed store while the
  pool is full) walks the memcgs round robin and writes back one LRU entry per
  step (``shrink_memcg``) until usage falls to the accept threshold; a step
  that writes nothing (a referenced entry rotated, a failed writeback) is a
  failure and ``MAX_RECLAIM_RETRIES`` (16) of them end it.  It runs whatever
  ``shrinker_enabled`` says: that switch gates only the shrinker below.
* ``zswap_shrinker_count`` / ``zswap_shrinker_scan``: the memory-pressure
  shrinker.  Count is the LRU's length less the recent disk swap-ins, scaled by
  the compression ratio (``nr_backing / nr_stored``); scan walks
  ``nr_to_scan`` entries and stops at a slot already being swapped
  (``-EEXIST``).
* ``shrink_memcg_cb``: second chance (a referenced entry loses the bit and
  rotates) and ``zswap_writeback_entry``.

Writeback (acomp's order, so a failed write loses nothing): try the swap
slot's lock (a busy slot is ``-EEXIST``, as a folio already in the swap
cache), check the entry is still the tree's, decompress, write the page to the
swap device, and only then take the entry out of the tree and free it.  A
write error leaves the page in zswap, counted as ``reject_reclaim_fail``.

There is one memcg (the root) and one node, so the worker's walk is root,
end of tree, root, ... as ``mem_cgroup_iter`` gives for a root-only
hierarchy.  ``Zswap.shrink(n)`` is acomp's explicit call: up to ``n`` entries
from the LRU head, whatever the switches but writeback.

The background worker holds only a weak reference to its zswap, so a zswap
dropped without ``close()`` is collected and its worker ends.
"""

from __future__ import annotations

import errno
import functools
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from acomp import PAGE_SIZE, AcompError
from acomp.zswap.compress import zswap_decompress
from acomp.zswap.zsmalloc import SHRINK_STOP

if TYPE_CHECKING:
    from acomp.driver import BufferLike
    from acomp.zswap.entry import ZswapEntry
    from acomp.zswap.zswap import Zswap

__all__ = ["MAX_RECLAIM_RETRIES", "SHRINK_STOP", "Shrinker", "WritebackTarget"]

#: Failures after which the worker gives up (kernel: ``MAX_RECLAIM_RETRIES``).
MAX_RECLAIM_RETRIES = 16

# Outcomes of one LRU step besides a failed writeback's -errno.
_WRITTEN, _ROTATED, _EMPTY = 0, 1, 2


class WritebackTarget(Protocol):
    """What writeback needs from the swap device (kernel: the swap cache + ``__swap_writepage``)."""

    def slot_lock(self, offset: int) -> threading.Lock:
        """The lock that owns swap slot ``offset`` (kernel: the swapcache folio lock).

        Every zswap call on that slot must happen under it for writeback to be
        safe against it; :class:`~acomp.zswap.SwapDevice` does so.
        """

    def write_slot(self, offset: int, page: BufferLike) -> None:
        """Write one page to slot ``offset``; raise on failure (nothing marked)."""


class _WorkerState:
    """What the worker thread shares with its shrinker: no reference to the zswap."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.pending = False
        self.running = False
        self.closed = False


def _worker(state: _WorkerState, ref: weakref.ReferenceType[Zswap]) -> None:
    """kernel: ``shrink_wq`` running ``zswap_shrink_work``."""
    while True:
        with state.cond:
            while not state.pending and not state.closed:
                state.cond.wait()
            if state.closed:
                return
            state.pending = False
            state.running = True
        try:
            z = ref()
            if z is None:
                return
            try:
                z.shrinker.shrink_worker()
            except Exception as exc:  # the worker outlives any one run's trouble
                z.shrinker.last_error = exc
            del z
        finally:
            with state.cond:
                state.running = False
                state.cond.notify_all()


class Shrinker:
    """One zswap's writeback paths."""

    def __init__(self, zswap: Zswap) -> None:
        self._ref = weakref.ref(zswap)
        self._state = _WorkerState()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        #: Where ``shrink_worker``'s memcg walk stands (kernel: ``zswap_next_shrink``): True = root next.
        self._next_is_root = True
        #: kernel: the lruvec's ``nr_disk_swapins`` (one lruvec here).
        self.nr_disk_swapins = 0
        #: The last unexpected error a background run ended with (acomp only; None: none).
        self.last_error: Exception | None = None

    @property
    def _z(self) -> Zswap:
        z = self._ref()
        assert z is not None
        return z

    # -- the limit-driven worker (kernel: shrink_worker) ---------------------------------

    def queue(self) -> None:
        """kernel: ``queue_work(shrink_wq, &zswap_shrink_work)``; inline with ``shrink_async=False``.

        Nothing is queued without a swap device or with writeback disabled:
        every step would find nothing it may write (acomp only: the kernel
        queues and lets ``shrink_memcg`` say ``-ENOENT``).
        """
        z = self._z
        if z.swap is None or not z.writeback_enabled or self._state.closed:
            return
        if not z.shrink_async:
            self.shrink_worker()
            return
        st = self._state
        with st.cond:
            st.pending = True
            st.cond.notify_all()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=_worker, args=(st, self._ref), name="zswap-shrink", daemon=True
                )
                self._thread.start()

    def shrink_worker(self) -> None:
        """Write back until usage is at the accept threshold, or 16 failures."""
        z = self._z
        thr = z.accept_thr_pages()
        failures = attempts = 0
        while True:
            if self._next_is_root:
                self._next_is_root = False
                ret = self._shrink_memcg()
                if ret != -errno.ENOENT:
                    attempts += 1
                    if ret:
                        failures += 1
                        if failures == MAX_RECLAIM_RETRIES:
                            return
            else:  # the end of the memcg tree: a walk without a candidate is a failure
                self._next_is_root = True
                if not attempts:
                    failures += 1
                    if failures == MAX_RECLAIM_RETRIES:
                        return
                attempts = 0
            if z.total_pages() <= thr or self._state.closed:
                return

    def _shrink_memcg(self) -> int:
        """One entry of the root memcg's LRU (kernel: ``shrink_memcg``): 0, -ENOENT or -EAGAIN."""
        if not self._z.writeback_enabled:
            return -errno.ENOENT
        r = self._walk_one()
        if r == _EMPTY:
            return -errno.ENOENT
        return 0 if r == _WRITTEN else -errno.EAGAIN

    # -- the memory-pressure shrinker (kernel: zswap_shrinker_count/scan) --------------

    def count(self) -> int:
        """kernel: ``zswap_shrinker_count``; consumes the disk swap-ins it protects against."""
        z = self._z
        if not z.shrinker_enabled or not z.writeback_enabled:
            return 0
        nr_backing = z.total_pages()
        with z.tree.lock:
            nr_stored = nr_freeable = len(z.tree)
            if not nr_stored:
                return 0
            swapins = self.nr_disk_swapins
            used = min(swapins, nr_freeable)
            self.nr_disk_swapins = swapins - used
            nr_freeable -= used
        if not nr_freeable:
            return 0
        return nr_freeable * nr_backing // nr_stored

    def scan(self, nr_to_scan: int) -> int:
        """kernel: ``zswap_shrinker_scan``: pages written back, or ``SHRINK_STOP``."""
        z = self._z
        if not z.shrinker_enabled or not z.writeback_enabled:
            return SHRINK_STOP
        freed = 0
        for _ in range(nr_to_scan):
            r = self._walk_one()
            if r == _EMPTY:
                break
            if r == _WRITTEN:
                freed += 1
            elif r == -errno.EEXIST:  # into the warmer region: stop
                return SHRINK_STOP
        return freed or SHRINK_STOP

    # -- the explicit call (acomp only) ------------------------------------------------

    def shrink(self, nr_pages: int) -> int:
        """Write back up to ``nr_pages`` from the LRU head; return how many went.

        Second chance as the shrinker; gives up after ``MAX_RECLAIM_RETRIES``
        failed writebacks or once every entry has been looked at twice.
        """
        z = self._z
        if not z.writeback_enabled:
            return 0
        written = failures = 0
        budget = 2 * len(z.tree) + nr_pages
        while written < nr_pages and failures < MAX_RECLAIM_RETRIES and budget > 0:
            budget -= 1
            r = self._walk_one()
            if r == _EMPTY:
                break
            if r == _WRITTEN:
                written += 1
            elif r < 0:
                failures += 1
        return written

    # -- one LRU step and writeback (kernel: shrink_memcg_cb, zswap_writeback_entry) ----

    def _walk_one(self) -> int:
        z = self._z
        tree = z.tree
        with tree.lock:
            if not tree.entries:
                return _EMPTY
            got = tree.isolate_head()
        if got is None:
            return _ROTATED
        err = self.writeback_entry(*got)
        if err:
            z.events.add("reject_reclaim_fail")
            return err
        z.events.add("written_back_pages")
        return _WRITTEN

    def writeback_entry(self, offset: int, entry: ZswapEntry) -> int:
        """Write ``entry`` (at ``offset``) to the swap device and free it: 0, or -errno (page kept)."""
        z = self._z
        swap = z.swap
        if swap is None:
            return -errno.ENOENT
        lock = swap.slot_lock(offset)
        if not lock.acquire(blocking=False):
            return -errno.EEXIST  # being swapped in or out (kernel: already in the swap cache)
        try:
            tree = z.tree
            if tree.entries.get(offset) is not entry:
                return -errno.ENOMEM  # invalidated and maybe recycled behind our back
            page = bytearray(PAGE_SIZE)
            try:
                zswap_decompress(entry.pool, entry, page, tree.raw_length, z.events)
            except AcompError:
                if tree.entries.get(offset) is entry:
                    z.events.add("decompress_fail")
                return -errno.EIO
            try:
                swap.write_slot(offset, page)
            except Exception:  # a full or failing disk: the page stays in zswap
                return -errno.EIO
            with tree.lock:
                took = tree.take(offset, entry)
        finally:
            lock.release()
        if not took:
            return -errno.ENOMEM
        z.free_entries((entry,))
        return 0

    # -- lifecycle ---------------------------------------------------------------------

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no background shrink is queued or running; False on timeout."""
        st = self._state
        deadline = time.monotonic() + timeout
        with st.cond:
            while st.pending or st.running:
                left = deadline - time.monotonic()
                if left <= 0 or st.closed:
                    return not (st.pending or st.running)
                st.cond.wait(left)
        return True

    def close(self) -> None:
        """Stop the worker thread (it finishes the writeback in hand first)."""
        _stop(self._state, self._thread)

    def stopper(self) -> Callable[[], None]:
        """A callable that stops the worker without a reference to this shrinker (for a finalizer)."""
        return functools.partial(_stop, self._state, None)


def _stop(state: _WorkerState, thread: threading.Thread | None, timeout: float = 5.0) -> None:
    with state.cond:
        state.closed = True
        state.cond.notify_all()
    if thread is not None and thread is not threading.current_thread():
        thread.join(timeout)
