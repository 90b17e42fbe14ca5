"""acomp: pluggable, batched, asynchronous compression, modelled on the kernel's crypto acomp API.

Layers (kernel names in brackets):

* :mod:`acomp` — the crypto API for callers (``include/crypto/acompress.h``):
  requests, transforms, chains, batches, segmentation, async completion,
  the algorithm registry and capability queries.
* :mod:`acomp.driver` — what a driver author needs
  (``include/crypto/internal/acompress.h``): :class:`~acomp.driver.Driver`,
  its flags and result type, the hook marker, the chain helpers.
* plugins — the drivers (``crypto/deflate.c``, ``drivers/crypto/intel/iaa``),
  found through the ``acomp.plugins`` entry-point group.
* :mod:`acomp.zswap` — the mm frontend (``mm/zswap.c``), built on this API only.
"""

from __future__ import annotations

from acomp import aio as aio  # submodules callers reach as acomp.aio, acomp.driver, acomp.errors
from acomp import driver as driver
from acomp import errors as errors
from acomp.api import algorithms, alloc, compress, decompress
from acomp.errors import (
    AcompError,
    AlgorithmNotFound,
    BadMessage,
    Busy,
    DriverError,
    InProgress,
    InvalidArgument,
    InvalidData,
    NoDevice,
    NoSpace,
    NotSupported,
    OutputOverflow,
    TimedOut,
    TooBig,
)
from acomp.many import compress_many, decompress_many
from acomp.query import Requirement, query, readers_of
from acomp.records import AlgorithmRecord
from acomp.request import DST_MAX, PAGE_SIZE, Request, RequestFlags, reqchain_init, request_chain
from acomp.transform import Transform

__version__ = "0.1.0"

__all__ = [
    "DST_MAX",
    "PAGE_SIZE",
    "AcompError",
    "AlgorithmNotFound",
    "AlgorithmRecord",
    "BadMessage",
    "Busy",
    "DriverError",
    "InProgress",
    "InvalidArgument",
    "InvalidData",
    "NoDevice",
    "NoSpace",
    "NotSupported",
    "OutputOverflow",
    "Request",
    "RequestFlags",
    "Requirement",
    "TimedOut",
    "TooBig",
    "Transform",
    "algorithms",
    "alloc",
    "compress",
    "compress_many",
    "decompress",
    "decompress_many",
    "query",
    "readers_of",
    "reqchain_init",
    "request_chain",
]
