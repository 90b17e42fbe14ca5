"""The kit's one table: every property, its check function, and what it accepts (kernel: ``crypto/testmgr.c``).

Each check is a plain function of a :class:`~acomp.testing.conformance._kit.Kit`
(numcodecs' ``tests/common.py`` is the model): it returns when the property
holds, raises ``ConformanceFailure`` naming the property when not, or
``PropertySkipped`` when the property does not apply.  The docs' property
table (docs/testing.md) is kept in step with this one by a test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import attrs

from acomp.testing.conformance import _concurrency, _data, _driver, _memory, _requests
from acomp.testing.conformance._kit import Kit


@attrs.define(frozen=True, slots=True)
class Property:
    """One row of the table: a property's name, its check, and what the docs say of it."""

    name: str
    check: Callable[[Kit], None] = attrs.field(repr=False)
    #: What the check holds the driver to (one sentence).
    checks: str
    #: The errors it accepts, where it looks at errors.
    errors: str = ""
    #: When it skips instead of passing ("" = it never skips).
    skips: str = ""


_ROWS = (
    Property(
        "registration",
        _driver.registration,
        "listed by acomp.algorithms() with typed record fields; alloc by driver name agrees with the record",
        "an unknown alloc parameter: EINVAL",
    ),
    Property(
        "round trip",
        _data.round_trip,
        "compress then decompress gives the input back: empty, 1 byte, pages of every kind, folios to 64 KiB, "
        "src as bytes, bytearray or memoryview",
        "compress of b'': may refuse with EINVAL",
    ),
    Property(
        "dlen",
        _data.dlen,
        "dlen is the real output length: those bytes decompress, the dst past dlen is untouched, dlen - 1 "
        "bytes do not decompress to the input",
    ),
    Property(
        "dst bounds",
        _data.dst_bounds,
        "a dst that is too small fails, never truncates; a failed request has dlen 0",
        "compress: ENOSPC (Feature.DEVICE: or E2BIG); decompress: ENOSPC, EOVERFLOW or EINVAL",
    ),
    Property(
        "corrupt input",
        _data.corrupt_input,
        "damaged streams decode within the dst or fail; truncated streams fail; never another exception",
        "EINVAL or EBADMSG; a damaged stream may say ENOSPC/EOVERFLOW if it still does not fit into 1 MiB; "
        "strict_corrupt_errors=False also accepts ENOSPC/EOVERFLOW for truncations",
    ),
    Property(
        "decompression bomb",
        _memory.decompression_bomb,
        "16 MiB of zeros into a 4 KiB dst fails without inflating: the Python heap grows < 256 KiB and the "
        "process's resident memory < 12 MiB more than for one page",
        "ENOSPC, EOVERFLOW or EINVAL",
        "no bomb can be built (compress of 16 MiB fails, and no sibling of the wire format can)",
    ),
    Property(
        "empty input",
        _data.empty_input,
        "compress of b'' round-trips to b'' (or is refused); decompress of b'' gives b'' or fails as corrupt",
        "compress: EINVAL; decompress: EINVAL or EBADMSG",
    ),
    Property(
        "batch",
        _requests.batch,
        "tfm.batch_* with failures planted: each request's own outcome, True iff all succeeded, nothing raised, "
        "batch_size + 1 requests raise EINVAL; the driver's batch hook itself: one result per source, in order",
        "as dst bounds and corrupt input, per request",
    ),
    Property(
        "chain",
        _requests.chain,
        "chains run synchronously and by tfm.submit: every request's own outcome; the head's callback runs once, "
        "after the whole chain; several chains in flight at once",
        "as dst bounds and corrupt input, per request",
    ),
    Property(
        "segmentation",
        _requests.segmentation,
        "a folio with unit_size=PAGE_SIZE: one seg_dlens entry per page, -ENOSPC for pages that do not fit",
        "-ENOSPC (Feature.DEVICE: or -E2BIG) per unit",
    ),
    Property(
        "thread safety",
        _concurrency.thread_safety,
        "4 threads round-trip at once, with a transform each and sharing one (and batching, when tfm.batch_size > 1)",
    ),
    Property(
        "async",
        _concurrency.async_completion,
        "tfm.submit returns 0 (done, no callback) or EINPROGRESS/EBUSY (callback exactly once); POLL requests "
        "complete by poll; 8 requests in flight at once; await acomp.aio.*",
        "as dst bounds and corrupt input",
    ),
    Property(
        "capabilities",
        _driver.capabilities,
        "what the record claims holds: batch_size > 1 has a batch hook, async_batching needs one and runs "
        "batches from several threads, Feature.ASYNC has a native submit",
    ),
    Property(
        "wire format",
        _driver.wire_format,
        "drivers with the same wire_format read each other's streams",
        "",
        "no other driver of this wire format is registered or can be allocated",
    ),
)

#: Every property, in the order the kit runs them: name -> :class:`Property`.
PROPERTIES: Mapping[str, Property] = MappingProxyType({p.name: p for p in _ROWS})
