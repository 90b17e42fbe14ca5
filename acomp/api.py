"""The top-level calls: ``algorithms``, ``alloc``, and one-shot ``compress``/``decompress``."""

from __future__ import annotations

from acomp.errors import AcompError, InvalidArgument
from acomp.query import Requirement, alloc_matching
from acomp.records import AlgorithmRecord
from acomp.registry import get_registry
from acomp.request import DST_MAX, BufferLike, Request
from acomp.transform import Transform

__all__ = ["algorithms", "alloc", "compress", "decompress"]


def algorithms() -> list[AlgorithmRecord]:
    """One record per registered driver, like ``/proc/crypto``."""
    return get_registry().records()


def alloc(name: str | Requirement, **params: object) -> Transform:
    """Allocate a transform (kernel: ``crypto_alloc_acomp``).

    ``name`` is an algorithm name (the highest-priority driver wins), a
    driver name (that driver exactly), or a :class:`~acomp.query.Requirement`
    (the best driver meeting it, see :func:`acomp.query.query`).  ``params``
    go to the driver (e.g. ``level=``); unknown ones raise
    :class:`~acomp.errors.InvalidArgument`.  Unknown names, or requirements no
    driver meets, raise :class:`~acomp.errors.AlgorithmNotFound`.
    """
    if isinstance(name, Requirement):
        return alloc_matching(name, **params)
    record = get_registry().lookup(name)
    try:
        driver = record.driver_cls(**params)
    except AcompError:
        raise
    except TypeError as exc:
        raise InvalidArgument(f"{record.driver_name}: bad parameters {params}: {exc}") from exc
    return Transform(driver, record)


def compress(data: BufferLike, alg: str, **params: object) -> bytes:
    """Compress ``data`` in one call and return the compressed bytes."""
    with alloc(alg, **params) as tfm:
        req = Request(data)
        tfm.compress(req)
        return bytes(memoryview(req.dst)[: req.dlen])


def decompress(data: BufferLike, alg: str, max_size: int = DST_MAX, **params: object) -> bytes:
    """Decompress ``data`` in one call; output larger than ``max_size`` is an error (ENOSPC)."""
    if max_size <= 0:
        raise InvalidArgument(f"max_size must be > 0, got {max_size}")
    with alloc(alg, **params) as tfm:
        req = Request(data, dlen=max_size)
        tfm.decompress(req)
        return bytes(memoryview(req.dst)[: req.dlen])
