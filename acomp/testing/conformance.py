"""The conformance kit: what every acomp driver must do (kernel: ``crypto/testmgr.c``).

One call checks a registered driver::

    import acomp.testing
    report = acomp.testing.check_driver("mydrv-generic")   # raises ConformanceError on failure

and one pytest class runs the same properties as separate tests::

    class TestMine(acomp.testing.ConformanceSuite):
        driver = "mydrv-generic"

Every failure names the driver and the property, e.g.
``deflate-broken: property 'dst bounds': returned 5000 bytes into a 4096-byte dst``.

The properties (:data:`PROPERTIES`) and the accepted error codes
-------------------------------------------------------------------
``registration``        the driver is listed by :func:`acomp.algorithms`, its record's fields
                        have their types, ``alloc`` by driver name gives a transform that
                        agrees with the record, an unknown parameter is an AcompError.
``round trip``          compress (``dst=None``: a dst of ``compress_bound``) then decompress
                        gives the input back: empty, 1 byte, odd sizes, 4 KiB pages of every
                        kind, folios up to 64 KiB, zero-filled and random; src as bytes,
                        bytearray or memoryview.
``dlen``                ``dlen`` is the real output length: the ``dlen`` bytes in dst decompress
                        to the input, the dst past ``dlen`` is untouched (a sentinel fill),
                        and (when truncation is detected, see below) ``dlen - 1`` bytes do not.
``dst bounds``          compressing random pages into half a page (or 16 bytes) fails with
                        :data:`COMPRESS_OVERFLOW_ERRNOS` (``{ENOSPC}``; a driver with
                        ``Feature.DEVICE`` may say ``E2BIG`` as IAA does); decompressing into a
                        dst smaller than the output fails with :data:`DECOMPRESS_OVERFLOW_ERRNOS`
                        (``{ENOSPC, EOVERFLOW, EINVAL}``: ``EINVAL`` because LZ4, like the
                        kernel's, cannot tell "does not fit" from "corrupt"); a failed request
                        has ``dlen == 0`` and ``req.err`` is the error raised.  A driver that
                        returns more than the capacity is reported here.
``corrupt input``       damaged streams (bit flips, overwrites, appended junk, random bytes)
                        either decode within the dst or fail with an AcompError whose errno is
                        in :data:`CORRUPT_INPUT_ERRNOS` (``{EINVAL, EBADMSG, ENOSPC,
                        EOVERFLOW}``), never any other exception.  Truncated streams (strict
                        prefixes) must fail likewise; for a wire format without an end marker
                        (raw LZ4 blocks) declare ``truncation_detected=False``: then a
                        truncated stream may also decode to an output shorter than the input.
``decompression bomb``  1 MiB of zeros, compressed, decompressed into 4 KiB fails cleanly, and
                        the Python heap peak of that call (tracemalloc) exceeds that of a
                        one-page decompression by less than :data:`BOMB_SLACK` (256 KiB).
``empty input``         compressing b"" succeeds and round-trips to b"" (or is refused with
                        EINVAL); decompressing b"" gives b"" or a corrupt-input error.
``batch``               ``batch_compress``/``batch_decompress`` of 1..batch_size requests with
                        failures planted at random positions: each request's ``err``/``dlen``
                        is its own, the others are unaffected, the result is False iff one
                        failed, nothing is raised; batch_size + 1 requests raise EINVAL.
``chain``               the same mixed requests chained behind a head, submitted synchronously.
``segmentation``        a folio with ``unit_size=PAGE_SIZE``: one ``seg_dlens`` entry per page,
                        ``-ENOSPC`` for the pages that do not fit.
``thread safety``       4 threads compress and decompress at once, with a transform each and
                        with one shared transform (and batches, when the driver batches).
``async``               ``tfm.submit`` completes by callback exactly once, by ``poll`` with
                        ``RequestFlags.POLL``, and ``await acomp.aio.compress(tfm, req)``;
                        failures arrive in ``req.err``; an async chain completes every request.
``capabilities``        what the record claims holds: ``batch_size > 1`` has a batch hook that
                        takes ``batch_size`` requests; ``async_batching`` needs a batch hook
                        and either ``Feature.ASYNC``/a native ``submit`` or batches that run
                        correctly from several threads at once; ``Feature.ASYNC`` needs a
                        native ``submit``.  Checked structurally: no timing.
``wire format``         drivers with the same ``wire_format`` read each other's streams.

No property asserts on wall-clock time; waits have a generous hang guard
(:data:`HANG_GUARD` seconds) so a lost completion fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import re
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NoReturn

from hypothesis import example, given
from hypothesis import strategies as st

import acomp
from acomp.driver import Driver, Feature
from acomp.errors import AcompError, DriverError
from acomp.records import AlgorithmRecord
from acomp.request import PAGE_SIZE, Request, RequestFlags
from acomp.testing import strategies as acst
from acomp.testing._profiles import kit_settings
from acomp.transform import Transform

__all__ = [
    "BOMB_SLACK",
    "COMPRESS_OVERFLOW_ERRNOS",
    "CORRUPT_INPUT_ERRNOS",
    "DECOMPRESS_OVERFLOW_ERRNOS",
    "DEVICE_COMPRESS_OVERFLOW_ERRNOS",
    "EMPTY_COMPRESS_ERRNOS",
    "HANG_GUARD",
    "PROPERTIES",
    "ConformanceError",
    "ConformanceFailure",
    "ConformanceReport",
    "ConformanceSuite",
    "DriverConformance",
    "PropertySkipped",
    "check_driver",
]

#: Every property, in the order the kit runs them.
PROPERTIES: tuple[str, ...] = (
    "registration",
    "round trip",
    "dlen",
    "dst bounds",
    "corrupt input",
    "decompression bomb",
    "empty input",
    "batch",
    "chain",
    "segmentation",
    "thread safety",
    "async",
    "capabilities",
    "wire format",
)

#: Compress into a dst that is too small.
COMPRESS_OVERFLOW_ERRNOS = frozenset({errno.ENOSPC})
#: ... for a driver with ``Feature.DEVICE`` (IAA reports a compress output overflow as E2BIG).
DEVICE_COMPRESS_OVERFLOW_ERRNOS = frozenset({errno.ENOSPC, errno.E2BIG})
#: Decompress into a dst smaller than the output.
DECOMPRESS_OVERFLOW_ERRNOS = frozenset({errno.ENOSPC, errno.EOVERFLOW, errno.EINVAL})
#: Decompress corrupt or truncated input.
CORRUPT_INPUT_ERRNOS = frozenset({errno.EINVAL, errno.EBADMSG, errno.ENOSPC, errno.EOVERFLOW})
#: Compress of an empty source, when a driver refuses it.
EMPTY_COMPRESS_ERRNOS = frozenset({errno.EINVAL})

#: Seconds any single wait may take before the kit calls it a hang (not a timing assertion).
HANG_GUARD = 60.0
#: How much more the Python heap may peak for a bomb than for a one-page decompression.
BOMB_SLACK = 256 * 1024
#: The decompression bomb: this many zero bytes, decompressed into one page.
BOMB_SIZE = 1024 * 1024

_SENTINEL = 0xA5
_OVERRUN = re.compile(r"returned (\d+) bytes for a (\d+)-byte dst")


# -- outcomes --------------------------------------------------------------------------


class ConformanceFailure(AssertionError):
    """One property failed; the message is ``"<driver>: property '<name>': <detail>"``."""

    def __init__(self, driver: str, prop: str, detail: str) -> None:
        self.driver = driver
        self.property = prop
        self.detail = detail
        super().__init__(f"{driver}: property '{prop}': {detail}")


class PropertySkipped(Exception):
    """A property does not apply to this driver (e.g. no other driver shares its wire format)."""


@dataclass
class ConformanceReport:
    """The outcome of :func:`check_driver`: properties passed, failed (with messages), skipped."""

    driver: str
    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def __str__(self) -> str:
        lines = [f"{self.driver}: {len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped"]
        lines += [f"  FAIL {msg}" for msg in self.failed.values()]
        lines += [f"  skip '{p}': {why}" for p, why in self.skipped.items()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


class ConformanceError(AssertionError):
    """Raised by :func:`check_driver` when any property failed.

    ``property`` is the first failed property, ``failures`` maps every failed
    property to its message, ``report`` is the full :class:`ConformanceReport`.
    """

    def __init__(self, report: ConformanceReport) -> None:
        self.report = report
        self.driver = report.driver
        self.failures = dict(report.failed)
        self.property = next(iter(report.failed), "")
        msgs = list(report.failed.values())
        if len(msgs) == 1:
            text = msgs[0]
        else:
            text = f"{report.driver}: {len(msgs)} properties failed:\n" + "\n".join(f"  {m}" for m in msgs)
        super().__init__(text)


# -- the kit ----------------------------------------------------------------------------


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


class DriverConformance:
    """The kit for one driver: run one property with :meth:`check`, all with :meth:`run`.

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

    # -- plumbing ---------------------------------------------------------------

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

    def _expect_ok(self, prop: str, err: AcompError | None, what: str) -> None:
        if err is not None:
            self._report_err(prop, err, what, None)

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
        m = _OVERRUN.search(str(err)) if isinstance(err, DriverError) else None
        if m:
            self.fail(prop, f"{what}: returned {m.group(1)} bytes into a {m.group(2)}-byte dst")
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
        dst = bytearray([_SENTINEL]) * capacity
        req, err = self._op(prop, tfm, "decompress", stream, dst=dst)
        if err is not None:
            self._report_err(prop, err, f"decompress of the stream of {what} into a {capacity}-byte dst", None)
        if req.dlen != len(original) or dst[: req.dlen] != original:
            self.fail(
                prop,
                f"decompress of the stream of {what} gave {req.dlen} bytes "
                f"{'that differ from' if req.dlen == len(original) else 'instead of'} the {len(original)} input bytes",
            )
        if any(b != _SENTINEL for b in dst[req.dlen :]):
            self.fail(prop, f"decompress of the stream of {what} wrote past dlen={req.dlen} in its dst")

    def _given(self, strategy: st.SearchStrategy[Any], fn: Callable[[Any], None], *examples: Any) -> None:
        """Run ``fn`` on each explicit example, then over ``strategy``, with the kit's settings."""

        def test(x: _Box) -> None:
            fn(x.value)

        wrapped = given(x=strategy.map(_Box))(test)
        for ex in reversed(examples):
            wrapped = example(x=_Box(ex))(wrapped)
        self.settings(wrapped)()

    # -- running ----------------------------------------------------------------

    def check(self, prop: str) -> None:
        """Run one property: return, or raise :class:`ConformanceFailure` / :class:`PropertySkipped`."""
        method = _PROPERTY_METHODS.get(prop)
        if method is None:
            raise ValueError(f"unknown property {prop!r}; known: {', '.join(PROPERTIES)}")
        try:
            method(self, prop)
        except (ConformanceFailure, PropertySkipped):
            raise
        except Exception as exc:
            # An exception the kit did not anticipate still names the property.
            self.fail(prop, f"unexpected {_err_text(exc)}")

    def run(self, properties: Iterable[str] | None = None) -> ConformanceReport:
        """Run ``properties`` (default: all); collect every outcome in a report."""
        chosen = list(properties) if properties is not None else list(PROPERTIES)
        for p in chosen:
            if p not in _PROPERTY_METHODS:
                raise ValueError(f"unknown property {p!r}; known: {', '.join(PROPERTIES)}")
        report = ConformanceReport(self.driver)
        try:
            for prop in chosen:
                if prop != "registration" and not self.is_registered():
                    report.skipped[prop] = f"driver {self.driver!r} is not registered"
                    if "registration" not in chosen and "registration" not in report.failed:
                        report.failed["registration"] = str(
                            ConformanceFailure(self.driver, "registration", "the driver is not registered")
                        )
                    continue
                try:
                    self.check(prop)
                except ConformanceFailure as exc:
                    report.failed[prop] = str(exc)
                except PropertySkipped as exc:
                    report.skipped[prop] = str(exc)
                else:
                    report.passed.append(prop)
        finally:
            self.close()
        report.notes = list(self.notes)
        return report

    # -- properties ---------------------------------------------------------------

    def _p_registration(self, P: str) -> None:
        rec = self.record()
        if rec is None:
            known = ", ".join(sorted(r.driver_name for r in acomp.algorithms())) or "none"
            self.fail(
                P,
                f"no driver named {self.driver!r} is registered (registered: {known}); is the plugin's "
                "'acomp.plugins' entry point installed, or was the driver refused with an AcompPluginWarning?",
            )
        types: dict[str, tuple[type, ...]] = {
            "alg_name": (str,),
            "driver_name": (str,),
            "priority": (int,),
            "plugin": (str,),
            "batch_size": (int,),
            "async_batching": (bool,),
            "features": (Feature,),
            "wire_format": (str,),
            "module": (str,),
        }
        for name, kinds in types.items():
            value = getattr(rec, name)
            if not isinstance(value, kinds) or (name in ("priority", "batch_size") and isinstance(value, bool)):
                self.fail(P, f"record field {name}={value!r} is not a {kinds[0].__name__}")
            if isinstance(value, str) and not value:
                self.fail(P, f"record field {name} is empty")
        if rec.batch_size < 1:
            self.fail(P, f"record batch_size={rec.batch_size} (must be >= 1)")
        if not (isinstance(rec.driver_cls, type) and issubclass(rec.driver_cls, Driver)):
            self.fail(P, f"record driver_cls {rec.driver_cls!r} is not an acomp.Driver subclass")
        if acomp.get_registry().lookup(self.driver) != rec:
            self.fail(P, f"lookup({self.driver!r}) does not give the listed record")
        same_alg = [r for r in acomp.algorithms() if r.alg_name == rec.alg_name]
        best = acomp.get_registry().lookup(rec.alg_name)
        if best.priority != max(r.priority for r in same_alg):
            self.fail(
                P, f"lookup({rec.alg_name!r}) gave {best.driver_name} (priority {best.priority}), not the highest"
            )
        tfm = self.tfm(P)
        checks = {
            "alg_name": (tfm.alg_name, rec.alg_name),
            "batch_size": (tfm.batch_size, rec.batch_size),
            "has_async_batching": (tfm.has_async_batching, rec.async_batching),
        }
        for name, (got, want) in checks.items():
            if got != want:
                self.fail(P, f"transform {name}={got!r} but the record says {want!r}")
        if not isinstance(tfm.driver, rec.driver_cls):
            self.fail(P, f"the transform's driver is a {type(tfm.driver).__name__}, not {rec.driver_cls.__name__}")
        avail = tfm.available()
        if not isinstance(avail, bool):
            self.fail(P, f"available() returned {avail!r}, not a bool")
        try:
            bad = acomp.alloc(self.driver, **self.params, acomp_conformance_no_such_param=1)
        except AcompError as exc:
            if exc.errno != errno.EINVAL:
                self.fail(P, f"alloc with an unknown parameter failed with {_err_text(exc)}, expected EINVAL")
        except Exception as exc:
            self.fail(P, f"alloc with an unknown parameter raised {_err_text(exc)}, not an AcompError")
        else:
            bad.close()
            self.fail(P, "alloc with an unknown parameter succeeded")

    def _p_round_trip(self, P: str) -> None:
        tfm = self.tfm(P)

        def one(data: bytes) -> None:
            req, err = self._op(P, tfm, "compress", data)
            if err is not None:
                if not data and err.errno in EMPTY_COMPRESS_ERRNOS:
                    return  # refusing an empty source is allowed ('empty input' checks it)
                bound = tfm.driver.compress_bound(len(data))
                self._report_err(
                    P, err, f"compress of {_describe(data)} into a compress_bound({len(data)})={bound}-byte dst", None
                )
            stream = req.output()
            self._decompress_check(P, tfm, stream, data, len(data), _describe(data))
            if len(data) <= acomp.DST_MAX:
                dreq, derr = self._op(P, tfm, "decompress", stream)
                if derr is not None:
                    self._report_err(P, derr, f"decompress of the stream of {_describe(data)} with dst=None", None)
                if dreq.output() != data:
                    self.fail(P, f"decompress with dst=None of the stream of {_describe(data)} gave other bytes")

        big_rand = acst.make_page("random", 7, 16 * PAGE_SIZE)
        examples = [
            b"",
            b"x",
            bytes(PAGE_SIZE),
            acst.make_page("random", 1),
            acst.make_page("text", 1),
            acst.make_page("binary", 1),
            bytes(16 * PAGE_SIZE),
            big_rand,
            b"".join(acst.make_page(k, 3) for k in acst.PAGE_KINDS * 3)[: 16 * PAGE_SIZE],
        ]
        self._given(acst.payloads(max_pages=16), one, *examples)
        # Any buffer type is a source.
        page = acst.make_page("text", 2)
        for src in (bytearray(page), memoryview(page)):
            req, err = self._op(P, tfm, "compress", src)
            if err is not None:
                self._report_err(P, err, f"compress of a page given as {type(src).__name__}", None)
            self._decompress_check(P, tfm, req.output(), page, PAGE_SIZE, f"a page given as {type(src).__name__}")

    def _p_dlen(self, P: str) -> None:
        tfm = self.tfm(P)
        inputs = [acst.make_page(k, 11) for k in acst.PAGE_KINDS]
        inputs += [b"y", acst.make_page("mixed", 12, 16 * PAGE_SIZE)]
        for data in inputs:
            what = _describe(data)
            cap = tfm.driver.compress_bound(len(data)) + 64
            dst = bytearray([_SENTINEL]) * cap
            req, err = self._op(P, tfm, "compress", data, dst=dst)
            if err is not None:
                self._report_err(P, err, f"compress of {what} into a {cap}-byte dst", None)
            n = req.dlen
            if n > cap:
                self.fail(P, f"compress of {what}: dlen={n} exceeds the {cap}-byte dst")
            if any(b != _SENTINEL for b in dst[n:]):
                self.fail(P, f"compress of {what}: bytes past dlen={n} of the dst were written")
            stream = bytes(dst[:n])
            dreq, derr = self._op(P, tfm, "decompress", stream, dst=bytearray([_SENTINEL]) * (len(data) + 64))
            if derr is not None:
                self.fail(
                    P,
                    f"compress of {what} reported dlen={n}, but those {n} bytes do not decompress: {_err_text(derr)}",
                )
            if dreq.dlen != len(data) or bytes(dreq.dst[: dreq.dlen]) != data:
                self.fail(
                    P,
                    f"compress of {what} reported dlen={n}; those bytes decompress to {dreq.dlen} bytes "
                    f"{'that differ from' if dreq.dlen == len(data) else 'instead of'} the {len(data)} input bytes",
                )
            if any(b != _SENTINEL for b in dreq.dst[dreq.dlen :]):
                self.fail(P, f"decompress of the stream of {what}: bytes past dlen={dreq.dlen} were written")
            if self.truncation_detected and n > 0:
                sreq, serr = self._op(P, tfm, "decompress", stream[: n - 1], dst=bytearray(len(data) + 64))
                if serr is None and sreq.output() == data:
                    self.fail(
                        P,
                        f"compress of {what} reported dlen={n}, but its first {n - 1} bytes already "
                        "decompress to the input: dlen is larger than the stream",
                    )

    def _p_dst_bounds(self, P: str) -> None:
        tfm = self.tfm(P)
        overflow = self._overflow_errnos(tfm)
        for seed in (1, 2, 3):
            page = acst.make_page("random", seed)
            for cap in (PAGE_SIZE // 2, 16):
                req, err = self._op(P, tfm, "compress", page, dst=bytearray(cap))
                self._expect_err(P, err, overflow, f"compress of a random page into a {cap}-byte dst", req)
                dreq, derr = self._op(P, tfm, "compress", page, dlen=cap)
                self._expect_err(P, derr, overflow, f"compress of a random page with dst=None, dlen={cap}", dreq)
        for kind in ("text", "binary", "mixed"):
            page = acst.make_page(kind, 5)
            stream = self._compress_ok(P, tfm, page, f"a {kind} page")
            if len(stream) > 1:
                # A driver may fit a smaller dst another way, but never by truncating.
                req, err = self._op(P, tfm, "compress", page, dst=bytearray(len(stream) - 1))
                if err is None:
                    self._decompress_check(P, tfm, req.output(), page, PAGE_SIZE, f"a {kind} page (smaller dst)")
                else:
                    self._expect_err(
                        P,
                        err,
                        overflow,
                        f"compress of a {kind} page into {len(stream) - 1} bytes (needs {len(stream)})",
                    )
            for cap in (PAGE_SIZE - 1, PAGE_SIZE // 2, 1, 0):
                req, err = self._op(P, tfm, "decompress", stream, dst=bytearray(cap))
                self._expect_err(
                    P,
                    err,
                    DECOMPRESS_OVERFLOW_ERRNOS,
                    f"decompress of a {kind} page's stream into a {cap}-byte dst",
                    req,
                )
            req, err = self._op(P, tfm, "decompress", stream, dlen=PAGE_SIZE // 2)
            self._expect_err(
                P,
                err,
                DECOMPRESS_OVERFLOW_ERRNOS,
                f"decompress of a {kind} page's stream with dst=None, dlen=2048",
                req,
            )
            self._decompress_check(P, tfm, stream, page, PAGE_SIZE, f"a {kind} page (exact dst)")

    def _p_corrupt_input(self, P: str) -> None:
        tfm = self.tfm(P)

        def one(cs: acst.CorruptStream) -> None:
            for cap in (len(cs.original), len(cs.original) + PAGE_SIZE):
                _, err = self._op(P, tfm, "decompress", cs.stream, dst=bytearray(cap))
                if err is not None:
                    self._expect_err(
                        P, err, CORRUPT_INPUT_ERRNOS, f"decompress of a corrupt stream ({cs.how}) into {cap} bytes"
                    )

        garbage = [b"\x00" * 16, b"\xff" * 64, acst.make_page("random", 9), bytes(range(256))]
        for junk in garbage:
            one(acst.CorruptStream(b"", junk, f"{len(junk)} junk bytes"))
        self._given(acst.corrupt_streams(tfm), one)

        def truncated(cs: acst.CorruptStream) -> None:
            req, err = self._op(P, tfm, "decompress", cs.stream, dst=bytearray(len(cs.original)))
            what = f"decompress of a stream {cs.how} (input {len(cs.original)} bytes)"
            if err is not None:
                self._expect_err(P, err, CORRUPT_INPUT_ERRNOS, what)
                return
            out = req.output()
            if out == cs.original:
                return  # only redundant bytes were cut
            if self.truncation_detected:
                self.fail(
                    P,
                    f"{what}: succeeded with {req.dlen} bytes; a truncated stream must fail with errno in "
                    f"{_names(CORRUPT_INPUT_ERRNOS)} (declare truncation_detected=False for a format "
                    "without an end marker)",
                )
            if req.dlen == len(cs.original):
                self.fail(P, f"{what}: succeeded with {req.dlen} bytes of the input's length but other content")

        # A sweep over cut points: a format that misses some truncations misses few.
        for kind in ("text", "binary", "mixed", "zero"):
            page = acst.make_page(kind, 60, 2 * PAGE_SIZE)
            stream = self._compress_ok(P, tfm, page, f"a 2-page {kind} input")
            n = len(stream)
            cuts = sorted(set(range(0, n, max(1, n // 256))) | set(range(max(0, n - 32), n)))
            for cut in cuts:
                truncated(acst.CorruptStream(page, stream[:cut], f"truncated to {cut} of {n} bytes"))
        self._given(acst.truncated_streams(tfm), truncated)

    def _bomb_stream(self, P: str, tfm: Transform) -> bytes:
        bomb = bytes(BOMB_SIZE)
        req, err = self._op(P, tfm, "compress", bomb)
        if err is None:
            return req.output()
        for rec in acomp.algorithms():
            if rec.wire_format == tfm.record.wire_format and rec.driver_name != self.driver:
                try:
                    return acomp.compress(bomb, rec.driver_name)
                except AcompError:
                    continue
        raise PropertySkipped(f"cannot build a {BOMB_SIZE}-byte bomb: compress failed with {_err_text(err)}")

    def _p_decompression_bomb(self, P: str) -> None:
        tfm = self.tfm(P)
        stream = self._bomb_stream(P, tfm)
        page_stream = self._compress_ok(P, tfm, bytes(PAGE_SIZE), "a zero page")
        what = f"decompress of {BOMB_SIZE} zero bytes ({len(stream)}-byte stream) into a {PAGE_SIZE}-byte dst"

        def traced(src: bytes) -> tuple[Request, AcompError | None, int]:
            was_tracing = tracemalloc.is_tracing()
            if not was_tracing:
                tracemalloc.start()
            try:
                tracemalloc.reset_peak()
                before = tracemalloc.get_traced_memory()[0]
                req, err = self._op(P, tfm, "decompress", src, dst=bytearray(PAGE_SIZE))
                peak = tracemalloc.get_traced_memory()[1] - before
            finally:
                if not was_tracing:
                    tracemalloc.stop()
            return req, err, peak

        # tracemalloc sees every thread: take the least of 3 runs, so another thread's
        # allocations cannot fake a bomb (a real one allocates its output every time).
        baseline = min(traced(page_stream)[2] for _ in range(3))
        req, err, peak = traced(stream)
        self._expect_err(P, err, DECOMPRESS_OVERFLOW_ERRNOS, what, req)
        for _ in range(2):
            if peak - baseline < BOMB_SLACK:
                break
            peak = min(peak, traced(stream)[2])
        if peak - baseline >= BOMB_SLACK:
            self.fail(
                P,
                f"{what}: the Python heap peaked at {peak // 1024} KiB during the call, {baseline // 1024} KiB "
                f"for a one-page decompression: output must be bounded by the dst, not inflated first",
            )
        req2, err2 = self._op(P, tfm, "decompress", stream, dlen=PAGE_SIZE)
        self._expect_err(P, err2, DECOMPRESS_OVERFLOW_ERRNOS, f"{what} (dst=None, dlen={PAGE_SIZE})", req2)

    def _p_empty_input(self, P: str) -> None:
        tfm = self.tfm(P)
        for src in (b"", bytearray(), memoryview(b"")):
            kind = type(src).__name__
            req, err = self._op(P, tfm, "compress", src)
            if err is not None:
                self._expect_err(P, err, EMPTY_COMPRESS_ERRNOS, f"compress of an empty {kind}")
                continue
            stream = req.output()
            for cap in (0, PAGE_SIZE):
                dreq, derr = self._op(P, tfm, "decompress", stream, dst=bytearray(cap))
                if derr is not None:
                    self._report_err(
                        P,
                        derr,
                        f"decompress of the {len(stream)}-byte stream of an empty {kind} into {cap} bytes",
                        None,
                    )
                if dreq.dlen != 0:
                    self.fail(P, f"the stream of an empty {kind} decompressed to {dreq.dlen} bytes")
            creq, cerr = self._op(P, tfm, "compress", src, dst=bytearray(0))
            if cerr is not None:
                self._expect_err(
                    P,
                    cerr,
                    self._overflow_errnos(tfm) | EMPTY_COMPRESS_ERRNOS,
                    f"compress of an empty {kind} into 0 bytes",
                )
            elif creq.dlen != 0:
                self.fail(P, f"compress of an empty {kind} into a 0-byte dst reported dlen={creq.dlen}")
        for cap in (0, PAGE_SIZE):
            dreq, derr = self._op(P, tfm, "decompress", b"", dst=bytearray(cap))
            if derr is not None:
                self._expect_err(P, derr, CORRUPT_INPUT_ERRNOS, f"decompress of an empty stream into {cap} bytes")
            elif dreq.dlen != 0:
                self.fail(P, f"decompress of an empty stream produced {dreq.dlen} bytes")

    # -- batches and chains ---------------------------------------------------------

    def _make_reqs(self, planted: Sequence[acst.PlantedRequest]) -> list[Request]:
        return [Request(p.src, dst=bytearray([_SENTINEL]) * p.capacity) for p in planted]

    def _check_planted(
        self,
        P: str,
        tfm: Transform,
        op: str,
        planted: Sequence[acst.PlantedRequest],
        reqs: Sequence[Request],
        how: str,
    ) -> None:
        n = len(reqs)
        for i, (p, r) in enumerate(zip(planted, reqs)):
            what = f"{how}: request {i} of {n} ({p.describe()})"
            if not r.done:
                self.fail(P, f"{what}: not completed")
            err = r.err
            if err is not None and not isinstance(err, AcompError):
                self.fail(P, f"{what}: req.err is {err!r}, not an AcompError")
            if p.expect == "ok":
                if err is not None:
                    self._report_err(P, err, what, None)
                out = r.output()
                if op == "compress":
                    back, berr = self._op(P, tfm, "decompress", out, dst=bytearray(len(p.original)))
                    if berr is not None or back.output() != p.original:
                        self.fail(P, f"{what}: its output (dlen={r.dlen}) does not decompress to its own source")
                elif out != p.original:
                    self.fail(P, f"{what}: gave {r.dlen} bytes that are not its own source's data")
                if any(b != _SENTINEL for b in r.dst[r.dlen :]):
                    self.fail(P, f"{what}: bytes past dlen={r.dlen} were written")
                continue
            if p.expect == "nospace":
                allowed = self._overflow_errnos(tfm) if op == "compress" else DECOMPRESS_OVERFLOW_ERRNOS
                self._expect_err(P, err, allowed, what, r)
            elif err is not None or self.truncation_detected:
                self._expect_err(P, err, CORRUPT_INPUT_ERRNOS, what, r)
            elif r.dlen >= len(p.original):
                self.fail(P, f"{what}: a truncated stream decoded to {r.dlen} bytes without an error")
            if err is not None and r.dlen != 0:
                self.fail(P, f"{what}: failed with {err.errname} but dlen={r.dlen}")

    def _run_batch(
        self, P: str, tfm: Transform, op: Literal["compress", "decompress"], planted: list[acst.PlantedRequest]
    ) -> None:
        reqs = self._make_reqs(planted)
        fn = tfm.batch_compress if op == "compress" else tfm.batch_decompress
        how = f"batch_{op} of {len(reqs)}"
        try:
            ok = fn(reqs)
        except AcompError as exc:
            self.fail(P, f"{how} raised {_err_text(exc)}; per-request errors belong in req.err")
        except Exception as exc:
            self.fail(P, f"{how} raised {_err_text(exc)}, not an AcompError")
        self._check_planted(P, tfm, op, planted, reqs, how)
        want = all(r.err is None for r in reqs)
        if ok is not want:
            self.fail(P, f"{how} returned {ok!r} but {sum(r.err is not None for r in reqs)} request(s) failed")

    def _p_batch(self, P: str) -> None:
        tfm = self.tfm(P)
        size = tfm.batch_size
        ops: tuple[Literal["compress", "decompress"], ...] = ("compress", "decompress")
        for op in ops:
            fn = tfm.batch_compress if op == "compress" else tfm.batch_decompress
            self._given(
                acst.planted_batches(tfm, op, min_size=1, max_size=size),
                functools.partial(self._run_batch, P, tfm, op),
            )
            # Too many requests: EINVAL, nothing processed.
            page = acst.make_page("text", 4)
            src = page if op == "compress" else self._compress_ok(P, tfm, page)
            over = [Request(src, dst=bytearray(2 * PAGE_SIZE)) for _ in range(size + 1)]
            try:
                fn(over)
            except AcompError as exc:
                if exc.errno != errno.EINVAL:
                    self.fail(P, f"batch_{op} of batch_size+1={size + 1} failed with {_err_text(exc)}, expected EINVAL")
            except Exception as exc:
                self.fail(P, f"batch_{op} of batch_size+1={size + 1} raised {_err_text(exc)}, expected EINVAL")
            else:
                self.fail(P, f"batch_{op} of batch_size+1={size + 1} requests was accepted (must raise EINVAL)")
            try:
                empty_ok = fn([])
            except Exception as exc:
                self.fail(P, f"batch_{op} of 0 requests raised {_err_text(exc)}")
            if empty_ok is not True:
                self.fail(P, f"batch_{op} of 0 requests returned {empty_ok!r}, expected True")

    def _run_chain(
        self, P: str, tfm: Transform, op: Literal["compress", "decompress"], planted: list[acst.PlantedRequest]
    ) -> None:
        reqs = self._make_reqs(planted)
        head = reqs[0]
        for r in reqs[1:]:
            acomp.request_chain(r, head)
        how = f"sync chain of {len(reqs)} ({op})"
        try:
            (tfm.compress if op == "compress" else tfm.decompress)(head)
        except AcompError as exc:
            self.fail(P, f"{how}: submitting the head raised {_err_text(exc)}; a chain sets each req.err")
        except Exception as exc:
            self.fail(P, f"{how}: submitting the head raised {_err_text(exc)}, not an AcompError")
        self._check_planted(P, tfm, op, planted, reqs, how)

    def _p_chain(self, P: str) -> None:
        tfm = self.tfm(P)
        top = max(3, 2 * tfm.batch_size + 1)
        ops: tuple[Literal["compress", "decompress"], ...] = ("compress", "decompress")
        for op in ops:
            self._given(
                acst.planted_batches(tfm, op, min_size=2, max_size=top),
                functools.partial(self._run_chain, P, tfm, op),
            )

    def _p_segmentation(self, P: str) -> None:
        tfm = self.tfm(P)
        overflow = self._overflow_errnos(tfm)
        layouts = [
            ["text"],
            ["random"],
            ["zero", "random", "text", "binary"],
            ["mixed", "random"] * (tfm.batch_size // 2 + 1),
        ]
        for li, kinds in enumerate(layouts):
            pages = [acst.make_page(k, 20 + i + 10 * li) for i, k in enumerate(kinds)]
            caps = [PAGE_SIZE // 2 if k == "random" else tfm.driver.compress_bound(PAGE_SIZE) for k in kinds]
            dsts = [bytearray(c) for c in caps]
            req = Request(b"".join(pages), dst=dsts, unit_size=PAGE_SIZE)
            how = f"segmented compress of a {len(pages)}-page folio ({', '.join(kinds)})"
            try:
                tfm.compress(req)
            except Exception as exc:
                self.fail(P, f"{how} raised {_err_text(exc)}; units report errors in seg_dlens")
            dlens = req.seg_dlens
            if dlens is None or len(dlens) != len(pages):
                self.fail(P, f"{how}: seg_dlens={dlens!r}, expected {len(pages)} entries")
            for i, (kind, page, d, dst) in enumerate(zip(kinds, pages, dlens, dsts)):
                what = f"{how}: unit {i} ({kind} page, {len(dst)}-byte dst)"
                if kind == "random":
                    if d >= 0 or -d not in overflow:
                        self.fail(P, f"{what}: seg_dlen={d}, expected -errno with errno in {_names(overflow)}")
                    continue
                if d < 0:
                    self.fail(P, f"{what}: failed with -{_errname(-d)}")
                self._decompress_check(P, tfm, bytes(dst[:d]), page, PAGE_SIZE, what)

    # -- concurrency ------------------------------------------------------------------

    def _threads(self, P: str, label: str, work: Callable[[int], None], n: int = 4) -> None:
        errors: list[str] = []
        barrier = threading.Barrier(n)

        def body(i: int) -> None:
            try:
                barrier.wait(HANG_GUARD)
                work(i)
            except ConformanceFailure as exc:
                errors.append(f"thread {i}: {exc.detail}")
            except BaseException as exc:
                errors.append(f"thread {i}: {_err_text(exc)}")

        threads = [threading.Thread(target=body, args=(i,), name=f"acomp-kit-{i}", daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + HANG_GUARD
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in threads):
            self.fail(P, f"{label}: threads still running after {HANG_GUARD:.0f} s (deadlock or lost completion?)")
        if errors:
            self.fail(P, f"{label}: {errors[0]}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))

    def _round_trip_loop(self, P: str, tfm: Transform, i: int, iterations: int = 12) -> None:
        for j in range(iterations):
            kind = acst.PAGE_KINDS[(i + j) % len(acst.PAGE_KINDS)]
            data = acst.make_page(kind, 1000 * i + j, PAGE_SIZE * (1 + j % 3))
            stream = self._compress_ok(P, tfm, data, f"a {len(data)}-byte {kind} input")
            self._decompress_check(P, tfm, stream, data, len(data), f"a {len(data)}-byte {kind} input")

    def _batch_loop(self, P: str, tfm: Transform, i: int, iterations: int = 4) -> None:
        size = tfm.batch_size
        for j in range(iterations):
            pages = [
                acst.make_page(acst.PAGE_KINDS[k % len(acst.PAGE_KINDS)], 7919 * i + 31 * j + k) for k in range(size)
            ]
            reqs = [Request(p, dst=bytearray(tfm.driver.compress_bound(PAGE_SIZE))) for p in pages]
            if not tfm.batch_compress(reqs):
                bad = next(r for r in reqs if r.err is not None)
                assert bad.err is not None
                self._report_err(P, bad.err, f"concurrent batch_compress of {size} pages", None)
            outs = [Request(r.output(), dst=bytearray(PAGE_SIZE)) for r in reqs]
            if not tfm.batch_decompress(outs):
                bad = next(r for r in outs if r.err is not None)
                assert bad.err is not None
                self._report_err(P, bad.err, f"concurrent batch_decompress of {size} streams", None)
            for k, (p, r) in enumerate(zip(pages, outs)):
                if r.output() != p:
                    self.fail(P, f"concurrent batch of {size}: request {k} round-tripped to other data")

    def _p_thread_safety(self, P: str) -> None:
        shared = self.tfm(P)
        own: list[Transform] = [self.new_tfm(P) for _ in range(4)]
        try:
            self._threads(P, "4 threads, one transform each", lambda i: self._round_trip_loop(P, own[i], i))
            self._threads(P, "4 threads sharing one transform", lambda i: self._round_trip_loop(P, shared, i + 10))
            if shared.batch_size > 1:
                self._threads(P, "4 threads batching on one shared transform", lambda i: self._batch_loop(P, shared, i))
                self._threads(
                    P, "4 threads batching, one transform each", lambda i: self._batch_loop(P, own[i], i + 10)
                )
        finally:
            for t in own:
                t.close()

    def _wait(self, P: str, req: Request, what: str) -> None:
        if not req.wait(HANG_GUARD):
            self.fail(P, f"{what}: not completed after {HANG_GUARD:.0f} s (lost completion?)")

    def _poll(self, P: str, tfm: Transform, req: Request, what: str) -> int:
        deadline = time.monotonic() + HANG_GUARD
        while True:
            rc = tfm.poll(req)
            if rc != -errno.EAGAIN:
                return rc
            if time.monotonic() > deadline:
                self.fail(P, f"{what}: poll still says EAGAIN after {HANG_GUARD:.0f} s (lost completion?)")
            time.sleep(0.0005)

    def _submit(self, P: str, tfm: Transform, req: Request, op: Literal["compress", "decompress"], what: str) -> None:
        try:
            rc = tfm.submit(req, op)
        except AcompError as exc:
            self.fail(P, f"{what}: submit raised {_err_text(exc)}")
        except Exception as exc:
            self.fail(P, f"{what}: submit raised {_err_text(exc)}, not an AcompError")
        if rc not in (errno.EINPROGRESS, errno.EBUSY):
            self.fail(P, f"{what}: submit returned {rc!r}, expected EINPROGRESS or EBUSY")

    def _p_async(self, P: str) -> None:
        tfm = self.tfm(P)
        calls: dict[int, int] = {}
        lock = threading.Lock()
        tracked: list[tuple[Request, str]] = []

        def callback(r: Request) -> None:
            with lock:
                calls[id(r)] = calls.get(id(r), 0) + 1

        def track(req: Request, what: str) -> Request:
            req.callback = callback
            tracked.append((req, what))
            return req

        def recount() -> None:
            # Grace period for late duplicate completions, then exactly once each.
            time.sleep(0.05)
            with lock:
                for r, what in tracked:
                    if calls.get(id(r), 0) != 1:
                        self.fail(P, f"{what}: the callback ran {calls.get(id(r), 0)} times, expected exactly once")

        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            try:
                self._async_body(P, tfm, track)
            except ConformanceFailure:
                recount()  # a double completion garbles the request: report the cause
                raise
            recount()
        for w in seen:
            if "completed a request twice" in str(w.message):
                self.fail(P, f"the driver completed a request twice (the core ignored the second): {w.message}")

    def _async_body(self, P: str, tfm: Transform, track: Callable[[Request, str], Request]) -> None:
        page = acst.make_page("text", 30)
        # callback
        c = track(Request(page), "async compress (callback)")
        self._submit(P, tfm, c, "compress", "async compress")
        self._wait(P, c, "async compress")
        if c.err is not None:
            self._report_err(P, c.err, "async compress of a text page", None)
        stream = c.output()
        # poll
        d = track(Request(stream, dst=bytearray(PAGE_SIZE), flags=RequestFlags.POLL), "async decompress (poll)")
        self._submit(P, tfm, d, "decompress", "async decompress with POLL")
        rc = self._poll(P, tfm, d, "async decompress with POLL")
        if rc != 0:
            self.fail(P, f"async decompress with POLL: poll returned {rc} ({d.err!r}), expected 0")
        if d.output() != page:
            self.fail(P, "async decompress with POLL: output differs from the input")
        # failures arrive in req.err, by callback and by poll
        overflow = self._overflow_errnos(tfm)
        f = track(Request(acst.make_page("random", 31), dst=bytearray(PAGE_SIZE // 2)), "async compress (fails)")
        self._submit(P, tfm, f, "compress", "async compress of a random page into 2048 bytes")
        self._wait(P, f, "async compress of a random page into 2048 bytes")
        self._expect_err(P, f.err, overflow, "async compress of a random page into 2048 bytes", f)
        g = track(
            Request(stream[: len(stream) // 2], dst=bytearray(PAGE_SIZE), flags=RequestFlags.POLL),
            "async decompress (fails)",
        )
        self._submit(P, tfm, g, "decompress", "async decompress of a truncated stream")
        rc = self._poll(P, tfm, g, "async decompress of a truncated stream")
        if g.err is not None:
            self._expect_err(P, g.err, CORRUPT_INPUT_ERRNOS, "async decompress of a truncated stream")
            if rc != -g.err.errno:
                self.fail(P, f"async decompress of a truncated stream: poll returned {rc}, req.err is {g.err!r}")
        elif self.truncation_detected:
            self.fail(P, "async decompress of a truncated stream succeeded")
        # an async chain: every request completes with its own outcome
        planted = [
            acst.PlantedRequest(stream, PAGE_SIZE, "ok", page, "text page's stream"),
            acst.PlantedRequest(stream, PAGE_SIZE // 4, "nospace", page, "text page's stream"),
            acst.PlantedRequest(stream, PAGE_SIZE + 1, "ok", page, "text page's stream"),
            acst.PlantedRequest(stream[: len(stream) // 2], PAGE_SIZE, "corrupt", page, "truncated stream"),
        ]
        reqs = self._make_reqs(planted)
        for i, r in enumerate(reqs):
            track(r, f"async chain request {i}")
            if i:
                acomp.request_chain(r, reqs[0])
        reqs[0].flags = RequestFlags.POLL
        self._submit(P, tfm, reqs[0], "decompress", "async chain of 4")
        self._poll(P, tfm, reqs[0], "async chain of 4")
        for r in reqs:
            self._wait(P, r, "async chain of 4")
        self._check_planted(P, tfm, "decompress", planted, reqs, "async chain of 4")
        # asyncio
        self._aio(P, tfm, page)

    def _aio(self, P: str, tfm: Transform, page: bytes) -> None:
        async def go() -> str | None:
            r1 = Request(page)
            n = await acomp.aio.compress(tfm, r1)
            if n != r1.dlen or r1.err is not None:
                return f"await aio.compress returned {n}, dlen={r1.dlen}, err={r1.err!r}"
            r2 = Request(r1.output(), dst=bytearray(PAGE_SIZE))
            m = await acomp.aio.decompress(tfm, r2)
            if m != PAGE_SIZE or r2.output() != page:
                return f"await aio.decompress returned {m} bytes, not the {PAGE_SIZE}-byte input"
            r3 = Request(acst.make_page("random", 32), dst=bytearray(64))
            try:
                await acomp.aio.compress(tfm, r3)
            except AcompError as exc:
                if exc.errno not in self._overflow_errnos(tfm):
                    return f"await aio.compress into 64 bytes raised {_err_text(exc)}"
                return None
            return "await aio.compress of a random page into 64 bytes succeeded"

        async def guarded() -> str | None:
            return await asyncio.wait_for(go(), HANG_GUARD)

        result: list[str | None] = []
        errors: list[BaseException] = []

        def in_thread() -> None:
            try:
                result.append(asyncio.run(guarded()))
            except BaseException as exc:
                errors.append(exc)

        # A fresh event loop on a thread of its own: works even when called from a running loop.
        t = threading.Thread(target=in_thread, name="acomp-kit-aio", daemon=True)
        t.start()
        t.join(HANG_GUARD + 5)
        if t.is_alive():
            self.fail(P, "await acomp.aio.compress did not finish (lost completion?)")
        if errors:
            exc = errors[0]
            if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
                self.fail(P, f"await acomp.aio.* not completed after {HANG_GUARD:.0f} s")
            self.fail(P, f"await acomp.aio.*: {_err_text(exc)}")
        if result and result[0] is not None:
            self.fail(P, result[0])

    def _p_capabilities(self, P: str) -> None:
        tfm = self.tfm(P)
        rec = tfm.record
        cls = type(tfm.driver)
        has_hook = cls.batch_compress is not Driver.batch_compress
        native_submit = cls.submit is not Driver.submit
        if rec.batch_size > 1:
            if not has_hook:
                self.fail(P, f"batch_size={rec.batch_size} claimed without a batch_compress hook")
            if cls.batch_decompress is Driver.batch_decompress:
                self.notes.append(f"{self.driver}: batch_decompress is the default loop (batch_compress is native)")
            pages = [acst.make_page(acst.PAGE_KINDS[k % len(acst.PAGE_KINDS)], 40 + k) for k in range(rec.batch_size)]
            planted = [acst.PlantedRequest(p, tfm.driver.compress_bound(PAGE_SIZE), "ok", p) for p in pages]
            self._run_batch(P, tfm, "compress", planted)
        if rec.async_batching:
            if rec.batch_size <= 1:
                self.fail(P, "async_batching claimed with batch_size=1: there is no batch to run in parallel")
            if not has_hook:
                self.fail(P, "async_batching claimed without a batch_compress hook")
            if Feature.ASYNC not in rec.features and not native_submit:
                # No device of its own: its batch hook must at least run batches correctly
                # when several threads batch at once (it claims to run them in parallel).
                self._threads(
                    P, "async_batching: 3 threads batching at once", lambda i: self._batch_loop(P, tfm, i + 20, 2), n=3
                )
        if Feature.ASYNC in rec.features and not native_submit:
            self.fail(P, "Feature.ASYNC claimed but the driver does not override submit()")
        if Feature.REQ_CHAIN in rec.features and rec.batch_size == 1:
            self.notes.append(f"{self.driver}: Feature.REQ_CHAIN with batch_size=1 has no effect")
        for n in (0, PAGE_SIZE, 64 * PAGE_SIZE):
            bound = tfm.driver.compress_bound(n)
            if not isinstance(bound, int) or bound < 0:
                self.fail(P, f"compress_bound({n}) returned {bound!r}, not a non-negative int")

    def _p_wire_format(self, P: str) -> None:
        tfm = self.tfm(P)
        siblings = [
            r for r in acomp.algorithms() if r.wire_format == tfm.record.wire_format and r.driver_name != self.driver
        ]
        if not siblings:
            raise PropertySkipped(f"no other driver has wire format {tfm.record.wire_format!r}")
        inputs = [acst.make_page(k, 50) for k in ("text", "zero", "random", "mixed")]
        inputs.append(acst.make_page("binary", 51, 4 * PAGE_SIZE))
        checked = 0
        for rec in siblings:
            try:
                other = acomp.alloc(rec.driver_name)
            except AcompError as exc:
                self.notes.append(f"{self.driver}: wire format: cannot allocate {rec.driver_name}: {_err_text(exc)}")
                continue
            try:
                if not other.available():
                    self.notes.append(f"{self.driver}: wire format: {rec.driver_name} is not available")
                    continue
                for data in inputs:
                    what = _describe(data)
                    mine = self._compress_ok(P, tfm, data)
                    r, e = self._op(P, other, "decompress", mine, dst=bytearray(len(data)))
                    if e is not None or r.output() != data:
                        got = _err_text(e) if e is not None else f"{r.dlen} other bytes"
                        self.fail(P, f"{rec.driver_name} cannot read this driver's stream of {what}: {got}")
                    theirs, te = self._op(P, other, "compress", data)
                    if te is not None:
                        continue  # the sibling's own problem; its kit run reports it
                    r2, e2 = self._op(P, tfm, "decompress", theirs.output(), dst=bytearray(len(data)))
                    if e2 is not None or r2.output() != data:
                        got = _err_text(e2) if e2 is not None else f"{r2.dlen} other bytes"
                        self.fail(P, f"cannot read {rec.driver_name}'s stream of {what}: {got}")
                checked += 1
            finally:
                other.close()
        if not checked:
            raise PropertySkipped("no other driver of this wire format could be allocated")


_PROPERTY_METHODS: dict[str, Callable[[DriverConformance, str], None]] = {
    "registration": DriverConformance._p_registration,
    "round trip": DriverConformance._p_round_trip,
    "dlen": DriverConformance._p_dlen,
    "dst bounds": DriverConformance._p_dst_bounds,
    "corrupt input": DriverConformance._p_corrupt_input,
    "decompression bomb": DriverConformance._p_decompression_bomb,
    "empty input": DriverConformance._p_empty_input,
    "batch": DriverConformance._p_batch,
    "chain": DriverConformance._p_chain,
    "segmentation": DriverConformance._p_segmentation,
    "thread safety": DriverConformance._p_thread_safety,
    "async": DriverConformance._p_async,
    "capabilities": DriverConformance._p_capabilities,
    "wire format": DriverConformance._p_wire_format,
}
assert tuple(_PROPERTY_METHODS) == PROPERTIES


def check_driver(
    driver: str,
    *,
    params: Mapping[str, object] | None = None,
    properties: Iterable[str] | None = None,
    truncation_detected: bool = True,
    profile: str | None = None,
    max_examples: int | None = None,
    shrink: bool = False,
) -> ConformanceReport:
    """Run the conformance kit on the registered driver ``driver`` (a driver name).

    Returns the :class:`ConformanceReport` when every property held (skipped
    ones are listed in it); raises :class:`ConformanceError` naming each
    failed property otherwise.  ``properties`` restricts the run (names from
    :data:`PROPERTIES`); ``params`` go to :func:`acomp.alloc`;
    ``truncation_detected=False`` for a wire format without an end marker;
    ``profile`` (``ci``, ``dev``, ``thorough``) or ``max_examples`` set the
    hypothesis budget (default: ``$HYPOTHESIS_PROFILE``, else ``ci`` under CI, else ``dev``);
    ``shrink=True`` shrinks a failing example before reporting it.
    """
    kit = DriverConformance(
        driver,
        params=params,
        truncation_detected=truncation_detected,
        profile=profile,
        max_examples=max_examples,
        shrink=shrink,
    )
    report = kit.run(properties)
    if report.failed:
        raise ConformanceError(report)
    return report


class ConformanceSuite:
    """The kit as a pytest class: one test per property.

    Subclass it in a test module under a ``Test*`` name and set ``driver``::

        class TestMine(acomp.testing.ConformanceSuite):
            driver = "mydrv-generic"
            params = {"level": 3}          # optional, for acomp.alloc
            truncation_detected = True     # False for a format without an end marker
            skip_if_missing = False        # True: skip (not fail) when the driver is not registered

    The hypothesis budget follows ``$HYPOTHESIS_PROFILE`` (``ci``/``dev``/``thorough``)
    unless ``hypothesis_profile`` or ``max_examples`` is set on the class;
    ``shrink = True`` shrinks failing examples before reporting them.
    """

    driver: ClassVar[str] = ""
    params: ClassVar[Mapping[str, object]] = {}
    truncation_detected: ClassVar[bool] = True
    skip_if_missing: ClassVar[bool] = False
    hypothesis_profile: ClassVar[str | None] = None
    max_examples: ClassVar[int | None] = None
    shrink: ClassVar[bool] = False

    @classmethod
    def conformance(cls) -> DriverConformance:
        """This class's kit (one per class, so one transform per class)."""
        kit = cls.__dict__.get("_acomp_kit")
        if not isinstance(kit, DriverConformance):
            if not cls.driver:
                raise TypeError(f"{cls.__name__}: set the class attribute 'driver' to a driver name")
            kit = DriverConformance(
                cls.driver,
                params=cls.params,
                truncation_detected=cls.truncation_detected,
                profile=cls.hypothesis_profile,
                max_examples=cls.max_examples,
                shrink=cls.shrink,
            )
            cls._acomp_kit = kit  # type: ignore[attr-defined]
        return kit

    @classmethod
    def teardown_class(cls) -> None:
        kit = cls.__dict__.get("_acomp_kit")
        if isinstance(kit, DriverConformance):
            kit.close()

    def check_property(self, prop: str) -> None:
        """Run one property; a skipped property (or a missing driver with ``skip_if_missing``) skips."""
        import pytest

        kit = self.conformance()
        if self.skip_if_missing and not kit.is_registered():
            pytest.skip(f"driver {kit.driver!r} is not registered")
        try:
            kit.check(prop)
        except PropertySkipped as exc:
            pytest.skip(f"{kit.driver}: property '{prop}': {exc}")

    def test_registration(self) -> None:
        self.check_property("registration")

    def test_round_trip(self) -> None:
        self.check_property("round trip")

    def test_dlen(self) -> None:
        self.check_property("dlen")

    def test_dst_bounds(self) -> None:
        self.check_property("dst bounds")

    def test_corrupt_input(self) -> None:
        self.check_property("corrupt input")

    def test_decompression_bomb(self) -> None:
        self.check_property("decompression bomb")

    def test_empty_input(self) -> None:
        self.check_property("empty input")

    def test_batch(self) -> None:
        self.check_property("batch")

    def test_chain(self) -> None:
        self.check_property("chain")

    def test_segmentation(self) -> None:
        self.check_property("segmentation")

    def test_thread_safety(self) -> None:
        self.check_property("thread safety")

    def test_async(self) -> None:
        self.check_property("async")

    def test_capabilities(self) -> None:
        self.check_property("capabilities")

    def test_wire_format(self) -> None:
        self.check_property("wire format")
