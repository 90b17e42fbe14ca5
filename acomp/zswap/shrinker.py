"""The zswap shrinker: LRU writeback to the swap device.

Kernel: ``shrink_worker`` (queued on ``shrink_wq`` when a store finds the pool
full), ``shrink_memcg_cb`` (second chance: a referenced entry loses the bit
and rotates) and ``zswap_writeback_entry`` (decompress into the swap cache,
write to the swap device, free the entry).

The worker runs on its own thread by default; with ``shrink_async=False`` the
store that queues it runs it before returning.  Writeback only *tries* the
swap slot's lock: a slot in the middle of a swap-in or swap-out is skipped (as
the kernel skips a slot whose folio is already in the swap cache), so the
shrinker never waits on a lock a storing thread holds.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import TYPE_CHECKING, Protocol

from acomp import AcompError
from acomp.zswap.lru import (
    NR_SHARDS,
    POOL_ID_MASK,
    POOL_SHIFT,
    REFERENCED,
    SHARD_RUN,
    Shard,
    ZswapTree,
)

if TYPE_CHECKING:
    from acomp.zswap.zswap import Zswap

__all__ = ["MAX_RECLAIM_RETRIES", "Shrinker", "WritebackTarget"]

#: Writeback failures after which one shrink gives up (kernel: ``MAX_RECLAIM_RETRIES``).
MAX_RECLAIM_RETRIES = 16
#: LRU entries a shrink looks at per shard visit.
_SHRINK_CHUNK = 8
_SHARD_MASK = NR_SHARDS - 1


class WritebackTarget(Protocol):
    """What the shrinker needs from the swap device (kernel: the swap cache + ``__swap_writepage``)."""

    def slot_lock(self, offset: int) -> threading.Lock:
        """The lock that owns swap slot ``offset`` (kernel: the swapcache folio lock)."""

    def write_slot(self, offset: int, page: bytearray) -> None:
        """Write one page to the backing file at ``offset``."""


class Shrinker:
    """One zswap's shrinker: explicit ``shrink`` calls and the limit-driven worker."""

    def __init__(self, zswap: Zswap) -> None:
        self.zswap = zswap
        self._lock = threading.Lock()
        self._cursor = 0
        self._pending = threading.Event()
        self._running = False
        self._worker: threading.Thread | None = None
        self.closed = False

    def queue(self) -> None:
        z = self.zswap
        if not z.shrinker_enabled or not z.writeback_enabled or z.swap is None:
            return
        if not z.shrink_async:
            self.run()
            return
        self._pending.set()
        if self._worker is None or not self._worker.is_alive():
            with self._lock:
                if self._worker is None or not self._worker.is_alive():
                    self._worker = threading.Thread(target=self._loop, name="zswap-shrink", daemon=True)
                    self._worker.start()

    def _loop(self) -> None:
        while not self.closed:
            if not self._pending.wait(0.5):
                continue
            self._running = True
            self._pending.clear()
            try:
                if not self.closed:
                    self.run()
            finally:
                self._running = False

    def run(self) -> None:
        """Write back until usage falls to the accept threshold (kernel: ``shrink_worker``)."""
        z = self.zswap
        target = z.accept_thr_pages()
        failures = 0
        while z.total_pages() > target and failures < MAX_RECLAIM_RETRIES and not self.closed:
            if self.shrink(SHARD_RUN) == 0:
                failures += 1

    def shrink(self, nr_pages: int) -> int:
        """Write back up to ``nr_pages`` of the oldest entries; return how many went.

        Second chance: a referenced entry loses the bit and rotates to the LRU
        tail instead.  Gives up after ``MAX_RECLAIM_RETRIES`` failed writebacks
        or once every entry has been looked at twice.
        """
        z = self.zswap
        written = failures = 0
        budget = 2 * z.stored_pages() + nr_pages
        with self._lock:
            start = self._cursor
            self._cursor = (start + 1) & _SHARD_MASK
        k = 0
        idle = 0
        while written < nr_pages and failures < MAX_RECLAIM_RETRIES and budget > 0 and idle < NR_SHARDS:
            shard = z.tree.shards[(start + k) & _SHARD_MASK]
            k += 1
            with shard.lock:
                tree = shard.entries
                victims = []
                for off, e in list(itertools.islice(tree.items(), _SHRINK_CHUNK)):
                    if e & REFERENCED:
                        del tree[off]
                        tree[off] = e & ~REFERENCED
                    else:
                        victims.append((off, e))
                seen = min(len(tree), _SHRINK_CHUNK)
            budget -= seen
            idle = idle + 1 if seen == 0 else 0
            for off, e in victims:
                if written >= nr_pages or failures >= MAX_RECLAIM_RETRIES:
                    break
                if self.writeback_entry(shard, off, e):
                    written += 1
                else:
                    failures += 1
                    z.events.add("reject_reclaim_fail")
                    with shard.lock:  # rotate, so the next pass tries someone else
                        if tree.get(off) == e:  # still unreferenced: rotate
                            del tree[off]
                            tree[off] = e
        return written

    def writeback_entry(self, shard: Shard, offset: int, entry: int) -> bool:
        z = self.zswap
        swap = z.swap
        if swap is None or not z.writeback_enabled:
            return False
        lock = swap.slot_lock(offset)
        # The slot is busy (being swapped in or out): skip it, as the kernel
        # does when the swapcache already holds the folio (-EEXIST).
        if not lock.acquire(blocking=False):
            return False
        try:
            pool = z._pool_by_id.get((entry >> POOL_SHIFT) & POOL_ID_MASK)
            ctx = pool.get_ctx() if pool is not None else None
            if ctx is None:
                return False
            page = ctx.scratch
            try:
                z._decompress(entry, page)
            except AcompError:
                return False
            with shard.lock:
                if not ZswapTree.take(shard, offset, entry):
                    return False
            swap.write_slot(offset, page)
        finally:
            lock.release()
        z._free_entries((entry,))
        z.events.add("written_back_pages")
        return True

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no background shrink is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._pending.is_set() or self._running:
            if self.closed or self._worker is None or time.monotonic() > deadline:
                return not (self._pending.is_set() or self._running)
            time.sleep(0.001)
        return True

    def close(self) -> None:
        self.closed = True
        self._pending.set()
        if self._worker is not None:
            self._worker.join(5)
