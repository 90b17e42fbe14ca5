"""Driver-level properties: its registration, the capabilities its record claims, its wire format."""

from __future__ import annotations

import errno

import acomp
from acomp.driver import Driver, Feature
from acomp.errors import AcompError
from acomp.query import query
from acomp.request import PAGE_SIZE
from acomp.testing import strategies as acst
from acomp.testing.conformance._concurrency import batch_loop
from acomp.testing.conformance._kit import Kit, describe, err_text
from acomp.testing.conformance._outcomes import PropertySkipped
from acomp.testing.conformance._requests import run_batch
from acomp.transform import Transform


def registration(kit: Kit) -> None:
    rec = kit.record()
    if rec is None:
        known = ", ".join(sorted(r.driver_name for r in acomp.algorithms())) or "none"
        kit.fail(
            f"no driver named {kit.driver!r} is registered (registered: {known}); is the plugin's "
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
            kit.fail(f"record field {name}={value!r} is not a {kinds[0].__name__}")
        if isinstance(value, str) and not value:
            kit.fail(f"record field {name} is empty")
    if rec.batch_size < 1:
        kit.fail(f"record batch_size={rec.batch_size} (must be >= 1)")
    if not (isinstance(rec.driver_cls, type) and issubclass(rec.driver_cls, Driver)):
        kit.fail(f"record driver_cls {rec.driver_cls!r} is not an acomp.driver.Driver subclass")
    if acomp.registry.get_registry().lookup(kit.driver) != rec:
        kit.fail(f"lookup({kit.driver!r}) does not give the listed record")
    same_alg = [r for r in acomp.algorithms() if r.alg_name == rec.alg_name]
    best = acomp.registry.get_registry().lookup(rec.alg_name)
    if best.priority != max(r.priority for r in same_alg):
        kit.fail(f"lookup({rec.alg_name!r}) gave {best.driver_name} (priority {best.priority}), not the highest")
    tfm = kit.tfm()
    checks = {
        "alg_name": (tfm.alg_name, rec.alg_name),
        "batch_size": (tfm.batch_size, rec.batch_size),
        "has_async_batching": (tfm.has_async_batching, rec.async_batching),
    }
    for name, (got, want) in checks.items():
        if got != want:
            kit.fail(f"transform {name}={got!r} but the record says {want!r}")
    if not isinstance(tfm.driver, rec.driver_cls):
        kit.fail(f"the transform's driver is a {type(tfm.driver).__name__}, not {rec.driver_cls.__name__}")
    avail = tfm.available()
    if not isinstance(avail, bool):
        kit.fail(f"available() returned {avail!r}, not a bool")
    try:
        bad = acomp.alloc(kit.driver, **kit.params, acomp_conformance_no_such_param=1)
    except AcompError as exc:
        if exc.errno != errno.EINVAL:
            kit.fail(f"alloc with an unknown parameter failed with {err_text(exc)}, expected EINVAL")
    except Exception as exc:
        kit.fail(f"alloc with an unknown parameter raised {err_text(exc)}, not an AcompError")
    else:
        bad.close()
        kit.fail("alloc with an unknown parameter succeeded")


def capabilities(kit: Kit) -> None:
    """What the record claims holds, structurally (no timing); see the capability table in docs/plugins.md."""
    tfm = kit.tfm()
    rec = tfm.record
    cls = type(tfm.driver)
    has_hook = cls.batch_compress is not Driver.batch_compress
    native_submit = cls.submit is not Driver.submit
    if cls.batch_size > 1 and cls.batch_decompress is Driver.batch_decompress:
        kit.note(f"{kit.driver}: batch_decompress is the default loop (batch_compress is native)")
    if rec.batch_size > 1:
        # crypto_acomp_batch_size() > 1: tfm.batch_compress takes that many at once.
        if not has_hook:
            kit.fail(f"batch_size={rec.batch_size} claimed without a batch_compress hook")
        pages = [acst.make_page(acst.PAGE_KINDS[k % len(acst.PAGE_KINDS)], 40 + k) for k in range(rec.batch_size)]
        planted = [acst.PlantedRequest(p, tfm.driver.compress_bound(PAGE_SIZE), "ok", p) for p in pages]
        run_batch(kit, tfm, "compress", planted)
    if cls.async_batching:
        if cls.batch_size <= 1:
            kit.fail("async_batching claimed with batch_size=1: there is no batch to run in parallel")
        if not has_hook:
            kit.fail("async_batching claimed without a batch_compress hook")
        if Feature.ASYNC not in rec.features and not native_submit:
            # No device of its own: its batch hook must at least run batches correctly
            # when several threads batch at once (it claims to run them in parallel).
            kit.threads("async_batching: 3 threads batching at once", lambda i: batch_loop(kit, tfm, i + 20, 2), n=3)
    if Feature.ASYNC in rec.features and not native_submit:
        kit.fail("Feature.ASYNC claimed but the driver does not override submit()")
    for flag in (Feature.REQ_CHAIN, Feature.REQ_SEG):
        if flag in rec.features and cls.batch_size == 1:
            kit.note(f"{kit.driver}: Feature.{flag.name} with batch_size=1 has no effect")
    reached = cls.async_batching or bool(rec.features & (Feature.REQ_CHAIN | Feature.REQ_SEG))
    if has_hook and cls.batch_size > 1 and not reached:
        kit.note(
            f"{kit.driver}: batch_size={cls.batch_size} without async_batching, REQ_CHAIN or REQ_SEG: "
            "zswap, chains and segments do not use the batch hook (docs/plugins.md, capability table)"
        )
    for n in (0, PAGE_SIZE, 64 * PAGE_SIZE):
        bound = tfm.driver.compress_bound(n)
        if not isinstance(bound, int) or bound < 0:
            kit.fail(f"compress_bound({n}) returned {bound!r}, not a non-negative int")


def wire_format(kit: Kit) -> None:
    tfm = kit.tfm()
    fmt = tfm.record.wire_format
    siblings = query(wire_format=fmt, exclude=frozenset({kit.driver}), available=False)
    if not siblings:
        raise PropertySkipped(f"no other driver has wire format {fmt!r}")
    inputs = [acst.make_page(k, 50) for k in ("text", "zero", "random", "mixed")]
    inputs.append(acst.make_page("binary", 51, 4 * PAGE_SIZE))
    checked = 0
    for rec in siblings:
        try:
            other = acomp.alloc(rec.driver_name)
        except AcompError as exc:
            kit.note(f"{kit.driver}: wire format: cannot allocate {rec.driver_name}: {err_text(exc)}")
            continue
        with other:
            if not other.available():
                kit.note(f"{kit.driver}: wire format: {rec.driver_name} is not available")
                continue
            for data in inputs:
                _cross_read(kit, tfm, other, data)
            checked += 1
    if not checked:
        raise PropertySkipped("no other driver of this wire format could be allocated")


def _cross_read(kit: Kit, tfm: Transform, other: Transform, data: bytes) -> None:
    """Each of the two transforms reads the other's stream of ``data``."""
    what = describe(data)
    mine = kit.compress_ok(tfm, data)
    r, e = kit.op(other, "decompress", mine, dst=bytearray(len(data)))
    if e is not None or r.output() != data:
        got = err_text(e) if e is not None else f"{r.dlen} other bytes"
        kit.fail(f"{other.driver_name} cannot read this driver's stream of {what}: {got}")
    theirs, te = kit.op(other, "compress", data)
    if te is not None:
        return  # the sibling's own problem; its kit run reports it
    r2, e2 = kit.op(tfm, "decompress", theirs.output(), dst=bytearray(len(data)))
    if e2 is not None or r2.output() != data:
        got = err_text(e2) if e2 is not None else f"{r2.dlen} other bytes"
        kit.fail(f"cannot read {other.driver_name}'s stream of {what}: {got}")
