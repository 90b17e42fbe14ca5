"""The request path (kernel: ``crypto/acompress.c``): a transform and everything a request goes through.

One :class:`Transform` binds one driver instance (the tfm context).  As in
the kernel's ``acompress.c``, one module holds a request's whole path:

* one request (``crypto_acomp_compress``): a bounds-checked call into the
  driver's one-buffer op and one copy into ``dst``, the per-page path;
* chains handed to the core (v6.15 ``crypto_acomp_compress`` ->
  ``acomp_do_req_chain``): a ``REQ_CHAIN`` driver gets the chain through its
  batch hook, any other driver one request at a time;
* batches (the seed's v5 ``crypto_acomp_batch_compress``), through the same
  batch hook;
* segments (``unit_size``: Herbert's posted segmentation patches and the
  series' v14, never in mainline), through the batch hook for ``REQ_SEG``
  drivers, else one unit at a time;
* async submission and completion: a driver's own async path
  (``-EINPROGRESS`` and a completion), or, for the synchronous software
  drivers, acomp's worker pool (acomp only).

Every driver output reaches its request or unit through one store,
:meth:`Transform._put`; every batch-hook call goes through one runner,
:meth:`Transform._run_hook`.  An op is resolved once, into a :class:`_Path`.
"""

from __future__ import annotations

import errno
import functools
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from acomp.driver import CHAIN_TIMEOUT, Driver, Feature, Op, Result
from acomp.errors import AcompError, AcompPluginWarning, DriverError, InvalidArgument, TimedOut
from acomp.request import DONE, DST_MAX, IDLE, MAX_SRC_SIZE, MAX_UNITS, PENDING, Request, RequestFlags, byte_view
from acomp.workers import get_pool, report_unraisable

if TYPE_CHECKING:
    from acomp.driver import BufferLike
    from acomp.records import AlgorithmRecord

__all__ = ["Transform"]


class _Path(NamedTuple):
    """One op of one transform, resolved once: the driver's calls for it."""

    op: Op
    one: Callable[[Any, int], Any]
    hook: Callable[[Sequence[Any], Sequence[int]], Sequence[Result]]


