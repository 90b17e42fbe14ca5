"""Caller mistakes are InvalidArgument naming the argument; sizes are bytes; results are any byte buffer.

Issue 14 items 9, 10 and 15, issue 17 item 5: each of these raised a bare TypeError, blamed the
driver (DriverError, EIO), or let a typed view slip past a bound before.
"""

from __future__ import annotations

import array
import errno
import types
from collections.abc import Iterator

import pytest

import acomp
from acomp.request import MAX_SRC_SIZE

PAGE = b"caller mistakes " * 256


class Returns(acomp.driver.Driver):
    """Returns whatever ``out`` the test sets, for compress; decompress is honest."""

    alg_name = "mistakes"
    driver_name = "mistakes-returns"
    out: object = b""

    def compress(self, src: acomp.driver.BufferLike, capacity: int) -> acomp.driver.Result:  # type: ignore[override]
        return type(self).out  # type: ignore[return-value]

    def decompress(self, src: acomp.driver.BufferLike, capacity: int) -> bytes:
        return bytes(src)[:capacity]


@pytest.fixture
def returns() -> Iterator[type[Returns]]:
    plugin = types.SimpleNamespace(acomp_register_drivers=acomp.driver.hookimpl(lambda register: register(Returns)))
    acomp.driver.register_plugin(plugin, "mistakes")
    yield Returns
    acomp.driver.unregister_plugin("mistakes")


# -- sizes are nbytes (item 9) ------------------------------------------------------------------


def test_a_typed_view_over_max_src_size_is_refused_by_its_bytes() -> None:
    big = memoryview(bytearray(MAX_SRC_SIZE + 8)).cast("Q")  # len() is an eighth of the bytes
    assert len(big) < MAX_SRC_SIZE
    tfm = acomp.alloc("lz4")
    with pytest.raises(acomp.InvalidArgument, match="exceeds MAX_SRC_SIZE"):
        tfm.compress(acomp.Request(big, bytearray(16)))
    assert tfm.batch_compress([acomp.Request(big, bytearray(16))]) is False
    chained = [acomp.Request(PAGE, bytearray(8192)), acomp.Request(big, bytearray(16))]
    acomp.request_chain(chained[1], chained[0])
    tfm.compress(chained[0])
    assert chained[0].err is None and isinstance(chained[1].err, acomp.InvalidArgument)


def test_a_2d_view_is_sized_by_its_bytes_not_its_rows() -> None:
    rows = memoryview(bytearray(4 * 4096)).cast("B", (4, 4096))
    assert len(rows) == 4
    out = acomp.compress(rows, "zstd")
    assert acomp.decompress(out, "zstd", 4 * 4096) == bytes(4 * 4096)


def test_a_typed_dst_is_used_by_its_bytes() -> None:
    dst = memoryview(bytearray(8192)).cast("I")  # 2048 elements, 8192 bytes
    req = acomp.Request(PAGE, dst)
    n = acomp.alloc("lz4").compress(req)
    assert acomp.decompress(bytes(memoryview(dst).cast("B")[:n]), "lz4", len(PAGE)) == PAGE


# -- results are measured and copied as bytes (item 10, issue 17 item 5) ------------------------


def test_a_typed_result_is_measured_in_bytes(returns: type[Returns]) -> None:
    tfm = acomp.alloc("mistakes-returns")
    returns.out = memoryview(bytes(range(256)) * 4).cast("I")  # 256 elements, 1024 bytes
    dst = bytearray(400)  # len(result) (256) fits; its bytes (1024) do not
    req = acomp.Request(b"x", dst)
    with pytest.raises(acomp.DriverError, match="returned 1024 bytes for a 400-byte dst") as info:
        tfm.compress(req)
    assert (info.value.returned, info.value.capacity) == (1024, 400)
    assert len(dst) == 400 and req.dlen == 0  # the caller's buffer did not grow
    big = bytearray(2048)
    assert tfm.compress(acomp.Request(b"x", big)) == 1024
    assert bytes(big[:1024]) == bytes(range(256)) * 4


