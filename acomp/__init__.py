"""acomp: pluggable, batched, asynchronous compression, modelled on the kernel's crypto acomp API.

Layers (kernel names in brackets):

* :mod:`acomp` — the crypto API (``crypto/acompress.c``): requests, transforms,
  chains, batches, segmentation, async completion, the algorithm registry.
* plugins — the drivers (``crypto/deflate.c``, ``drivers/crypto/intel/iaa``),
  found through the ``acomp.plugins`` entry-point group.
* :mod:`acomp.zswap` — the mm frontend (``mm/zswap.c``), built on this API only.
"""

from __future__ import annotations

from acomp import aio, chain, errors, lib, segment
from acomp.api import algorithms, alloc, compress, decompress, register_plugin, unregister_plugin
from acomp.driver import Driver, Feature, Result
from acomp.errors import (
    AcompError,
    Again,
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
    error_from_errno,
)
from acomp.hookspecs import hookimpl, hookspec
from acomp.query import Requirement, query, readers_of
from acomp.records import AlgorithmRecord
from acomp.registry import AcompPluginWarning, Registry, get_registry
from acomp.request import DST_MAX, PAGE_SIZE, BufferLike, Request, RequestFlags, reqchain_init, request_chain
from acomp.transform import Transform

__version__ = "0.1.0"

__all__ = [
    "DST_MAX",
    "PAGE_SIZE",
    "AcompError",
    "AcompPluginWarning",
    "Again",
    "AlgorithmNotFound",
    "AlgorithmRecord",
    "BadMessage",
    "BufferLike",
    "Busy",
    "Driver",
    "DriverError",
    "Feature",
    "InProgress",
    "InvalidArgument",
    "InvalidData",
    "NoDevice",
    "NoSpace",
    "NotSupported",
    "OutputOverflow",
    "Registry",
    "Request",
    "RequestFlags",
    "Requirement",
    "Result",
    "TimedOut",
    "TooBig",
    "Transform",
    "__version__",
    "aio",
    "algorithms",
    "alloc",
    "chain",
    "compress",
    "decompress",
    "error_from_errno",
    "errors",
    "get_registry",
    "hookimpl",
    "hookspec",
    "lib",
    "query",
    "readers_of",
    "register_plugin",
    "reqchain_init",
    "request_chain",
    "segment",
    "unregister_plugin",
]
