"""The kit's plumbing: one driver, its transform, one op checked, failures worded.

:class:`KitBase` holds what every property needs: the driver's record and
transform, :meth:`~KitBase._op` (one sync op whose outcome must be coherent:
``dlen``, ``req.err`` and the raised error agree), the expect/report helpers
that word a failure, and :meth:`~KitBase._given` (hypothesis with the kit's
settings).  The properties live in the sibling modules, grouped by theme.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal, NoReturn

from hypothesis import example, given
from hypothesis import strategies as st

import acomp
from acomp.driver import Feature
from acomp.errors import AcompError, DriverError
from acomp.records import AlgorithmRecord
from acomp.request import Request
from acomp.testing import strategies as acst
from acomp.testing._profiles import kit_settings
from acomp.testing.conformance._contract import (
    COMPRESS_OVERFLOW_ERRNOS,
    DEVICE_COMPRESS_OVERFLOW_ERRNOS,
    SENTINEL,
)
from acomp.testing.conformance._outcomes import ConformanceFailure
from acomp.transform import Transform


def _errname(code: int) -> str:
    return errno.errorcode.get(code, str(code))


def _names(codes: Iterable[int]) -> str:
    return "{" + ", ".join(sorted(_errname(c) for c in codes)) + "}"


def _err_text(err: BaseException) -> str:
    if isinstance(err, AcompError):
        return f"{type(err).__name__}({err.errname}: {err})"
    return f"{type(err).__name__}({err})"


def _describe(data: bytes | bytearray | memoryview) -> str:
    b = bytes(data)
    if not b:
        return "empty input"
    if b.count(0) == len(b):
        return f"{len(b)} zero bytes"
    if len(b) >= 8 and b == b[:8] * (len(b) // 8) + b[: len(b) % 8]:
        return f"{len(b)} same-filled bytes ({b[:8].hex()})"
    return f"{len(b)}-byte input starting {b[:8].hex()}"


class _Box:
    """Hypothesis example holder with a short repr (examples are pages and folios of bytes)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        v = self.value
        if isinstance(v, (bytes, bytearray, memoryview)):
            return _describe(v)
        if isinstance(v, list):
            return "[" + ", ".join(p.describe() if isinstance(p, acst.PlantedRequest) else repr(p) for p in v) + "]"
        return repr(v)


def sentinel_dst(capacity: int) -> bytearray:
    """A dst of ``capacity`` bytes filled with :data:`SENTINEL`, to see what a driver writes."""
    return bytearray([SENTINEL]) * capacity


def untouched_past(dst: bytearray | memoryview, dlen: int) -> bool:
    """True when the dst past ``dlen`` still holds only the sentinel fill."""
    return bytes(dst[dlen:]).count(SENTINEL) == len(dst) - dlen