@pytest.mark.parametrize(
    "make",
    [
        lambda data: array.array("B", data),
        lambda data: type("CramjamLikeBuffer", (bytearray,), {})(data),
        lambda data: memoryview(data).cast("B", (2, len(data) // 2)),
    ],
    ids=["array", "buffer-subclass", "2d-view"],
)
def test_any_c_contiguous_byte_buffer_is_a_result(returns: type[Returns], make: object) -> None:
    data = bytes(range(200))
    returns.out = make(data)  # type: ignore[operator]
    tfm = acomp.alloc("mistakes-returns")
    dst = bytearray(300)
    assert tfm.compress(acomp.Request(b"x", dst)) == 200 and bytes(dst[:200]) == data
    allocated = acomp.Request(b"x", dlen=300)  # dst=None: the output becomes the caller's, as real bytes
    assert tfm.compress(allocated) == 200 and allocated.output() == data
    assert type(allocated.dst) in (bytes, bytearray)


def test_a_non_buffer_or_strided_result_is_refused_saying_what_is_accepted(returns: type[Returns]) -> None:
    tfm = acomp.alloc("mistakes-returns")
    for out in ("text", memoryview(bytes(100))[::2]):
        returns.out = out
        with pytest.raises(acomp.DriverError, match="accepted: bytes, bytearray, or any C-contiguous buffer"):
            tfm.compress(acomp.Request(b"x", bytearray(100)))


# -- caller mistakes (item 15) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: acomp.Request(PAGE, memoryview(bytearray(8192))[::2]), "dst must be a C-contiguous buffer"),
        (lambda: acomp.Request(PAGE, b"read only"), "dst must be a writable buffer"),
        (lambda: acomp.Request(PAGE, object()), "dst must be a writable buffer, got object"),
        (lambda: acomp.Request(PAGE, dlen=4096.0), r"dlen must be an int >= 0, got 4096\.0"),
        (lambda: acomp.Request(PAGE, dlen="4096"), "dlen must be an int"),
        (lambda: acomp.Request(PAGE, dlen=-1), "dlen must be an int >= 0"),
        (lambda: acomp.Request(memoryview(PAGE)[::2], bytearray(8192)), "src must be a C-contiguous buffer"),
        (lambda: acomp.Request(12345, bytearray(10)), "src must be a bytes-like object"),
    ],
)
def test_request_mistakes_are_einval_naming_the_argument(make: object, match: str) -> None:
    tfm = acomp.alloc("lz4")
    req = make()  # type: ignore[operator]
    with pytest.raises(acomp.InvalidArgument, match=match) as info:
        tfm.compress(req)
    assert info.value.errno == errno.EINVAL and not isinstance(info.value, acomp.DriverError)
    assert req.err is info.value


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: acomp.Request(PAGE, unit_size=4096.0), r"unit_size must be an int > 0, got 4096\.0"),
        (lambda: acomp.Request([PAGE, 7], unit_size=4096), r"src\[1\] must be a bytes-like object"),
        (lambda: acomp.Request(PAGE * 2, [bytearray(4096), b"ro"], unit_size=4096), r"dst\[1\] must be a writable"),
    ],
)
def test_segment_mistakes_are_einval_naming_the_argument(make: object, match: str) -> None:
    with pytest.raises(acomp.InvalidArgument, match=match):
        acomp.alloc("lz4").compress(make())  # type: ignore[operator]


def test_batch_and_poll_mistakes_are_einval() -> None:
    tfm = acomp.alloc("lz4")
    for bad in (None, 7, b"abc"):
        with pytest.raises(acomp.InvalidArgument, match=r"reqs must be a sequence of acomp\.Request"):
            tfm.batch_compress(bad)  # type: ignore[arg-type]
    with pytest.raises(acomp.InvalidArgument, match=r"reqs must hold acomp\.Request objects"):
        tfm.batch_compress([b"not a request"])  # type: ignore[list-item]
    with pytest.raises(acomp.InvalidArgument, match="never submitted"):
        tfm.poll(acomp.Request(PAGE, flags=acomp.RequestFlags.POLL))
    with pytest.raises(acomp.InvalidArgument, match="op must be 'compress' or 'decompress'"):
        tfm.submit(acomp.Request(PAGE), "squash")  # type: ignore[arg-type]
    with pytest.raises(acomp.InvalidArgument, match=r"req must be an acomp\.Request"):
        tfm.submit(PAGE)  # type: ignore[arg-type]