class Transform:
    """A handle on one driver instance (kernel: ``crypto_acomp`` from ``crypto_alloc_acomp``)."""

    __slots__ = (
        "_closed",
        "_comp",
        "_decomp",
        "_native_async",
        "alg_name",
        "batch_size",
        "driver",
        "driver_name",
        "has_async_batching",
        "record",
    )

    def __init__(self, driver: Driver, record: AlgorithmRecord) -> None:
        #: The driver instance (the tfm context).
        self.driver = driver
        #: The driver's capability record.
        self.record = record
        #: Algorithm name (``cra_name``).
        self.alg_name: str = record.alg_name
        #: Driver name (``cra_driver_name``).
        self.driver_name: str = record.driver_name
        #: ``crypto_acomp_batch_size()``: the driver's batch size with async batching, else 1.
        self.batch_size: int = record.batch_size
        #: ``acomp_has_async_batching()``.
        self.has_async_batching: bool = record.async_batching
        self._comp = _Path("compress", driver.compress, driver.batch_compress)
        self._decomp = _Path("decompress", driver.decompress, driver.batch_decompress)
        self._native_async = type(driver).submit is not Driver.submit
        self._closed = False

    def __repr__(self) -> str:
        return f"<Transform {self.alg_name} driver={self.driver_name} batch_size={self.batch_size}>"

    def __enter__(self) -> Transform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the driver instance (kernel: ``crypto_free_acomp``)."""
        if not self._closed:
            self._closed = True
            self.driver.close()

    def available(self) -> bool:
        """False when the driver cannot take work (e.g. its device disabled itself)."""
        return self.driver.available()

    def _path(self, op: object) -> _Path:
        if op == "compress":
            return self._comp
        if op == "decompress":
            return self._decomp
        raise InvalidArgument(f"op must be 'compress' or 'decompress', got {op!r}")

    # -- one request (kernel: crypto_acomp_compress / crypto_acomp_decompress) -------------------

    def compress(self, req: Request) -> int:
        """Compress synchronously; return ``dlen``, or raise the request's error (also in ``req.err``).

        A request that heads a chain runs the whole chain and returns what the
        kernel returns for it: 0 or the last request's ``-errno``; it raises
        nothing: check each request's ``err``.  A request with ``unit_size``
        is segmented and returns the number of units that succeeded.
        """
        if req._chain is None and not req.unit_size:
            return self._single(req, self._comp)
        return self._compound(req, self._comp)

    def decompress(self, req: Request) -> int:
        """Decompress synchronously; as :meth:`compress`."""
        if req._chain is None and not req.unit_size:
            return self._single(req, self._decomp)
        return self._compound(req, self._decomp)

    def _one(self, req: Request, path: _Path) -> int:
        """One request (or chain, or segmented request) through ``path``."""
        if req._chain is not None or req.unit_size:
            return self._compound(req, path)
        return self._single(req, path)

    def _single(self, req: Request, path: _Path) -> int:
        """Exactly this request through the driver's one-buffer op: the per-page path.

        zswap, chains, batches of one and every one-page call come through here:
        plain byte buffers (bytes, bytearray, a 1-D byte view) take no view and
        no check beyond their types; anything else is prepared first.
        """
        src, dst = req.src, req.dst
        ts = type(src)
        # _plain(src, dst), written out: the call costs 3 % of an lz4 page (measured interleaved).
        if (
            ts is bytes
            or ts is bytearray
            or (isinstance(src, memoryview) and src.ndim == 1 and src.format == "B" and src.c_contiguous)
        ) and (
            type(dst) is bytearray
            or (
                isinstance(dst, memoryview)
                and dst.ndim == 1
                and dst.format == "B"
                and dst.c_contiguous
                and not dst.readonly
            )
        ):
            cap = len(dst)  # 1-D byte buffers: len() is the byte length
            if len(src) <= MAX_SRC_SIZE:
                try:
                    out = path.one(src, cap)
                except Exception as exc:
                    return self._finish_one(req, path, self._raised(exc, path.op), cap, dst)
                if type(out) is bytes and len(out) <= cap:
                    n = len(out)
                    memoryview(dst)[:n] = out  # a bytearray slice assignment costs twice as much
                    req.dlen = n
                    req.err = None
                    if req._state != PENDING:
                        req._state = DONE
                    return n
                return self._finish_one(req, path, out, cap, dst)
        try:
            src, cap, view = self._prepare(req, path)
        except AcompError as exc:
            req.dlen, req.err = 0, exc
            if req._state != PENDING:
                req._state = DONE
            raise
        return self._finish_one(req, path, self._call_one(path, src, cap), cap, view)

    def _finish_one(self, req: Request, path: _Path, res: Result, cap: int, view: Any) -> int:
        if self._store(req, res, cap, view):
            return req.dlen
        assert req.err is not None
        raise req.err

    def _raised(self, exc: Exception, op: str) -> AcompError:
        """What a driver's exception means for its request: its own AcompError, or a DriverError naming it."""
        if isinstance(exc, AcompError):
            return exc
        err = self.driver_error(f"raised {exc!r} in {op}")
        err.__cause__ = exc
        return err

    def _call_one(self, path: _Path, src: Any, cap: int) -> Result:
        try:
            out: Result = path.one(src, cap)
        except Exception as exc:
            return self._raised(exc, path.op)
        return out

    def _prepare(self, req: Request, path: _Path) -> tuple[Any, int, Any]:
        """A request's (src as the driver gets it, dst capacity, dst byte view or None); caller mistakes raise."""
        src, dst = req.src, req.dst
        if _plain(src, dst) and len(src) <= MAX_SRC_SIZE:  # 1-D byte buffers: no view, no check
            return src, len(dst), dst
        src = _src_bytes(src, "src")
        n = len(src)
        if n > MAX_SRC_SIZE:
            raise InvalidArgument(f"src of {n} bytes exceeds MAX_SRC_SIZE ({MAX_SRC_SIZE})")
        if req.dst is not None:
            view = _dst_view(req.dst, "dst")
            return src, len(view), view
        return src, self._default_capacity(req.dlen, n, path), None

    def _default_capacity(self, dlen: object, slen: int, path: _Path) -> int:
        """The bound on an allocated output (``dst=None``): ``dlen`` if set, else the op's default."""
        if type(dlen) is not int or dlen < 0:
            raise InvalidArgument(f"dlen must be an int >= 0, got {dlen!r}")
        if dlen:
            return dlen
        if path is self._decomp:
            return DST_MAX
        bound = self.driver.compress_bound(slen)
        if type(bound) is not int or bound < 0:
            raise self.driver_error(f"compress_bound({slen}) returned {bound!r}, not an int >= 0")
        return bound

    # -- the one store: a driver's result for one request or unit ------------------------------------

    def driver_error(self, what: str) -> DriverError:
        """A :class:`~acomp.errors.DriverError` naming this driver and its plugin."""
        return DriverError(f"driver {self.driver_name!r} (plugin {self.record.plugin!r}) {what}")

    def _put(self, res: Result, cap: int, view: Any) -> tuple[Any, int, AcompError | None]:
        """Check ``res`` against a ``cap``-byte dst and copy it into ``view`` (None: keep it as the output).

        Returns (output, length, None), or (None, 0, error).  A result may be
        any C-contiguous buffer; it is measured and copied as bytes.
        """
        if isinstance(res, AcompError):
            return None, 0, res
        t = type(res)
        if t is bytes or t is bytearray:
            out: Any = res
            n = len(res)
        else:
            try:
                mv = memoryview(res)
            except TypeError:
                return None, 0, self.driver_error(f"returned {t.__name__}, not a buffer ({_ACCEPTED})")
            if not mv.c_contiguous:
                return None, 0, self.driver_error(f"returned a non-contiguous {t.__name__} ({_ACCEPTED})")
            out = mv if mv.ndim == 1 and mv.format == "B" else mv.cast("B")
            n = out.nbytes
            if view is None:
                out = out.tobytes()  # the caller keeps it: never a view of the driver's own memory
        if n > cap:
            err = self.driver_error(f"returned {n} bytes for a {cap}-byte dst")
            err.returned, err.capacity = n, cap
            return None, 0, err
        if view is None:
            return out, n, None
        memoryview(view)[:n] = out  # a bytearray slice assignment costs twice as much
        return view, n, None

    def _store(self, req: Request, res: Result, cap: int, view: Any) -> bool:
        """Store one result on its request; never raises.  An async request stays PENDING."""
        out, n, err = self._put(res, cap, view)
        if err is None:
            if view is None:
                req.dst = out
            req.dlen, req.err = n, None
        else:
            req.dlen, req.err = 0, err
        if req._state != PENDING:
            req._state = DONE
        return err is None

    # -- the one batch-hook runner (kernel: acomp_alg.batch_compress) --------------------------------

    def _run_hook(self, path: _Path, srcs: Sequence[Any], caps: Sequence[int]) -> Sequence[Result]:
        """One call of the driver's batch hook: one result per source, whatever the driver did."""
        try:
            results = path.hook(srcs, caps)
            if len(results) != len(srcs):
                raise self.driver_error(f"returned {len(results)} results for a batch of {len(srcs)}")
        except AcompError as exc:
            return [exc] * len(srcs)
        except Exception as exc:
            err = self.driver_error(f"raised {exc!r} in batch_{path.op}")
            err.__cause__ = exc
            return [err] * len(srcs)
        return results

    def _hook_requests(self, reqs: Sequence[Request], path: _Path) -> bool:
        """Requests through the batch hook; a request the driver must not see fails alone."""
        ok = True
        valid: list[tuple[Request, int, Any]] = []
        srcs: list[Any] = []
        for r in reqs:
            try:
                src, cap, view = self._prepare(r, path)
            except AcompError as exc:
                self._store(r, exc, 0, None)
                ok = False
                continue
            valid.append((r, cap, view))
            srcs.append(src)
        if valid:
            results = self._run_hook(path, srcs, [cap for _, cap, _ in valid])
            for (r, cap, view), res in zip(valid, results):
                ok = self._store(r, res, cap, view) and ok
        return ok

    # -- batches (the seed's v5: crypto_acomp_batch_compress / crypto_acomp_batch_decompress) -------

    def batch_compress(self, reqs: Sequence[Request]) -> bool:
        """Compress up to ``batch_size`` requests; True only when every one succeeded.

        v5: ``crypto_acomp_batch_compress(reqs, wait, pages, dsts, dlens, errors, nr_pages)``.
        Here each request carries its page, dst and results (``dlen``, ``err``);
        there is no ``wait`` (the call returns when the batch is done).  More
        than ``batch_size`` requests raise EINVAL; no per-request error is raised.
        """
        return self._batch(reqs, self._comp)

    def batch_decompress(self, reqs: Sequence[Request]) -> bool:
        """Decompress up to ``batch_size`` requests; as :meth:`batch_compress` (v5 has no ``dlens`` here)."""
        return self._batch(reqs, self._decomp)

    def _batch(self, reqs: Sequence[Request], path: _Path) -> bool:
        if type(reqs) is not list and (not isinstance(reqs, Sequence) or isinstance(reqs, (str, bytes, bytearray))):
            raise InvalidArgument(f"reqs must be a sequence of acomp.Request, got {type(reqs).__name__}")
        n = len(reqs)
        if n > self.batch_size:
            raise InvalidArgument(f"{self.driver_name}: batch of {n} requests exceeds batch_size {self.batch_size}")
        for r in reqs:
            if not isinstance(r, Request):
                raise InvalidArgument(f"reqs must hold acomp.Request objects, got {type(r).__name__}")
        if n == 0:
            return True
        if n == 1 and not self.has_async_batching:
            try:
                self._single(reqs[0], path)
            except AcompError:
                return False
            return True
        return self._hook_requests(reqs, path)

    # -- chains and segments -------------------------------------------------------------------------

    def _compound(self, req: Request, path: _Path) -> int:
        if req.unit_size:
            return self._segments(req, path)
        return self._chain(req.requests(), path)

    def _chain(self, reqs: list[Request], path: _Path) -> int:
        """Run a chain to the end; return the last request's code (v6.15 ``acomp_do_req_chain``)."""
        step = self.driver.batch_size
        if Feature.REQ_CHAIN in self.record.features and step > 1:
            # The driver gets the chain itself (tfm->compress(head)): here its batch hook does.
            for start in range(0, len(reqs), step):
                self._hook_requests(reqs[start : start + step], path)
        else:
            single = self._single
            for r in reqs:
                try:
                    single(r, path)
                except AcompError:
                    pass
        last = reqs[-1].err
        return -last.errno if last is not None else 0

    def _segments(self, req: Request, path: _Path) -> int:
        """A segmented request: one outcome per unit in ``seg_dlens``; return the units that succeeded."""
        unit_size = req.unit_size
        if type(unit_size) is not int or unit_size <= 0:
            raise InvalidArgument(f"unit_size must be an int > 0, got {unit_size!r}")
        if isinstance(req.src, (list, tuple)):
            units = [_src_bytes(u, f"src[{i}]") for i, u in enumerate(req.src)]
        else:
            whole = memoryview(_src_bytes(req.src, "src"))  # zero-copy units
            units = [whole[i : i + unit_size] for i in range(0, max(len(whole), 1), unit_size)]
        if len(units) > MAX_UNITS:
            raise InvalidArgument(f"{len(units)} units exceed the maximum of {MAX_UNITS}")
        total = sum(len(u) for u in units)
        if total > MAX_SRC_SIZE:
            raise InvalidArgument(f"segmented src of {total} bytes exceeds MAX_SRC_SIZE ({MAX_SRC_SIZE})")
        dsts = req.dst
        views: list[Any]
        if dsts is None:
            # As the posted patches do: a unit must fit in unit_size (or dlen) bytes, else -ENOSPC.
            cap = self._default_capacity(req.dlen, 0, path) if req.dlen else unit_size
            caps, views = [cap] * len(units), [None] * len(units)
        else:
            if not isinstance(dsts, (list, tuple)) or len(dsts) != len(units):
                raise InvalidArgument(f"a segmented request needs a list of {len(units)} dst buffers")
            views = [_dst_view(d, f"dst[{i}]") for i, d in enumerate(dsts)]
            caps = [len(v) for v in views]
        results: list[Result]
        if Feature.REQ_SEG in self.record.features:
            step = max(1, self.driver.batch_size)
            results = []
            for start in range(0, len(units), step):
                results.extend(self._run_hook(path, units[start : start + step], caps[start : start + step]))
        else:
            results = [self._call_one(path, u, c) for u, c in zip(units, caps)]
        outs: list[Any] = []
        dlens: list[int] = []
        for res, cap, view in zip(results, caps, views):
            out, n, err = self._put(res, cap, view)
            outs.append(out)
            dlens.append(-err.errno if err is not None else n)
        if dsts is None:
            req.dst = outs
        req.seg_dlens = dlens
        req.dlen = sum(d for d in dlens if d > 0)
        req.err = None
        if req._state != PENDING:
            req._state = DONE
        return sum(1 for d in dlens if d >= 0)

    # -- many buffers (acomp only): acomp/many.py ------------------------------------------------------

    def compress_many(self, srcs: Sequence[Any], *, dsts: Sequence[Any] | None = None) -> list[_many.ManyResult]:
        """Compress every source; one output or error per source; see :func:`acomp.many.compress_many`."""
        return _many.transform_compress_many(self, srcs, dsts=dsts)

    def decompress_many(
        self,
        srcs: Sequence[Any],
        *,
        max_size: int = DST_MAX,
        dsts: Sequence[Any] | None = None,
        out: Any = None,
        offsets: Sequence[int] | None = None,
    ) -> list[_many.ManyResult]:
        """Decompress every source; see :func:`acomp.many.decompress_many`."""
        return _many.transform_decompress_many(self, srcs, max_size=max_size, dsts=dsts, out=out, offsets=offsets)

    # -- async (kernel: -EINPROGRESS / -EBUSY and a completion) ----------------------------------------

    def submit(self, req: Request, op: Op = "compress") -> int:
        """Start ``op`` on ``req`` (and its chain) without blocking the caller on the driver's work.

        Returns what the kernel's ``crypto_acomp_compress`` returns:

        * ``0``: the request completed synchronously (e.g. deflate-iaa with a
          lone request without ``RequestFlags.POLL``); its callback is *not*
          called; its outcome is in ``req.err``, as for every completion.
        * ``errno.EINPROGRESS``: it completes later: ``req.callback(req)`` runs
          exactly once, unless the request carries ``RequestFlags.POLL``, in
          which case it completes silently and :meth:`poll` (acomp only) sees it.
        * ``errno.EBUSY``: backlogged (``RequestFlags.MAY_BACKLOG``), or, for a
          chain, the chain went async (``acomp_do_req_chain``); it completes later.

        ``submit`` raises only when it refuses the request (a caller's mistake,
        a full queue): then the request was not submitted.  A chain completes
        its head last: only the head's callback runs, once.
        acomp only: for drivers without an async path of their own (the
        kernel's synchronous software compressors), the work runs on acomp's
        worker pool (:mod:`acomp.workers`) and completes by callback.  A full
        pool without ``MAY_BACKLOG`` raises :class:`~acomp.errors.Busy`; the
        request is then not submitted.
        """
        path = self._path(op)
        if not isinstance(req, Request):
            raise InvalidArgument(f"req must be an acomp.Request, got {type(req).__name__}")
        reqs = req.requests()
        if any(r._state == PENDING for r in reqs):
            raise InvalidArgument("request already in flight")
        if self._native_async and not req.unit_size:
            if len(reqs) == 1:
                return self._submit_native(req, path)
            if Feature.REQ_CHAIN not in self.record.features:
                return self._submit_native_chain(reqs, path)
        return self._submit_to_pool(req, reqs, path)

    def _submit_native(self, req: Request, path: _Path) -> int:
        src, cap, view = self._prepare(req, path)
        req._begin()
        try:
            started = self._start(req, path, cap, view, lambda r: r._finish(callback=True))
        except BaseException:
            req._state = DONE
            raise
        if started:
            return errno.EINPROGRESS
        req._state = IDLE
        self._store(req, self._call_one(path, src, cap), cap, view)
        return 0  # completed, with its outcome in req.err: submit raises only for a refusal

    def _start(self, req: Request, path: _Path, cap: int, view: Any, on_done: Callable[[Request], None]) -> bool:
        """``Driver.submit``: True when ``req`` went async (``on_done(req)`` runs at its completion)."""
        fired = threading.Lock()

        def done(res: Result) -> None:
            # A driver must complete once; a second completion would overwrite
            # a result the caller may already be reading.
            if not fired.acquire(blocking=False):
                _warn_double(self)
                return
            if req._state != PENDING:  # given up on (timed out): too late
                return
            self._store(req, res, cap, view)
            on_done(req)

        try:
            return bool(self.driver.submit(path.op, req, cap, done))
        except AcompError as exc:
            req.dlen, req.err = 0, exc
            raise
        except Exception as exc:
            err = self.driver_error(f"raised {exc!r} in submit")
            req.dlen, req.err = 0, err
            raise err from exc

    def _submit_native_chain(self, reqs: list[Request], path: _Path) -> int:
        for r in reqs:
            r._begin()
        return self._run_native_chain(reqs, 0, path, in_caller=True)

    def _run_native_chain(self, reqs: list[Request], i: int, path: _Path, *, in_caller: bool) -> int:
        """acomp_do_req_chain on an async driver: one request at a time; once one goes async, its completion
        carries the rest (kernel: ``acomp_reqchain_done`` -> ``acomp_reqchain_finish``), here on a worker."""
        head = reqs[0]
        while i < len(reqs):
            r = reqs[i]
            arrived = threading.Event()
            went_async = False
            try:
                src, cap, view = self._prepare(r, path)
                went_async = self._start(r, path, cap, view, lambda _r, ev=arrived: ev.set())  # type: ignore[misc]
                if not went_async:
                    self._store(r, self._call_one(path, src, cap), cap, view)
            except AcompError as exc:
                self._store(r, exc, 0, None)
            if went_async:
                if in_caller:
                    rest = functools.partial(self._await_chain, reqs, i, arrived, path)
                    try:
                        get_pool().enqueue(rest, True)
                    except AcompError:  # the pool is full even with its backlog: carry on here
                        rest()
                    return errno.EBUSY
                if not arrived.wait(CHAIN_TIMEOUT):
                    _time_out(self, r)
            if r is not head:
                r._finish(callback=False)
            i += 1
        if in_caller:
            head._state = DONE  # all synchronous: no callback, as when the kernel returns the code itself
        else:
            head._state = PENDING  # a timed-out head was marked done to refuse a late completion
            head._finish(callback=True)
        return 0

    def _await_chain(self, reqs: list[Request], i: int, arrived: threading.Event, path: _Path) -> None:
        r = reqs[i]
        if not arrived.wait(CHAIN_TIMEOUT):
            _time_out(self, r)
        if r is not reqs[0]:
            r._finish(callback=False)
        self._run_native_chain(reqs, i + 1, path, in_caller=False)

    def _submit_to_pool(self, req: Request, reqs: list[Request], path: _Path) -> int:
        """acomp only: run the request (or chain, or segmented request) on a worker; complete by callback."""
        if req._chain is None and not req.unit_size:
            self._prepare(req, path)  # a caller's mistake raises here, not in a worker
        for r in reqs:
            r._begin()

        def work() -> None:
            try:
                if req._chain is None and not req.unit_size:
                    self._single(req, path)
                else:
                    self._compound(req, path)
            except AcompError as exc:
                req.err = exc
            except BaseException as exc:  # a worker never dies of a driver
                req.dlen, req.err = 0, self.driver_error(f"raised {exc!r} in the async worker")
            finally:
                for r in reqs[1:]:
                    r._finish(callback=False)
                req._finish(callback=True)

        try:
            return get_pool().enqueue(work, bool(req.flags & RequestFlags.MAY_BACKLOG))
        except AcompError as exc:  # refused: not submitted, the callback never runs
            for r in reqs:
                r._state = DONE
            req.err = exc
            raise

    def poll(self, req: Request) -> int:
        """acomp only: ``-errno.EAGAIN`` while a ``RequestFlags.POLL`` submission is in flight, then 0 or ``-errno``.

        There is no ``crypto_acomp_poll`` in any kernel (the series' RFC v1 had
        one; polling lives inside iaa_crypto, ``iaa_comp_poll``).  For a chain
        head, done means every request of the chain is done.
        """
        if not isinstance(req, Request):
            raise InvalidArgument(f"req must be an acomp.Request, got {type(req).__name__}")
        if not req.flags & RequestFlags.POLL:
            raise InvalidArgument("poll needs a request submitted with RequestFlags.POLL")
        if req._state == IDLE:
            raise InvalidArgument("poll of a request that was never submitted")
        for r in req.requests():
            if r._state == PENDING:
                return -errno.EAGAIN
        return -req.err.errno if req.err is not None else 0


