"""One many-buffer call: its sources, their bounds, and one result per source (acomp only).

Each source is checked where it is run (so the checks of a spread call run
beside other threads' C work): a source must be a C-contiguous buffer of at
most :data:`~acomp.request.MAX_SRC_SIZE` bytes, sized by ``nbytes``, never by
``len()`` of a typed or multi-dimensional view.  An output is measured and
copied as bytes as well.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from acomp.driver import Driver, Op, Result
from acomp.errors import AcompError, InvalidArgument
from acomp.request import MAX_SRC_SIZE, BufferLike, byte_view

if TYPE_CHECKING:
    from acomp.transform import Transform

__all__ = ["ManyCall", "dst_views"]

_FLAT = (bytes, bytearray)
_FLAT_SET = frozenset(_FLAT)
_BYTES = {bytes}
#: Per driver class: (has a compress_many hook, has a decompress_many hook).
_HOOKS: dict[type, tuple[bool, bool]] = {}


class ManyCall:
    """The state of one call (a plain slotted class: it is built for every call, 8 pages or 10,000)."""

    __slots__ = ("bound", "driver", "dsts", "fn", "hook", "max_size", "op", "results", "srcs", "tfm")

    def __init__(self, tfm: Transform, op: Op, srcs: Sequence[Any], max_size: int, dsts: list[Any] | None) -> None:
        driver: Driver = tfm.driver
        self.tfm = tfm
        self.driver = driver
        self.op: Op = op
        self.srcs = srcs
        self.max_size = max_size
        self.dsts = dsts
        self.results: list[Any] = [None] * len(srcs)
        hooks = _HOOKS.get(type(driver))
        if hooks is None:
            cls = type(driver)
            hooks = _HOOKS[cls] = (
                cls.compress_many is not Driver.compress_many,
                cls.decompress_many is not Driver.decompress_many,
            )
        if op == "compress":
            self.fn: Callable[[BufferLike, int], Any] = driver.compress
            self.bound: Callable[[int], int] | None = driver.compress_bound
            self.hook: Callable[..., list[Result] | None] | None = driver.compress_many if hooks[0] else None
        else:
            self.fn = driver.decompress
            self.bound = None
            self.hook = driver.decompress_many if hooks[1] else None

    # -- running ----------------------------------------------------------------------

    def loop(self, lo: int, hi: int) -> None:
        """Run sources ``lo..hi-1`` one by one on this thread (the inline path: kept lean)."""
        cap = self._uniform_cap(lo, hi)
        if cap is None:
            self._loop_checked(lo, hi)
            return
        # Every source is bytes of a legal size with the same bound: nothing to check per source,
        # and the outputs are checked all at once (per source only when one is not plain bytes).
        fn = self.fn
        out: list[Any] = []
        append = out.append
        it = iter(self.srcs[lo:hi] if lo or hi != len(self.srcs) else self.srcs)
        while True:
            try:
                for s in it:  # after an error the loop goes on with the next source
                    append(fn(s, cap))
                break
            except AcompError as exc:
                append(exc)
            except Exception as exc:
                append(self.tfm.driver_error(f"raised {exc!r} in {self.op}"))
        if set(map(type, out)) == _BYTES and max(map(len, out)) <= cap:
            self.results[lo:hi] = out
            return
        for i, r in zip(range(lo, hi), out):
            if type(r) is bytes and len(r) <= cap:
                self.results[i] = r
            else:
                self.place(i, r, cap)

    def _uniform_cap(self, lo: int, hi: int) -> int | None:
        """The one bound of sources ``lo..hi-1`` when all are plain bytes within the limits, else None."""
        if self.dsts is not None or hi <= lo:
            return None
        part = self.srcs if lo == 0 and hi == len(self.srcs) else self.srcs[lo:hi]
        if not set(map(type, part)) <= _FLAT_SET:
            return None
        if self.bound is None:
            return self.max_size if max(map(len, part)) <= MAX_SRC_SIZE else None
        sizes = set(map(len, part))
        if len(sizes) != 1:
            return None
        (size,) = sizes
        return self.bound(size) if size <= MAX_SRC_SIZE else None

    def _loop_checked(self, lo: int, hi: int) -> None:
        srcs, results, fn, dsts = self.srcs, self.results, self.fn, self.dsts
        bound, cap, last = self.bound, self.max_size, -1
        for i in range(lo, hi):
            s = srcs[i]
            if (type(s) is bytes or type(s) is bytearray) and len(s) <= MAX_SRC_SIZE:
                nb = len(s)
            else:
                try:
                    s, nb = self.source(i, s)
                except InvalidArgument as exc:
                    results[i] = exc
                    continue
            if dsts is not None:
                d = dsts[i]
                if isinstance(d, AcompError):
                    results[i] = d
                    continue
                c = d.nbytes
            elif bound is not None:
                if nb != last:  # pages share a size: one compress_bound() call
                    cap, last = bound(nb), nb
                c = cap
            else:
                c = cap
            try:
                r = fn(s, c)
            except AcompError as exc:
                results[i] = exc
                continue
            except Exception as exc:
                results[i] = self.tfm.driver_error(f"raised {exc!r} in {self.op}")
                continue
            if dsts is None and type(r) is bytes and len(r) <= c:
                results[i] = r
            else:
                self.place(i, r, c)

    def share(self, lo: int, hi: int) -> None:
        """Run sources ``lo..hi-1`` as one share of a spread call: the driver's native call if it has one."""
        if self.hook is None:
            self.loop(lo, hi)
            return
        srcs = self.srcs[lo:hi] if lo or hi != len(self.srcs) else self.srcs
        caps = self._plain_caps(srcs)
        if caps is not None:
            idx: Sequence[int] = range(lo, hi)
            views: Sequence[Any] = srcs
        else:
            idx, views, caps = self._checked(lo, hi)
            if not idx:
                return
        try:
            res = self.hook(views, caps)
        except AcompError as exc:
            res = [exc] * len(idx)
        except Exception as exc:
            res = [self.tfm.driver_error(f"raised {exc!r} in {self.op}_many")] * len(idx)
        if res is None:
            self.loop(lo, hi)
            return
        if len(res) != len(idx):
            res = [self.tfm.driver_error(f"returned {len(res)} results for {len(idx)} sources")] * len(idx)
        results, place, alloc = self.results, self.place, self.dsts is None
        for i, r, c in zip(idx, res, caps):
            if alloc and type(r) is bytes and len(r) <= c:
                results[i] = r
            else:
                place(i, r, c)

    def _plain_caps(self, srcs: Sequence[Any]) -> list[int] | None:
        """The bounds of ``srcs`` when all are bytes of a legal size and outputs are allocated, else None."""
        if self.dsts is not None:
            return None
        for s in srcs:
            if type(s) is not bytes:
                return None
        lens = list(map(len, srcs))
        if not lens or max(lens) > MAX_SRC_SIZE:
            return None
        if self.bound is None:
            return [self.max_size] * len(lens)
        if min(lens) == lens[0] == max(lens):  # pages: one compress_bound() call
            return [self.bound(lens[0])] * len(lens)
        return [self.bound(n) for n in lens]

    def _checked(self, lo: int, hi: int) -> tuple[list[int], list[Any], list[int]]:
        """Indices, driver views and bounds of the usable sources of ``lo..hi-1``; the others fail here."""
        idx: list[int] = []
        views: list[Any] = []
        caps: list[int] = []
        results, dsts = self.results, self.dsts
        for i in range(lo, hi):
            try:
                s, nb = self.source(i, self.srcs[i])
            except InvalidArgument as exc:
                results[i] = exc
                continue
            if dsts is not None:
                if isinstance(dsts[i], AcompError):
                    results[i] = dsts[i]
                    continue
                caps.append(dsts[i].nbytes)
            else:
                caps.append(self.bound(nb) if self.bound is not None else self.max_size)
            idx.append(i)
            views.append(s)
        return idx, views, caps

    def fail(self, lo: int, hi: int, exc: BaseException) -> None:
        """A share whose driver raised what ``except Exception`` does not catch (e.g. SystemExit)."""
        err = self.tfm.driver_error(f"raised {exc!r} in {self.op}")
        for i in range(lo, hi):
            if self.results[i] is None:
                self.results[i] = err

    # -- one source, one output ----------------------------------------------------------

    @staticmethod
    def source(i: int, s: Any) -> tuple[Any, int]:
        """Source ``i`` as the driver sees it (bytes, or a flat byte view) and its size in bytes."""
        if type(s) in _FLAT:
            nb = len(s)
        else:
            s = byte_view(s, f"srcs[{i}]")
            nb = s.nbytes
        if nb > MAX_SRC_SIZE:
            raise InvalidArgument(f"srcs[{i}] of {nb} bytes exceeds MAX_SRC_SIZE ({MAX_SRC_SIZE})")
        return s, nb

    def place(self, i: int, r: Any, cap: int) -> None:
        """Check one output against its bound and store it (copied into the caller's buffer if any)."""
        if isinstance(r, AcompError):
            self.results[i] = r
            return
        try:
            mv = memoryview(r)
        except TypeError:
            self.results[i] = self.tfm.driver_error(f"returned {type(r).__name__}, not a bytes-like object")
            return
        if not mv.c_contiguous:
            self.results[i] = self.tfm.driver_error("returned a buffer that is not C-contiguous")
            return
        n = mv.nbytes
        if n > cap:
            err = self.tfm.driver_error(f"returned {n} bytes for a {cap}-byte dst")
            err.returned, err.capacity = n, cap
            self.results[i] = err
            return
        if mv.format != "B" or mv.ndim != 1:
            mv = mv.cast("B")
        if self.dsts is None:
            # As for a request without dst: the driver's output becomes the caller's.
            self.results[i] = r if type(r) in _FLAT else mv
        else:
            dst = self.dsts[i]
            dst[:n] = mv
            self.results[i] = dst[:n]


