"""Hypothesis strategies for acomp: pages, folios, a driver's streams, batches with planted failures.

Every page strategy is seeded: hypothesis draws a kind and a seed (plus a few
shape parameters) and the page is generated from them, so 4 KiB of random
bytes cost one draw, examples stay reproducible, and shrinking moves towards
seed 0 and the simplest kind.  Kinds model what zswap sees in anonymous memory:

``text``         words and punctuation (logs, source, config files)
``binary``       machine data: little-endian integers, pointers, padding
``zero``         a zero-filled page
``same_filled``  one 8-byte word repeated (zswap's "same-filled" pages)
``random``       incompressible bytes (encrypted or already compressed data)
``mixed``        a page made of 2-4 runs of the kinds above

Driver-bound strategies (:func:`compressed_streams`, :func:`corrupt_streams`,
:func:`truncated_streams`, :func:`planted_batches`) take a driver or algorithm
name (or a :class:`~acomp.Transform`) and produce real output of that driver.
"""

from __future__ import annotations

import itertools
import random
import struct
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Union

from hypothesis import strategies as st

import acomp
from acomp.request import PAGE_SIZE
from acomp.transform import Transform

__all__ = [
    "MAX_FOLIO_PAGES",
    "PAGE_KINDS",
    "CompressedStream",
    "CorruptStream",
    "DriverRef",
    "Expect",
    "PlantedRequest",
    "compressed_streams",
    "corrupt_streams",
    "folios",
    "labelled_pages",
    "make_page",
    "pages",
    "payloads",
    "planted_batches",
    "truncated_streams",
]

#: Page kinds, simplest first (hypothesis shrinks towards the front).
PAGE_KINDS: tuple[str, ...] = ("zero", "same_filled", "text", "binary", "random", "mixed")

#: The largest folio the kernel swaps as one unit (a 2 MiB PMD folio).
MAX_FOLIO_PAGES = 512

#: A driver given by name (algorithm or driver name) or as an allocated transform.
DriverRef = Union[str, Transform]

#: What a planted request is expected to do.
Expect = Literal["ok", "nospace", "corrupt"]

_WORDS = (
    "the kernel page swap zswap compress decompress folio pool entry lru writeback "
    "memory cgroup reclaim a of to in is and for with on request driver batch queue "
    "error ENOSPC EINVAL 0x7f 4096 [   12.345678] INFO: task blocked for more than "
    "seconds. int main(void) { return 0; } #include <linux/mm.h> static const struct "
    "key=value path=/usr/lib/x86_64-linux-gnu/ GET /index.html HTTP/1.1 200 OK"
).split(" ")
_PUNCT = (" ", " ", " ", " ", ", ", ". ", "\n", "\t", "; ", ": ")


# -- page generators (plain functions: usable without hypothesis too) ---------------------


