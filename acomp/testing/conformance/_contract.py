"""What the kit holds a driver to: the accepted error codes and the limits (the properties: ``_table``)."""

from __future__ import annotations

import errno

#: Compress into a dst that is too small.
COMPRESS_OVERFLOW_ERRNOS = frozenset({errno.ENOSPC})
#: ... for a driver with ``Feature.DEVICE`` (IAA reports a compress output overflow as E2BIG).
DEVICE_COMPRESS_OVERFLOW_ERRNOS = frozenset({errno.ENOSPC, errno.E2BIG})
#: Decompress into a dst smaller than the output.
DECOMPRESS_OVERFLOW_ERRNOS = frozenset({errno.ENOSPC, errno.EOVERFLOW, errno.EINVAL})
#: Decompress corrupt or truncated input: what docs/plugins.md prescribes
#: (:class:`~acomp.errors.InvalidData`, :class:`~acomp.errors.BadMessage`).
CORRUPT_INPUT_ERRNOS = frozenset({errno.EINVAL, errno.EBADMSG})
#: ... with ``strict_corrupt_errors=False``: a codec that cannot tell "corrupt" from "does not fit".
LENIENT_CORRUPT_INPUT_ERRNOS = CORRUPT_INPUT_ERRNOS | {errno.ENOSPC, errno.EOVERFLOW}
#: A damaged (not truncated) stream answered with an overflow errno is decoded once more into
#: this many bytes: it must then decode, fail as corrupt, or still not fit (a damaged size header).
DAMAGED_RETRY_CAPACITY = 1024 * 1024
#: Compress of an empty source, when a driver refuses it.
EMPTY_COMPRESS_ERRNOS = frozenset({errno.EINVAL})

#: Seconds any single wait may take before the kit calls it a hang (not a timing assertion).
HANG_GUARD = 60.0
#: The decompression bomb: this many zero bytes, decompressed into one page.
BOMB_SIZE = 16 * 1024 * 1024
#: How much more the Python heap (tracemalloc) may peak for the bomb than for a one-page decompression.
BOMB_SLACK = 256 * 1024
#: How much more the process's resident memory may peak for the bomb than for a one-page
#: decompression: room for decoder state (a zstd window of up to 8 MiB), not for the bomb's output.
NATIVE_BOMB_SLACK = 12 * 1024 * 1024

#: The fill byte of a dst whose untouched tail the kit checks.
SENTINEL = 0xA5
