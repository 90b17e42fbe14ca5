"""Driver-level properties: its registration, the capabilities its record claims, its wire format."""

from __future__ import annotations

import errno

import acomp
from acomp.driver import Driver, Feature
from acomp.errors import AcompError
from acomp.query import query
from acomp.request import PAGE_SIZE
from acomp.testing import strategies as acst
from acomp.testing.conformance._base import _describe, _err_text
from acomp.testing.conformance._concurrency import ConcurrencyProperties
from acomp.testing.conformance._outcomes import PropertySkipped
from acomp.transform import Transform


class CapabilityProperties(ConcurrencyProperties):
    """registration, capabilities, wire format."""

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
            self.fail(P, f"record driver_cls {rec.driver_cls!r} is not an acomp.driver.Driver subclass")
        if acomp.registry.get_registry().lookup(self.driver) != rec:
            self.fail(P, f"lookup({self.driver!r}) does not give the listed record")
        same_alg = [r for r in acomp.algorithms() if r.alg_name == rec.alg_name]
        best = acomp.registry.get_registry().lookup(rec.alg_name)
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
        fmt = tfm.record.wire_format
        siblings = query(wire_format=fmt, exclude=frozenset({self.driver}), available=False)
        if not siblings:
            raise PropertySkipped(f"no other driver has wire format {fmt!r}")
        inputs = [acst.make_page(k, 50) for k in ("text", "zero", "random", "mixed")]
        inputs.append(acst.make_page("binary", 51, 4 * PAGE_SIZE))
        checked = 0
        for rec in siblings:
            try:
                other = acomp.alloc(rec.driver_name)
            except AcompError as exc:
                self.notes.append(f"{self.driver}: wire format: cannot allocate {rec.driver_name}: {_err_text(exc)}")
                continue
            with other:
                if not other.available():
                    self.notes.append(f"{self.driver}: wire format: {rec.driver_name} is not available")
                    continue
                for data in inputs:
                    self._cross_read(P, tfm, other, data)
                checked += 1
        if not checked:
            raise PropertySkipped("no other driver of this wire format could be allocated")

    def _cross_read(self, P: str, tfm: Transform, other: Transform, data: bytes) -> None:
        """Each of the two transforms reads the other's stream of ``data``."""
        what = _describe(data)
        mine = self._compress_ok(P, tfm, data)
        r, e = self._op(P, other, "decompress", mine, dst=bytearray(len(data)))
        if e is not None or r.output() != data:
            got = _err_text(e) if e is not None else f"{r.dlen} other bytes"
            self.fail(P, f"{other.driver_name} cannot read this driver's stream of {what}: {got}")
        theirs, te = self._op(P, other, "compress", data)
        if te is not None:
            return  # the sibling's own problem; its kit run reports it
        r2, e2 = self._op(P, tfm, "decompress", theirs.output(), dst=bytearray(len(data)))
        if e2 is not None or r2.output() != data:
            got = _err_text(e2) if e2 is not None else f"{r2.dlen} other bytes"
            self.fail(P, f"cannot read {other.driver_name}'s stream of {what}: {got}")
