"""Segmentation: one request, many units, one outcome per unit."""

from __future__ import annotations

import errno
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

import acomp
from acomp.registry import Registry

TEXT = b"".join(b"segment line %d\n" % i for i in range(2000))


@pytest.mark.parametrize("driver", ["testz-generic", "testz-batch"])
@given(n_units=st.integers(1, 12), random_units=st.sets(st.integers(0, 11)))
def test_units_get_lengths_or_negative_errno(
    registry: Registry, driver: str, n_units: int, random_units: set[int]
) -> None:
    from core_drivers import ZlibBatching

    ZlibBatching.batch_calls.clear()
    tfm = acomp.alloc(driver)
    units = [os.urandom(4096) if i in random_units else TEXT[i * 100 : i * 100 + 4096] for i in range(n_units)]
    dsts = [bytearray(4096) for _ in units]  # random data does not fit in one page: ENOSPC
    req = acomp.Request(b"".join(units), dsts, unit_size=4096)
    ok = tfm.compress(req)
    assert req.seg_dlens is not None and len(req.seg_dlens) == n_units
    for i, (unit, dlen) in enumerate(zip(units, req.seg_dlens)):
        if i in random_units:
            assert dlen == -errno.ENOSPC
        else:
            assert dlen > 0 and acomp.decompress(bytes(dsts[i][:dlen]), "testz") == unit
    assert ok == sum(1 for d in req.seg_dlens if d >= 0)
    if driver == "testz-batch":  # opted in: units went through the batch hook
        assert sum(ZlibBatching.batch_calls) == n_units and max(ZlibBatching.batch_calls) <= 4


def test_segmented_decompress_with_allocated_outputs(registry: Registry) -> None:
    tfm = acomp.alloc("testz-batch")
    pages = [TEXT[i * 4096 : (i + 1) * 4096] for i in range(6)]
    blobs = [acomp.compress(p, "testz") for p in pages]
    blobs[2] = b"\xff\xfe"
    req = acomp.Request(blobs, unit_size=4096)
    tfm.decompress(req)
    assert req.seg_dlens == [4096, 4096, -errno.EINVAL, 4096, 4096, 4096]
    assert [bytes(d) for i, d in enumerate(req.dst) if i != 2] == pages[:2] + pages[3:]


def test_bad_segmentation_arguments(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")
    with pytest.raises(acomp.InvalidArgument, match="list of 2 dst"):
        tfm.compress(acomp.Request(TEXT[:8192], bytearray(10), unit_size=4096))
    with pytest.raises(acomp.InvalidArgument, match="exceed the maximum"):
        tfm.compress(acomp.Request(bytes(4097 * 2), unit_size=2))