def dst_views(n: int, dsts: Sequence[Any] | None, out: Any, offsets: Sequence[int] | None) -> list[Any] | None:
    """One writable byte view per source (or that source's error), or None: outputs are allocated.

    A mistake about the call as a whole (lengths, offsets) raises InvalidArgument.
    """
    if out is not None or offsets is not None:
        if dsts is not None:
            raise InvalidArgument("give dsts, or out with offsets, not both")
        if out is None or offsets is None:
            raise InvalidArgument("out and offsets go together")
        whole = byte_view(out, "out", writable=True)
        if isinstance(offsets, (str, bytes)) or not hasattr(offsets, "__len__") or len(offsets) != n + 1:
            raise InvalidArgument(f"offsets must hold len(srcs) + 1 = {n + 1} ints")
        prev = 0
        for j, o in enumerate(offsets):
            if isinstance(o, bool) or not isinstance(o, int) or o < prev or o > whole.nbytes:
                raise InvalidArgument(
                    f"offsets[{j}] = {o!r}: offsets must be ascending ints within out's {whole.nbytes} bytes"
                )
            prev = o
        return [whole[offsets[i] : offsets[i + 1]] for i in range(n)]
    if dsts is None:
        return None
    if isinstance(dsts, (str, bytes, bytearray, memoryview)) or not hasattr(dsts, "__len__") or len(dsts) != n:
        raise InvalidArgument(f"dsts must be a sequence of one writable buffer per source ({n})")
    views: list[Any] = []
    for i, d in enumerate(dsts):
        try:
            views.append(byte_view(d, f"dsts[{i}]", writable=True))
        except InvalidArgument as exc:
            views.append(exc)
    return views
