"""The acomp face of the emulated IAA: ``deflate-iaa`` (kernel: ``iaa_acomp_fixed_deflate``).

One instance per transform (the tfm context); all device state is shared in
:mod:`acomp_iaa.api`.  The calling thread is the "core" that picks the WQs,
unless the transform was allocated with ``cpu=N``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from acomp import Request
from acomp.driver import BufferLike, Driver, Feature, Op, Result
from acomp.errors import AcompError, InvalidArgument
from acomp_iaa.api import subsystem
from acomp_iaa.subsystem import IaaSubsystem

__all__ = ["IAA_CRYPTO_MAX_BATCH_SIZE", "DeflateIaaDriver"]

#: The seed's batch size for IAA compression algorithms.
IAA_CRYPTO_MAX_BATCH_SIZE = 8


def _as_bytes(src: BufferLike) -> bytes:
    return src if isinstance(src, bytes) else bytes(src)


class DeflateIaaDriver(Driver):
    """Raw deflate, one fixed-Huffman block, 4 KiB window, on emulated IAA devices."""

    alg_name: ClassVar[str] = "deflate"
    driver_name: ClassVar[str] = "deflate-iaa"
    priority: ClassVar[int] = 300
    batch_size: ClassVar[int] = IAA_CRYPTO_MAX_BATCH_SIZE
    async_batching: ClassVar[bool] = True
    features: ClassVar[Feature] = Feature.REQ_CHAIN | Feature.ASYNC | Feature.DEVICE
    wire_format: ClassVar[str] = "deflate"
    #: ``cpu``: the core id this transform submits from (None: the calling thread's).
    params: ClassVar[dict[str, object]] = {"cpu": None}

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        cpu = self.config["cpu"]
        if cpu is not None and (not isinstance(cpu, int) or isinstance(cpu, bool)):
            raise InvalidArgument(f"deflate-iaa: cpu must be an int, got {cpu!r}")
        sub = subsystem()
        if cpu is not None:
            sub.check_cpu(cpu)
        self._cpu: int | None = cpu
        sub.live.add(self)  # bound: driver attributes are frozen while we exist
        self._closed = False

    def _core(self, sub: IaaSubsystem) -> int:
        cpu = self._cpu
        if cpu is not None:
            return sub.check_cpu(cpu)  # the topology may have been reconfigured
        return sub.wq_map.current_core()

    # -- one buffer -----------------------------------------------------------------

    def compress(self, src: BufferLike, capacity: int) -> bytes:
        return self._one(True, src, capacity)

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
        return self._one(False, src, capacity)

    def _one(self, compress: bool, src: BufferLike, capacity: int) -> bytes:
        sub = subsystem()
        (res,) = sub.run_batch(compress, [_as_bytes(src)], [capacity], self._core(sub))
        if isinstance(res, AcompError):
            raise res
        return bytes(res)

    def compress_bound(self, slen: int) -> int:
        # Fixed Huffman: at most 9 bits per literal, plus header, EOB and padding.
        return slen + (slen >> 3) + 16

    # -- batches ------------------------------------------------------------------------

    def batch_compress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[Result]:
        sub = subsystem()
        return sub.run_batch(True, [_as_bytes(s) for s in srcs], list(capacities), self._core(sub))

    def batch_decompress(self, srcs: Sequence[BufferLike], capacities: Sequence[int]) -> list[Result]:
        sub = subsystem()
        return sub.run_batch(False, [_as_bytes(s) for s in srcs], list(capacities), self._core(sub))

    # -- async ----------------------------------------------------------------------------

    def submit(self, op: Op, req: Request, capacity: int, done: Callable[[Result], None]) -> bool:
        """Queue on a device; ``done`` runs on an engine thread ("interrupt") exactly once.

        In ``sync`` mode, or while disabled, returns False and the core runs
        the request through :meth:`compress` / :meth:`decompress`.
        """
        sub = subsystem()
        return sub.submit(op == "compress", _as_bytes(req.src), capacity, self._core(sub), done)

    # -- life cycle -------------------------------------------------------------------------

    @classmethod
    def device_state(cls) -> str:
        sub = subsystem()
        if not sub.enabled:
            return "disabled"
        return "bound" if sub.bound else "live"

    def available(self) -> bool:
        return subsystem().enabled

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            subsystem().live.discard(self)
