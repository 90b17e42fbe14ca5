"""The kit's state for one driver, and the helpers every check function uses.

A property is a plain function ``check(kit)`` (see ``_table``): it returns when
the property holds, raises :class:`ConformanceFailure` (through
:meth:`Kit.fail`) naming the property when not, or :class:`PropertySkipped`.
:class:`Kit` holds the driver's transform, the options, and the helpers that
run one op and word a failure the same way everywhere.
"""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal, NoReturn

import attrs
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyFailure

import acomp
from acomp.driver import Feature, Op
from acomp.errors import AcompError, DriverError
from acomp.records import AlgorithmRecord
from acomp.request import Request
from acomp.testing import strategies as acst
from acomp.testing._profiles import kit_settings
from acomp.testing.conformance._contract import (
    COMPRESS_OVERFLOW_ERRNOS,
    CORRUPT_INPUT_ERRNOS,
    DEVICE_COMPRESS_OVERFLOW_ERRNOS,
    HANG_GUARD,
    LENIENT_CORRUPT_INPUT_ERRNOS,
    SENTINEL,
)
from acomp.testing.conformance._outcomes import ConformanceFailure
from acomp.transform import Transform


def errname(code: int) -> str:
    return errno.errorcode.get(code, str(code))


def names(codes: Iterable[int]) -> str:
    return "{" + ", ".join(sorted(errname(c) for c in codes)) + "}"


def err_text(err: BaseException) -> str:
    if isinstance(err, AcompError):
        return f"{type(err).__name__}({err.errname}: {err})"
    return f"{type(err).__name__}({err})"