def make_page(kind: str, seed: int, size: int = PAGE_SIZE) -> bytes:
    """One ``size``-byte page of ``kind`` (see :data:`PAGE_KINDS`), determined by ``seed``."""
    rng = random.Random(seed)
    if kind == "zero":
        return bytes(size)
    if kind == "same_filled":
        word = rng.getrandbits(64).to_bytes(8, "little") if seed else b"\xff" * 8
        return (word * (size // 8 + 1))[:size]
    if kind == "text":
        return _text(rng, size)
    if kind == "binary":
        return _binary(rng, size)
    if kind == "random":
        return rng.randbytes(size)
    if kind == "mixed":
        return _mixed(rng, size)
    raise ValueError(f"unknown page kind {kind!r}; known: {', '.join(PAGE_KINDS)}")


def _text(rng: random.Random, size: int) -> bytes:
    # ~6 bytes per word+separator on average; generate a little more, then cut.
    n = size // 5 + 8
    words = rng.choices(_WORDS, k=n)
    seps = rng.choices(_PUNCT, k=n)
    text = "".join(w + s for w, s in zip(words, seps)).encode()
    while len(text) < size:
        text += text
    return text[:size]


def _binary(rng: random.Random, size: int) -> bytes:
    # Records of 8-byte fields: small counters, user-space pointers, flags, zero padding.
    base = 0x7F00_0000_0000 | (rng.getrandbits(24) << 12)
    fields: list[int] = []
    for _ in range(size // 8 + 1):
        r = rng.random()
        if r < 0.35:
            fields.append(0)
        elif r < 0.6:
            fields.append(rng.randrange(256))
        elif r < 0.85:
            fields.append(base + 16 * rng.randrange(4096))
        else:
            fields.append(rng.getrandbits(32))
    return struct.pack(f"<{len(fields)}Q", *fields)[:size]


def _mixed(rng: random.Random, size: int) -> bytes:
    runs = rng.randint(2, 4)
    cuts = sorted(rng.sample(range(1, size), runs - 1)) if size > runs else []
    bounds = [0, *cuts, size]
    out = bytearray()
    for lo, hi in itertools.pairwise(bounds):
        kind = rng.choice(("zero", "same_filled", "text", "binary", "random"))
        out += make_page(kind, rng.getrandbits(32), hi - lo)
    return bytes(out)


# -- pages and folios ---------------------------------------------------------------


def _kinds(kinds: Sequence[str] | None) -> tuple[str, ...]:
    if kinds is None:
        return PAGE_KINDS
    bad = [k for k in kinds if k not in PAGE_KINDS]
    if bad or not kinds:
        raise ValueError(f"page kinds must be a non-empty subset of {PAGE_KINDS}, got {list(kinds)}")
    return tuple(kinds)


def labelled_pages(kinds: Sequence[str] | None = None, size: int = PAGE_SIZE) -> st.SearchStrategy[tuple[str, bytes]]:
    """``(kind, page)`` pairs: a page of ``size`` bytes and the kind it was made as."""
    chosen = _kinds(kinds)
    if size < 0:
        raise ValueError(f"size must be >= 0, got {size}")
    return st.tuples(st.sampled_from(chosen), st.integers(0, 2**32 - 1)).map(
        lambda ks: (ks[0], make_page(ks[0], ks[1], size))
    )


def pages(kinds: Sequence[str] | None = None, size: int = PAGE_SIZE) -> st.SearchStrategy[bytes]:
    """Pages of ``size`` bytes (default ``PAGE_SIZE``) of the given kinds (default: all)."""
    return labelled_pages(kinds, size).map(lambda kp: kp[1])


def folios(
    min_pages: int = 1,
    max_pages: int = 16,
    kinds: Sequence[str] | None = None,
    *,
    power_of_two: bool = False,
) -> st.SearchStrategy[bytes]:
    """Folios: ``n * PAGE_SIZE`` bytes, ``min_pages <= n <= max_pages`` (at most 512).

    Each page has its own kind, as in a real large folio.  ``power_of_two``
    restricts ``n`` to folio orders (1, 2, 4, ... pages), as the kernel allocates.
    The default ``max_pages`` is small for speed; pass up to 512 for 2 MiB folios.
    """
    if not 1 <= min_pages <= max_pages <= MAX_FOLIO_PAGES:
        raise ValueError(f"need 1 <= min_pages <= max_pages <= {MAX_FOLIO_PAGES}, got {min_pages}, {max_pages}")
    if power_of_two:
        orders = [1 << o for o in range(10) if min_pages <= (1 << o) <= max_pages]
        if not orders:
            raise ValueError(f"no power of two between {min_pages} and {max_pages}")
        counts: st.SearchStrategy[int] = st.sampled_from(orders)
    else:
        counts = st.integers(min_pages, max_pages)
    page = pages(kinds)
    return counts.flatmap(lambda n: st.lists(page, min_size=n, max_size=n)).map(b"".join)


def payloads(max_pages: int = 16) -> st.SearchStrategy[bytes]:
    """Inputs for round trips: empty, tiny, odd-sized, one page, folios up to ``max_pages``."""
    tiny = st.binary(min_size=0, max_size=64)
    odd = st.tuples(pages(), st.integers(1, PAGE_SIZE - 1)).map(lambda pn: pn[0][: pn[1]])
    return st.one_of(
        st.just(b""),
        tiny,
        pages(),
        odd,
        folios(1, max(1, max_pages)),
    )


# -- driver-bound strategies -----------------------------------------------------------


_tfm_lock = threading.Lock()
_tfms: dict[tuple[type[acomp.driver.Driver], tuple[tuple[str, object], ...]], Transform] = {}


def _tfm(driver: DriverRef, params: Mapping[str, object] | None) -> Transform:
    if isinstance(driver, Transform):
        return driver
    # Keyed by the driver class: a name re-registered by another class gets a new transform.
    record = acomp.registry.get_registry().lookup(driver)
    key = (record.driver_cls, tuple(sorted((params or {}).items(), key=lambda kv: kv[0])))
    with _tfm_lock:
        tfm = _tfms.get(key)
        if tfm is None:
            tfm = acomp.alloc(driver, **(params or {}))
            _tfms[key] = tfm
        return tfm


def _compress(tfm: Transform, data: bytes) -> bytes:
    req = acomp.Request(data)
    tfm.compress(req)
    return req.output()


@dataclass(frozen=True)
class CompressedStream:
    """A driver's output for ``original``."""

    original: bytes
    stream: bytes

    def __repr__(self) -> str:
        return f"CompressedStream(original={_short(self.original)}, stream={len(self.stream)} bytes)"


@dataclass(frozen=True)
class CorruptStream:
    """A damaged stream of ``original``; ``how`` says what was done to it."""

    original: bytes
    stream: bytes
    how: str

    @property
    def truncated(self) -> bool:
        """True for a strict prefix of the stream (``how`` is "truncated to ...")."""
        return self.how.startswith("truncated")

    def __repr__(self) -> str:
        return f"CorruptStream({self.how}, original={_short(self.original)}, stream={len(self.stream)} bytes)"


@dataclass(frozen=True)
class PlantedRequest:
    """One request of a batch with a known outcome.

    ``src`` goes in with a dst of ``capacity`` bytes; ``original`` is the
    uncompressed data (equal to ``src`` for compress).  ``expect``: ``"ok"``,
    ``"nospace"`` (the dst is too small) or ``"corrupt"`` (a truncated stream).
    """

    src: bytes
    capacity: int
    expect: Expect
    original: bytes
    kind: str = ""

    def describe(self) -> str:
        what = f"{self.kind} " if self.kind else ""
        return f"{what}{len(self.src)}-byte src, {self.capacity}-byte dst, expected {self.expect}"

    def __repr__(self) -> str:
        return f"PlantedRequest({self.describe()})"


def _short(data: bytes) -> str:
    return f"{len(data)} bytes" if len(data) > 16 else repr(data)


def compressed_streams(
    driver: DriverRef,
    data: st.SearchStrategy[bytes] | None = None,
    *,
    params: Mapping[str, object] | None = None,
) -> st.SearchStrategy[CompressedStream]:
    """``driver``'s streams of inputs drawn from ``data`` (default :func:`payloads`)."""
    source = data if data is not None else payloads(max_pages=4)
    return source.map(lambda d: CompressedStream(d, _compress(_tfm(driver, params), d)))


@st.composite
def _corrupt(draw: st.DrawFn, streams: st.SearchStrategy[CompressedStream]) -> CorruptStream:
    cs = draw(streams)
    s = bytearray(cs.stream)
    how = draw(st.sampled_from(("bitflip", "overwrite", "truncate", "extend", "garbage")))
    if how == "garbage" or not s:
        junk = draw(st.binary(min_size=0, max_size=256).filter(lambda j: j != cs.stream))
        return CorruptStream(cs.original, junk, "garbage")
    if how == "bitflip":
        flips = draw(st.lists(st.integers(0, len(s) * 8 - 1), min_size=1, max_size=8, unique=True))
        for bit in flips:
            s[bit // 8] ^= 1 << (bit % 8)
        return CorruptStream(cs.original, bytes(s), f"{len(flips)} bit(s) flipped")
    if how == "overwrite":
        pos = draw(st.integers(0, len(s) - 1))
        # XOR with non-zero values: every byte of the span really changes.
        masks = draw(st.lists(st.integers(1, 255), min_size=1, max_size=min(32, len(s) - pos)))
        for i, m in enumerate(masks):
            s[pos + i] ^= m
        return CorruptStream(cs.original, bytes(s), f"{len(masks)} byte(s) overwritten at {pos}")
    if how == "truncate":
        cut = draw(st.integers(0, len(s) - 1))
        return CorruptStream(cs.original, bytes(s[:cut]), f"truncated to {cut} of {len(s)} bytes")
    junk = draw(st.binary(min_size=1, max_size=64))
    return CorruptStream(cs.original, bytes(s) + junk, f"{len(junk)} byte(s) appended")


def corrupt_streams(
    driver: DriverRef,
    data: st.SearchStrategy[bytes] | None = None,
    *,
    params: Mapping[str, object] | None = None,
) -> st.SearchStrategy[CorruptStream]:
    """Damaged versions of ``driver``'s streams: bit flips, overwrites, truncation, junk.

    A damaged stream may still decode (deflate has no checksum): what must
    never happen is an output past the dst or an error that is not an AcompError.
    """
    return _corrupt(compressed_streams(driver, data, params=params))


@st.composite
def _truncated(draw: st.DrawFn, streams: st.SearchStrategy[CompressedStream]) -> CorruptStream:
    cs = draw(streams)
    cut = draw(st.integers(0, len(cs.stream) - 1)) if cs.stream else 0
    return CorruptStream(cs.original, cs.stream[:cut], f"truncated to {cut} of {len(cs.stream)} bytes")


def truncated_streams(
    driver: DriverRef,
    data: st.SearchStrategy[bytes] | None = None,
    *,
    params: Mapping[str, object] | None = None,
) -> st.SearchStrategy[CorruptStream]:
    """Strict prefixes of ``driver``'s streams of non-empty inputs."""
    source = data if data is not None else st.one_of(pages(), folios(1, 4))
    return _truncated(compressed_streams(driver, source.filter(bool), params=params))


@st.composite
def _planted(
    draw: st.DrawFn,
    driver: DriverRef,
    op: str,
    min_size: int,
    max_size: int,
    fail_rate: float,
    params: Mapping[str, object] | None,
) -> list[PlantedRequest]:
    tfm = _tfm(driver, params)
    n = draw(st.integers(min_size, max_size))
    out: list[PlantedRequest] = []
    for _ in range(n):
        # Shrinks towards 0, i.e. towards "no failure planted here".
        fail = draw(st.integers(0, 99)) >= 100 - round(fail_rate * 100)
        if op == "compress":
            if fail:
                page = make_page("random", draw(st.integers(0, 2**32 - 1)))
                out.append(PlantedRequest(page, PAGE_SIZE // 2, "nospace", page, "random page"))
            else:
                kind, page = draw(labelled_pages())
                cap = tfm.driver.compress_bound(len(page))
                out.append(PlantedRequest(page, cap, "ok", page, f"{kind} page"))
            continue
        kind, page = draw(labelled_pages())
        stream = _compress(tfm, page)
        if not fail:
            extra = draw(st.sampled_from((0, 0, 1, PAGE_SIZE)))
            out.append(PlantedRequest(stream, len(page) + extra, "ok", page, f"{kind} page's stream"))
        elif draw(st.booleans()):
            out.append(PlantedRequest(stream, len(page) // 2, "nospace", page, f"{kind} page's stream"))
        else:
            out.append(
                PlantedRequest(stream[: len(stream) // 2], len(page), "corrupt", page, f"truncated {kind} stream")
            )
    return out


def planted_batches(
    driver: DriverRef,
    op: Literal["compress", "decompress"],
    *,
    min_size: int = 1,
    max_size: int | None = None,
    fail_rate: float = 0.3,
    params: Mapping[str, object] | None = None,
) -> st.SearchStrategy[list[PlantedRequest]]:
    """Batches of :class:`PlantedRequest` with failures planted at random positions.

    ``compress``: pages with a dst of ``compress_bound`` (``ok``) or random
    pages into half a page (``nospace``).  ``decompress``: the driver's streams
    of pages into a dst of at least the page (``ok``), into half the page
    (``nospace``), or cut in half (``corrupt``).  ``max_size`` defaults to
    the driver's ``batch_size``.
    """
    if op not in ("compress", "decompress"):
        raise ValueError(f"op must be 'compress' or 'decompress', got {op!r}")
    top = max_size if max_size is not None else _tfm(driver, params).batch_size
    if not 0 <= min_size <= top:
        raise ValueError(f"need 0 <= min_size <= max_size, got {min_size}, {top}")
    return _planted(driver, op, min_size, top, fail_rate, params)
