"""Sync ops on one transform: outputs, dst bounds, bad arguments, driver contract checks."""

from __future__ import annotations

import errno
import os
import types

import pytest
from core_drivers import ZlibTest

import acomp
from acomp.registry import Registry

PAGE = (b"the quick brown fox jumps over the lazy dog " * 100)[:4096]


def test_compress_into_dst_then_decompress(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")
    dst = bytearray(4096)
    req = acomp.Request(PAGE, dst)
    n = tfm.compress(req)
    assert n == req.dlen and 0 < n < 4096 and req.err is None and req.done
    assert req.dst is dst
    out = acomp.Request(dst[:n], bytearray(4096))
    assert tfm.decompress(out) == 4096
    assert out.output() == PAGE


def test_dst_none_allocates_bounded_output(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")
    req = acomp.Request(PAGE)
    tfm.compress(req)
    back = acomp.Request(req.output(), dlen=100)  # dlen bounds the allocation
    with pytest.raises(acomp.NoSpace):
        tfm.decompress(back)
    assert back.err is not None and back.err.errno == errno.ENOSPC and back.dlen == 0


def test_too_small_dst_is_enospc_and_dst_untouched(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")
    dst = bytearray(b"\xaa" * 64)
    req = acomp.Request(os.urandom(4096), dst)
    with pytest.raises(acomp.NoSpace) as info:
        tfm.compress(req)
    assert req.err is info.value and info.value.errno == errno.ENOSPC
    assert dst == b"\xaa" * 64


def test_corrupt_input_is_einval(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")
    with pytest.raises(acomp.InvalidData):
        tfm.decompress(acomp.Request(b"\xff\xff\xff\xff", bytearray(4096)))


@pytest.mark.parametrize("src", ["text", 12, None, [1, 2]])
def test_wrong_src_type_is_einval(registry: Registry, src: object) -> None:
    tfm = acomp.alloc("testz-generic")
    with pytest.raises(acomp.InvalidArgument, match="src must be a bytes-like"):
        tfm.compress(acomp.Request(src, bytearray(100)))  # type: ignore[arg-type]


def test_readonly_dst_is_einval(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")
    with pytest.raises(acomp.InvalidArgument, match="dst must be a writable buffer"):
        tfm.compress(acomp.Request(PAGE, bytes(4096)))


def test_memoryview_src_and_dst(registry: Registry) -> None:
    tfm = acomp.alloc("testz-generic")
    backing = bytearray(8192)
    req = acomp.Request(memoryview(PAGE), memoryview(backing)[100:4196])
    n = tfm.compress(req)
    assert acomp.decompress(bytes(backing[100 : 100 + n]), "testz") == PAGE


class Liar(ZlibTest):
    """Returns more bytes than the capacity: the core must catch it, not copy it."""

    driver_name = "testz-liar"

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        return b"x" * (capacity + 10)

    def decompress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        raise KeyError("oops")


def test_driver_overrunning_dst_is_a_driver_error_naming_it(registry: Registry) -> None:
    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(Liar)))
    registry.register_plugin(plugin, name="liarplugin")
    tfm = acomp.alloc("testz-liar")
    dst = bytearray(b"\0" * 16)
    with pytest.raises(acomp.DriverError, match=r"'testz-liar' \(plugin 'liarplugin'\) returned 26 bytes"):
        tfm.compress(acomp.Request(PAGE, dst))
    assert dst == b"\0" * 16
    with pytest.raises(acomp.DriverError, match="raised KeyError"):
        tfm.decompress(acomp.Request(PAGE, bytearray(16)))


def test_one_shot_helpers(registry: Registry) -> None:
    blob = acomp.compress(PAGE, "testz")
    assert acomp.decompress(blob, "testz", max_size=4096) == PAGE
    with pytest.raises(acomp.NoSpace):
        acomp.decompress(blob, "testz", max_size=4095)
    with pytest.raises(acomp.InvalidArgument):
        acomp.decompress(blob, "testz", max_size=0)


def test_errors_carry_kernel_errnos() -> None:
    table = {
        acomp.NoSpace: errno.ENOSPC,
        acomp.InvalidData: errno.EINVAL,
        acomp.InvalidArgument: errno.EINVAL,
        acomp.BadMessage: errno.EBADMSG,
        acomp.Busy: errno.EBUSY,
        acomp.InProgress: errno.EINPROGRESS,
        acomp.TooBig: errno.E2BIG,
        acomp.OutputOverflow: errno.EOVERFLOW,
        acomp.TimedOut: errno.ETIMEDOUT,
        acomp.NotSupported: errno.ENOSYS,
        acomp.AlgorithmNotFound: errno.ENOENT,
    }
    for cls, code in table.items():
        err = cls("x")
        assert isinstance(err, acomp.AcompError) and err.errno == code
        assert type(acomp.errors.error_from_errno(-code)).__mro__[0] in (cls, acomp.InvalidData)
    assert acomp.errors.error_from_errno(errno.E2BIG).errname == "E2BIG"