def describe(data: bytes | bytearray | memoryview) -> str:
    b = bytes(data)
    if not b:
        return "empty input"
    if b.count(0) == len(b):
        return f"{len(b)} zero bytes"
    if len(b) >= 8 and b == b[:8] * (len(b) // 8) + b[: len(b) % 8]:
        return f"{len(b)} same-filled bytes ({b[:8].hex()})"
    return f"{len(b)}-byte input starting {b[:8].hex()}"


def sentinel_dst(capacity: int) -> bytearray:
    """A dst of ``capacity`` bytes filled with :data:`SENTINEL`, to see what a driver writes."""
    return bytearray([SENTINEL]) * capacity


def untouched_past(dst: bytearray | memoryview, dlen: int) -> bool:
    """True when the dst past ``dlen`` still holds only the sentinel fill."""
    return bytes(dst[dlen:]).count(SENTINEL) == len(dst) - dlen


class _Box:
    """Hypothesis example holder with a short repr (examples are pages and folios of bytes)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        v = self.value
        if isinstance(v, (bytes, bytearray, memoryview)):
            return describe(v)
        if isinstance(v, list):
            return "[" + ", ".join(p.describe() if isinstance(p, acst.PlantedRequest) else repr(p) for p in v) + "]"
        return repr(v)


@attrs.define(slots=True, eq=False)
class Kit:
    """One driver under test, with the options of the run (see :func:`~acomp.testing.check_driver`).

    ``prop`` is the property being checked: :meth:`fail` names it.
    """

    driver: str
    params: dict[str, object] = attrs.field(factory=dict)
    truncation_detected: bool = True
    strict_corrupt_errors: bool = True
    profile: str | None = None
    max_examples: int | None = None
    shrink: bool = False
    prop: str = attrs.field(default="", init=False)
    notes: list[str] = attrs.field(factory=list, init=False)
    settings: settings = attrs.field(init=False)
    _tfm: Transform | None = attrs.field(default=None, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def __attrs_post_init__(self) -> None:
        self.settings = kit_settings(self.profile, self.max_examples, shrink=self.shrink)

    # -- the driver and its transforms ------------------------------------------------

    def fail(self, detail: str) -> NoReturn:
        raise ConformanceFailure(self.driver, self.prop, detail)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def record(self) -> AlgorithmRecord | None:
        for rec in acomp.algorithms():
            if rec.driver_name == self.driver:
                return rec
        return None

    def is_registered(self) -> bool:
        return self.record() is not None

    def new_tfm(self) -> Transform:
        """A fresh transform of the driver (by driver name, with the kit's params)."""
        if self.record() is None:
            self.fail(f"no driver named {self.driver!r} is registered")
        try:
            tfm = acomp.alloc(self.driver, **self.params)
        except AcompError as exc:
            self.fail(f"alloc({self.driver!r}) failed: {err_text(exc)}")
        except Exception as exc:
            self.fail(f"alloc({self.driver!r}) raised {err_text(exc)}, not an AcompError")
        if tfm.driver_name != self.driver:
            self.fail(f"alloc({self.driver!r}) gave a transform of driver {tfm.driver_name!r}")
        return tfm

    def tfm(self) -> Transform:
        """The kit's shared transform (allocated once per driver class)."""
        with self._lock:
            tfm = self._tfm
            if tfm is None or tfm.record.driver_cls is not getattr(self.record(), "driver_cls", None):
                tfm = self.new_tfm()
                self._tfm = tfm
            return tfm

    def close(self) -> None:
        with self._lock:
            if self._tfm is not None:
                self._tfm.close()
                self._tfm = None

    # -- the error sets of the contract ----------------------------------------------

    def overflow_errnos(self, tfm: Transform) -> frozenset[int]:
        """Compress into a dst that is too small."""
        if Feature.DEVICE in tfm.record.features:
            return DEVICE_COMPRESS_OVERFLOW_ERRNOS
        return COMPRESS_OVERFLOW_ERRNOS

    @property
    def corrupt_errnos(self) -> frozenset[int]:
        """Decompress corrupt or truncated input (relaxed by ``strict_corrupt_errors=False``)."""
        return CORRUPT_INPUT_ERRNOS if self.strict_corrupt_errors else LENIENT_CORRUPT_INPUT_ERRNOS

    # -- one op, checked -------------------------------------------------------------

    def op(
        self, tfm: Transform, op: Literal["compress", "decompress"], src: Any, dst: Any = None, dlen: int = 0
    ) -> tuple[Request, AcompError | None]:
        """Run one sync op; return the request and the AcompError it raised (or None).

        The outcome must be coherent: the raised error is ``req.err``, a failed
        request has ``dlen == 0``, the return value is ``req.dlen``.
        """
        req = Request(src, dst=dst, dlen=dlen)
        fn = tfm.compress if op == "compress" else tfm.decompress
        try:
            n = fn(req)
        except AcompError as exc:
            if req.err is not exc:
                self.fail(f"{op} raised {err_text(exc)} but req.err is {req.err!r}")
            if req.dlen != 0:
                self.fail(f"{op} failed with {exc.errname} but left dlen={req.dlen} (must be 0)")
            return req, exc
        except Exception as exc:
            self.fail(f"{op} of {describe(src)} raised {err_text(exc)}, not an acomp.AcompError")
        if req.err is not None:
            self.fail(f"{op} returned {n} but set req.err={req.err!r}")
        if n != req.dlen:
            self.fail(f"{op} returned {n} but set req.dlen={req.dlen}")
        return req, None

    def expect_err(
        self, err: AcompError | None, allowed: frozenset[int], what: str, req: Request | None = None
    ) -> AcompError:
        if err is None:
            got = f" (dlen={req.dlen})" if req is not None else ""
            self.fail(f"{what}: succeeded{got}, expected an AcompError with errno in {names(allowed)}")
        if err.errno not in allowed:
            self.report_err(err, what, allowed)
        return err

    def report_err(self, err: AcompError, what: str, allowed: frozenset[int] | None) -> NoReturn:
        if isinstance(err, DriverError) and err.returned is not None:
            self.fail(f"{what}: returned {err.returned} bytes into a {err.capacity}-byte dst")
        want = f", expected errno in {names(allowed)}" if allowed is not None else ""
        self.fail(f"{what}: failed with {err_text(err)}{want}")

    def compress_ok(self, tfm: Transform, data: bytes, what: str = "") -> bytes:
        req, err = self.op(tfm, "compress", data)
        if err is not None:
            bound = tfm.driver.compress_bound(len(data))
            hint = f" (dst=None: a compress_bound({len(data)})={bound}-byte dst)"
            self.report_err(err, f"compress of {what or describe(data)}{hint}", None)
        return req.output()

    def decompress_check(self, tfm: Transform, stream: bytes, original: bytes, capacity: int, what: str) -> None:
        dst = sentinel_dst(capacity)
        req, err = self.op(tfm, "decompress", stream, dst=dst)
        if err is not None:
            self.report_err(err, f"decompress of the stream of {what} into a {capacity}-byte dst", None)
        if req.dlen != len(original) or dst[: req.dlen] != original:
            self.fail(
                f"decompress of the stream of {what} gave {req.dlen} bytes "
                f"{'that differ from' if req.dlen == len(original) else 'instead of'} the {len(original)} input bytes"
            )
        if not untouched_past(dst, req.dlen):
            self.fail(f"decompress of the stream of {what} wrote past dlen={req.dlen} in its dst")

    def given(self, strategy: st.SearchStrategy[Any], fn: Callable[[Any], None], *examples: Any) -> None:
        """Run ``fn`` on each explicit example, then over ``strategy``, with the kit's settings."""

        def test(x: _Box) -> None:
            fn(x.value)

        wrapped = given(x=strategy.map(_Box))(test)
        for ex in reversed(examples):
            wrapped = example(x=_Box(ex))(wrapped)
        try:
            self.settings(wrapped)()
        except FlakyFailure as group:
            # Failed once, then not on replay (a race): still the driver's failure, worded as such.
            first = next((e for e in group.exceptions if isinstance(e, ConformanceFailure)), None)
            if first is None:
                raise
            self.fail(f"{first.detail} (once: it did not fail again on replay)")

    # -- async -----------------------------------------------------------------------

    def submit(self, tfm: Transform, req: Request, op: Op, what: str) -> int:
        """``tfm.submit``; its return must be a kernel code: 0 (done), EINPROGRESS or EBUSY."""
        try:
            rc = tfm.submit(req, op)
        except AcompError as exc:
            self.fail(f"{what}: submit raised {err_text(exc)}")
        except Exception as exc:
            self.fail(f"{what}: submit raised {err_text(exc)}, not an AcompError")
        if rc not in (0, errno.EINPROGRESS, errno.EBUSY):
            self.fail(f"{what}: submit returned {rc!r}, expected 0, EINPROGRESS or EBUSY")
        if rc == 0 and not all(r.done for r in req.requests()):
            self.fail(f"{what}: submit returned 0 (completed) but the request is still in flight")
        return rc

    def wait(self, req: Request, what: str) -> None:
        if not req.wait(HANG_GUARD):
            self.fail(f"{what}: not completed after {HANG_GUARD:.0f} s (lost completion?)")

    def poll(self, tfm: Transform, req: Request, what: str) -> int:
        deadline = time.monotonic() + HANG_GUARD
        while True:
            rc = tfm.poll(req)
            if rc != -errno.EAGAIN:
                return rc
            if time.monotonic() > deadline:
                self.fail(f"{what}: poll still says EAGAIN after {HANG_GUARD:.0f} s (lost completion?)")
            time.sleep(0.0005)

    def threads(self, label: str, work: Callable[[int], None], n: int = 4) -> None:
        """Run ``work(i)`` on ``n`` threads released together; the first failure names its thread."""
        errors: list[str] = []
        barrier = threading.Barrier(n)

        def body(i: int) -> None:
            try:
                barrier.wait(HANG_GUARD)
                work(i)
            except ConformanceFailure as exc:
                errors.append(f"thread {i}: {exc.detail}")
            except BaseException as exc:
                errors.append(f"thread {i}: {err_text(exc)}")

        threads = [threading.Thread(target=body, args=(i,), name=f"acomp-kit-{i}", daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + HANG_GUARD
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in threads):
            self.fail(f"{label}: threads still running after {HANG_GUARD:.0f} s (deadlock or lost completion?)")
        if errors:
            self.fail(f"{label}: {errors[0]}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
