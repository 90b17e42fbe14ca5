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

from acomp.testing.conformance._contract import (
    BOMB_SLACK,
    COMPRESS_OVERFLOW_ERRNOS,
    CORRUPT_INPUT_ERRNOS,
    DECOMPRESS_OVERFLOW_ERRNOS,
    DEVICE_COMPRESS_OVERFLOW_ERRNOS,
    EMPTY_COMPRESS_ERRNOS,
    HANG_GUARD,
    PROPERTIES,
)
from acomp.testing.conformance._outcomes import (
    ConformanceError,
    ConformanceFailure,
    ConformanceReport,
    PropertySkipped,
)
from acomp.testing.conformance._runner import DriverConformance, check_driver
from acomp.testing.conformance._suite import ConformanceSuite

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