class KitBase:
    """The kit for one driver, without its properties (see :class:`DriverConformance`).

    ``params`` go to :func:`acomp.alloc`.  ``truncation_detected=False``
    declares a wire format without an end marker (see the module docs).
    ``profile``/``max_examples`` choose the hypothesis budget; ``shrink=True``
    shrinks a failing example before reporting it (slower).
    """

    def __init__(
        self,
        driver: str,
        *,
        params: Mapping[str, object] | None = None,
        truncation_detected: bool = True,
        profile: str | None = None,
        max_examples: int | None = None,
        shrink: bool = False,
    ) -> None:
        self.driver = driver
        self.params: dict[str, object] = dict(params or {})
        self.truncation_detected = truncation_detected
        self.settings = kit_settings(profile, max_examples, shrink=shrink)
        self.notes: list[str] = []
        self._tfm: Transform | None = None
        self._lock = threading.Lock()

    def fail(self, prop: str, detail: str) -> NoReturn:
        raise ConformanceFailure(self.driver, prop, detail)

    def record(self) -> AlgorithmRecord | None:
        for rec in acomp.algorithms():
            if rec.driver_name == self.driver:
                return rec
        return None

    def is_registered(self) -> bool:
        return self.record() is not None

    def new_tfm(self, prop: str) -> Transform:
        """A fresh transform of the driver (by driver name, with the kit's params)."""
        rec = self.record()
        if rec is None:
            self.fail(prop, f"no driver named {self.driver!r} is registered")
        try:
            tfm = acomp.alloc(self.driver, **self.params)
        except AcompError as exc:
            self.fail(prop, f"alloc({self.driver!r}) failed: {_err_text(exc)}")
        except Exception as exc:
            self.fail(prop, f"alloc({self.driver!r}) raised {_err_text(exc)}, not an AcompError")
        if tfm.driver_name != self.driver:
            self.fail(prop, f"alloc({self.driver!r}) gave a transform of driver {tfm.driver_name!r}")
        return tfm

    def tfm(self, prop: str) -> Transform:
        """The kit's shared transform (allocated once)."""
        with self._lock:
            tfm = self._tfm
            if tfm is None or tfm.record.driver_cls is not getattr(self.record(), "driver_cls", None):
                tfm = self.new_tfm(prop)
                self._tfm = tfm
            return tfm

    def close(self) -> None:
        with self._lock:
            if self._tfm is not None:
                self._tfm.close()
                self._tfm = None

    def _overflow_errnos(self, tfm: Transform) -> frozenset[int]:
        if Feature.DEVICE in tfm.record.features:
            return DEVICE_COMPRESS_OVERFLOW_ERRNOS
        return COMPRESS_OVERFLOW_ERRNOS

    def _op(
        self,
        prop: str,
        tfm: Transform,
        op: Literal["compress", "decompress"],
        src: Any,
        dst: Any = None,
        dlen: int = 0,
    ) -> tuple[Request, AcompError | None]:
        """Run one sync op; return the request and the AcompError it raised (or None)."""
        req = Request(src, dst=dst, dlen=dlen)
        fn = tfm.compress if op == "compress" else tfm.decompress
        try:
            n = fn(req)
        except AcompError as exc:
            if req.err is not exc:
                self.fail(prop, f"{op} raised {_err_text(exc)} but req.err is {req.err!r}")
            if req.dlen != 0:
                self.fail(prop, f"{op} failed with {exc.errname} but left dlen={req.dlen} (must be 0)")
            return req, exc
        except Exception as exc:
            self.fail(prop, f"{op} of {_describe(src)} raised {_err_text(exc)}, not an acomp.AcompError")
        if req.err is not None:
            self.fail(prop, f"{op} returned {n} but set req.err={req.err!r}")
        if n != req.dlen:
            self.fail(prop, f"{op} returned {n} but set req.dlen={req.dlen}")
        return req, None

    def _expect_err(
        self, prop: str, err: AcompError | None, allowed: frozenset[int], what: str, req: Request | None = None
    ) -> AcompError:
        if err is None:
            got = f" (dlen={req.dlen})" if req is not None else ""
            self.fail(prop, f"{what}: succeeded{got}, expected an AcompError with errno in {_names(allowed)}")
        if err.errno not in allowed:
            self._report_err(prop, err, what, allowed)
        return err

    def _report_err(self, prop: str, err: AcompError, what: str, allowed: frozenset[int] | None) -> NoReturn:
        if isinstance(err, DriverError) and err.returned is not None:
            self.fail(prop, f"{what}: returned {err.returned} bytes into a {err.capacity}-byte dst")
        want = f", expected errno in {_names(allowed)}" if allowed is not None else ""
        self.fail(prop, f"{what}: failed with {_err_text(err)}{want}")

    def _compress_ok(self, prop: str, tfm: Transform, data: bytes, what: str = "") -> bytes:
        req, err = self._op(prop, tfm, "compress", data)
        if err is not None:
            bound = tfm.driver.compress_bound(len(data))
            hint = f" (dst=None: a compress_bound({len(data)})={bound}-byte dst)"
            self._report_err(prop, err, f"compress of {what or _describe(data)}{hint}", None)
        return req.output()

    def _decompress_check(
        self, prop: str, tfm: Transform, stream: bytes, original: bytes, capacity: int, what: str
    ) -> None:
        dst = sentinel_dst(capacity)
        req, err = self._op(prop, tfm, "decompress", stream, dst=dst)
        if err is not None:
            self._report_err(prop, err, f"decompress of the stream of {what} into a {capacity}-byte dst", None)
        if req.dlen != len(original) or dst[: req.dlen] != original:
            self.fail(
                prop,
                f"decompress of the stream of {what} gave {req.dlen} bytes "
                f"{'that differ from' if req.dlen == len(original) else 'instead of'} the {len(original)} input bytes",
            )
        if not untouched_past(dst, req.dlen):
            self.fail(prop, f"decompress of the stream of {what} wrote past dlen={req.dlen} in its dst")

    def _given(self, strategy: st.SearchStrategy[Any], fn: Callable[[Any], None], *examples: Any) -> None:
        """Run ``fn`` on each explicit example, then over ``strategy``, with the kit's settings."""

        def test(x: _Box) -> None:
            fn(x.value)

        wrapped = given(x=strategy.map(_Box))(test)
        for ex in reversed(examples):
            wrapped = example(x=_Box(ex))(wrapped)
        self.settings(wrapped)()
