"""The transform (kernel: ``struct crypto_acomp``): sync, batch, chain and async ops.

One transform binds one driver instance (the tfm context).  The hot path,
``compress(req)``, is a bounds-checked call into the driver and one copy into
``dst``; everything else (chains, segmentation, async) branches off it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from acomp import submit as _submit
from acomp.driver import Driver, Feature, Op, Result
from acomp.errors import AcompError, DriverError, InvalidArgument
from acomp.request import DONE, DST_MAX, MAX_SRC_SIZE, PENDING, Request
from acomp.segment import run_segmented

if TYPE_CHECKING:
    from acomp.records import AlgorithmRecord

__all__ = ["Transform"]


class Transform:
    """A handle on one driver instance (kernel: ``crypto_acomp`` from ``crypto_alloc_acomp``)."""

    __slots__ = (
        "_closed",
        "_compress",
        "_decompress",
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
        #: Requests per batch call; 1 = no batching (``crypto_acomp_batch_size``).
        self.batch_size: int = record.batch_size
        #: The batch hook runs requests in parallel (``acomp_has_async_batching``).
        self.has_async_batching: bool = record.async_batching
        self._compress = driver.compress
        self._decompress = driver.decompress
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

    # -- sync ------------------------------------------------------------------------

    def compress(self, req: Request) -> int:
        """Compress synchronously; return ``dlen``.

        A failing request raises its :class:`~acomp.errors.AcompError` (also stored in
        ``req.err``).  A request that heads a chain runs the whole chain and
        raises nothing: check each request's ``err``.  A request with
        ``unit_size`` is segmented (see :mod:`acomp.segment`).
        """
        if req._chain is not None or req.unit_size:
            return self._compound(req, "compress")
        return self._sync(req, self._compress, "compress")

    def decompress(self, req: Request) -> int:
        """Decompress synchronously; return ``dlen``.  As :meth:`compress`."""
        if req._chain is not None or req.unit_size:
            return self._compound(req, "decompress")
        return self._sync(req, self._decompress, "decompress")

    def _sync(self, req: Request, fn: Any, op: Op) -> int:
        cap = 0
        try:
            dst = req.dst
            cap = self._capacity(req, op) if dst is None else len(dst)
            src = req.src
            if len(src) > MAX_SRC_SIZE:
                raise InvalidArgument(f"src of {len(src)} bytes exceeds MAX_SRC_SIZE ({MAX_SRC_SIZE})")
            out: bytes = fn(src, cap)
            # The per-page path: a result that fits goes straight into dst;
            # anything else (an error, an overrun, dst=None) takes _finish.
            if dst is not None:
                n = len(out)
                if n <= cap:
                    dst[:n] = out
                    req.dlen = n
                    req.err = None
                    if req._state != PENDING:
                        req._state = DONE
                    return n
            res: Result = out
        except AcompError as exc:
            res = exc
        except Exception as exc:
            res = self._foreign_error(exc, req, op)
            res.__cause__ = exc
        if self._finish(req, res, cap, op):
            return req.dlen
        assert req.err is not None
        raise req.err

    def _capacity(self, req: Request, op: Op) -> int:
        if req.dlen > 0:
            return req.dlen
        if op == "compress":
            return self.driver.compress_bound(_nbytes(req.src))
        return DST_MAX

    def driver_error(self, what: str) -> DriverError:
        """A :class:`~acomp.errors.DriverError` naming this driver and its plugin."""
        return DriverError(f"driver {self.driver_name!r} (plugin {self.record.plugin!r}) {what}")

    def _foreign_error(self, exc: Exception, req: Request, op: Op) -> AcompError:
        """Turn a non-acomp exception into an AcompError that says whose fault it is."""
        if not _is_buffer(req.src):
            return InvalidArgument(f"src must be a bytes-like object, got {type(req.src).__name__}")
        if req.dst is not None and not _is_writable(req.dst):
            return InvalidArgument(f"dst must be a writable buffer, got {type(req.dst).__name__}")
        return self.driver_error(f"raised {exc!r} in {op}")

    # -- batches (kernel: crypto_acomp_batch_compress / _decompress) ----------------------

    def batch_compress(self, reqs: Sequence[Request]) -> bool:
        """Compress up to ``batch_size`` requests; True only when all succeeded.

        Each request gets its own ``dlen`` and ``err``; no per-request error is
        raised.  More than ``batch_size`` requests raise EINVAL.
        """
        return self._batch(reqs, "compress")

    def batch_decompress(self, reqs: Sequence[Request]) -> bool:
        """Decompress up to ``batch_size`` requests; as :meth:`batch_compress`."""
        return self._batch(reqs, "decompress")

    def _batch(self, reqs: Sequence[Request], op: Op) -> bool:
        n = len(reqs)
        if n > self.batch_size:
            raise InvalidArgument(
                f"{self.driver_name}: batch of {n} requests exceeds batch_size {self.batch_size}"
            )
        if n == 0:
            return True
        if n == 1:
            # One request needs no batch machinery; same outcome as the hook.
            req = reqs[0]
            try:
                self._sync(req, self._compress if op == "compress" else self._decompress, op)
            except AcompError:
                return False
            return True
        return self._run_hook(list(reqs), op)

    def _run_hook(self, reqs: list[Request], op: Op) -> bool:
        # Requests the driver must not see (not a buffer, too big, no usable dst) fail alone.
        ok = True
        caps: list[int] = []
        valid: list[Request] = []
        for r in reqs:
            try:
                if not isinstance(r.src, (bytes, bytearray, memoryview)) and not _is_buffer(r.src):
                    raise InvalidArgument(f"src must be a bytes-like object, got {type(r.src).__name__}")
                if _nbytes(r.src) > MAX_SRC_SIZE:
                    raise InvalidArgument(f"src of {_nbytes(r.src)} bytes exceeds MAX_SRC_SIZE ({MAX_SRC_SIZE})")
                caps.append(self._capacity(r, op) if r.dst is None else len(r.dst))
            except AcompError as exc:
                self._finish(r, exc, 0, op)
                ok = False
                continue
            except TypeError:
                self._finish(r, InvalidArgument(f"dst must be a writable buffer, got {type(r.dst).__name__}"), 0, op)
                ok = False
                continue
            valid.append(r)
        if not valid:
            return ok
        reqs = valid
        srcs = [r.src for r in reqs]
        hook = self.driver.batch_compress if op == "compress" else self.driver.batch_decompress
        try:
            results: Sequence[Result] = hook(srcs, caps)
            if len(results) != len(reqs):
                raise self.driver_error(f"returned {len(results)} results for a batch of {len(reqs)}")
        except AcompError as exc:
            results = [exc] * len(reqs)
        except Exception as exc:
            results = [self._foreign_error(exc, r, op) for r in reqs]
        for req, res, cap in zip(reqs, results, caps):
            if not self._finish(req, res, cap, op):
                ok = False
        return ok

    def checked(self, res: Result, cap: int, allocated: bool) -> Result:
        """``res`` if it is a usable output for a ``cap``-byte dst, else the error that says why.

        ``allocated``: the output becomes the caller's buffer itself (``dst=None``),
        so it must be a real bytes-like object.
        """
        if isinstance(res, AcompError):
            return res
        try:
            n = len(res)
        except TypeError:
            return self.driver_error(f"returned {type(res).__name__}, not a bytes-like object")
        if n > cap:
            err = self.driver_error(f"returned {n} bytes for a {cap}-byte dst")
            err.returned, err.capacity = n, cap
            return err
        if allocated and not isinstance(res, (bytes, bytearray, memoryview)):
            return self.driver_error(f"returned {type(res).__name__}, not a bytes-like object")
        return res

    def _finish(self, req: Request, res: Result, cap: int, op: Op) -> bool:
        """Store one result (output or error) on its request; never raises.

        The one place a driver's output reaches a request: checked, then
        copied into ``dst`` (or kept as the allocated output).
        """
        dst = req.dst
        res = self.checked(res, cap, dst is None)
        ok = False
        if isinstance(res, AcompError):
            req.dlen, req.err = 0, res
        elif dst is None:
            req.dst, req.dlen, req.err, ok = res, len(res), None, True
        else:
            try:
                dst[: len(res)] = res
            except Exception as exc:
                req.dlen, req.err = 0, self._foreign_error(exc, req, op)
            else:
                req.dlen, req.err, ok = len(res), None, True
        # An async submission stays PENDING until its completion has run.
        if req._state != PENDING:
            req._state = DONE
        return ok

    # -- chains and segments -------------------------------------------------------------

    def _compound(self, req: Request, op: Op) -> int:
        if req.unit_size:
            return run_segmented(self, req, op)
        reqs = req.requests()
        step = self.driver.batch_size
        if Feature.REQ_CHAIN in self.record.features and step > 1:
            # v6.15 crypto_acomp_compress: a REQ_CHAIN driver gets the chain itself,
            # here through its batch hook, as many requests at a time as the hook takes.
            for start in range(0, len(reqs), step):
                self._run_hook(reqs[start : start + step], op)
        else:
            # The sequential executor (acomp_do_req_chain), inlined: a chain
            # of cheap lz4 pages must not pay a closure per request.
            fn = self._compress if op == "compress" else self._decompress
            sync = self._sync
            for r in reqs:
                try:
                    sync(r, fn, op)
                except AcompError:
                    pass
        return req.dlen

    # -- many buffers (acomp only): acomp/many.py -----------------------------------------

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

    # -- async (kernel: -EINPROGRESS / -EBUSY, completion callback, poll): acomp/submit.py ----

    def submit(self, req: Request, op: Op = "compress") -> int:
        """Start ``op`` on ``req`` (and its chain) without blocking; see :func:`acomp.submit.submit`."""
        return _submit.submit(self, req, op)

    def poll(self, req: Request) -> int:
        """Poll a request submitted with ``RequestFlags.POLL``; see :func:`acomp.submit.poll`."""
        return _submit.poll(req)


def _nbytes(src: Any) -> int:
    """Length of a source; 0 for something that is not a buffer (the driver call reports it)."""
    try:
        return len(src)
    except TypeError:
        try:
            return memoryview(src).nbytes
        except TypeError:
            return 0


def _is_buffer(obj: object) -> bool:
    try:
        memoryview(obj)  # type: ignore[arg-type]
    except TypeError:
        return False
    return True


def _is_writable(obj: object) -> bool:
    try:
        return not memoryview(obj).readonly  # type: ignore[arg-type]
    except TypeError:
        return False


# acomp.many builds on Transform (through acomp.api): imported once the class exists.
from acomp import many as _many  # noqa: E402