_ACCEPTED = "accepted: bytes, bytearray, or any C-contiguous buffer"


def _plain(src: object, dst: object) -> bool:
    """Both 1-D byte buffers, ``dst`` writable: a request the driver can take without a view or a check."""
    ts = type(src)
    return (
        ts is bytes
        or ts is bytearray
        or (isinstance(src, memoryview) and src.ndim == 1 and src.format == "B" and src.c_contiguous)
    ) and (
        type(dst) is bytearray
        or (
            isinstance(dst, memoryview)
            and dst.ndim == 1
            and dst.format == "B"
            and dst.c_contiguous
            and not dst.readonly
        )
    )


def _src_bytes(src: object, name: str) -> BufferLike:
    """A source as a driver gets it: bytes/bytearray as they are, any other buffer as a 1-D byte view."""
    if type(src) is bytes or type(src) is bytearray:
        return src
    return byte_view(src, name)


def _dst_view(dst: object, name: str) -> Any:
    """A destination as the core writes it: a bytearray as it is, any other buffer as a 1-D byte view."""
    if type(dst) is bytearray:
        return dst
    return byte_view(dst, name, writable=True)


def _time_out(tfm: Transform, req: Request) -> None:
    """A chained request whose completion never came: ETIMEDOUT, and a late completion is refused."""
    req.dlen = 0
    req.err = TimedOut(f"{tfm.driver_name} (plugin {tfm.record.plugin!r}) did not complete in {CHAIN_TIMEOUT}s")
    req._state = DONE


def _warn_double(tfm: Transform) -> None:
    msg = (
        f"acomp: driver {tfm.driver_name!r} (plugin {tfm.record.plugin!r}) completed "
        "a request twice; the second completion was ignored"
    )
    try:
        warnings.warn(msg, AcompPluginWarning, stacklevel=3)
    except BaseException as exc:  # -W error: the driver's thread must not die of the report
        report_unraisable(msg, exc)


# acomp.many builds on Transform (through acomp.api): imported once the class exists.
from acomp import many as _many  # noqa: E402
