"""What the kit holds a driver to: the properties, the accepted error codes, the limits."""

from __future__ import annotations

import errno

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

#: The fill byte of a dst whose untouched tail the kit checks.
SENTINEL = 0xA5
