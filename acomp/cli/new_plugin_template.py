"""The files ``acomp new-plugin`` writes (:mod:`acomp.cli.new_plugin`), as :class:`string.Template` texts.

``$name`` is the plugin (entry-point) name, ``$dist`` the distribution,
``$module`` the package, ``$alg`` the algorithm, ``$driver`` the driver name,
``$cls`` the driver class; ``$codec_*`` come from :data:`CODECS`, the stdlib
codec the driver starts with (the author replaces it with theirs).
"""

from __future__ import annotations

from string import Template

import attrs

__all__ = ["CODECS", "FILES", "Codec"]


@attrs.define(frozen=True, slots=True)
class Codec:
    """A stdlib codec the skeleton's driver can start from."""

    #: What the driver's docstring calls it.
    title: str
    import_line: str
    level_low: int
    level_high: int
    level_default: int
    #: Why this default (a comment in the driver).
    level_note: str
    #: The body of ``compress``: sets ``out`` from ``src`` and ``self._level``.
    compress_body: str
    #: The body of ``decompress``: returns at most ``capacity`` bytes, or raises.
    decompress_body: str
    #: The return expression of ``compress_bound(slen)``.
    bound: str
    bound_note: str


_BOUNDED_STREAM = """\
        d = $codec_decompressor
        try:
            # Never more than capacity: max_length stops the decoder there
            # (0 would return nothing at all, so a 0-byte dst asks for 1 byte).
            out = d.decompress(src, max(capacity, 1))
            if len(out) > capacity:
                raise acomp.NoSpace(f"output exceeds dst capacity {capacity}")
            if not d.eof:
                # Stopped at capacity: one more byte tells "does not fit" from "done".
                if not d.needs_input and d.decompress(b"", 1):
                    raise acomp.NoSpace(f"output exceeds dst capacity {capacity}")
                if not d.eof:
                    raise acomp.InvalidData("truncated stream")
        except $codec_errors as exc:  # the codec's "invalid data": never let it escape
            raise acomp.InvalidData(f"corrupt stream: {exc}") from None
        if d.unused_data:
            raise acomp.InvalidData(f"{len(d.unused_data)} bytes of junk after the stream")
        return out
"""

#: The codecs ``--codec`` offers, by name.
CODECS: dict[str, Codec] = {
    "zlib": Codec(
        title="raw deflate (zlib)",
        import_line="import zlib",
        level_low=0,
        level_high=9,
        level_default=6,
        level_note="zlib's default",
        compress_body="""\
        c = zlib.compressobj(self._level, zlib.DEFLATED, -12)  # raw deflate, 4 KiB window
        out = c.compress(src) + c.flush()
""",
        decompress_body="""\
        d = zlib.decompressobj(-15)  # reads any raw deflate window
        try:
            # Never more than capacity: max_length stops inflate there
            # (zlib reads 0 as "no limit", so a 0-byte dst asks for 1 byte).
            out = d.decompress(src, max(capacity, 1))
            if len(out) > capacity:
                raise acomp.NoSpace(f"output exceeds dst capacity {capacity}")
            if not d.eof:
                # Stopped at capacity: one more byte tells "does not fit" from "done".
                if d.decompress(d.unconsumed_tail, 1):
                    raise acomp.NoSpace(f"output exceeds dst capacity {capacity}")
                if not d.eof:
                    raise acomp.InvalidData("truncated stream")
        except zlib.error as exc:  # the codec's "invalid data": never let it escape
            raise acomp.InvalidData(f"corrupt stream: {exc}") from None
        return out
""",
        bound="slen + ((slen + 7) >> 3) + ((slen + 63) >> 6) + 5",
        bound_note="zlib's deflateBound() for any window",
    ),
    "bz2": Codec(
        title="bzip2 (bz2)",
        import_line="import bz2",
        level_low=1,
        level_high=9,
        level_default=1,
        level_note="bzip2's level only sets the block size: for pages, only the decoder's memory changes",
        compress_body="""\
        out = bz2.compress(src, self._level)
""",
        decompress_body=Template(_BOUNDED_STREAM).substitute(
            codec_decompressor="bz2.BZ2Decompressor()", codec_errors="(OSError, ValueError, EOFError)"
        ),
        bound="slen + slen // 100 + 600",
        bound_note="bzip2's worst case, 1% more plus 600 bytes",
    ),
    "lzma": Codec(
        title="xz (lzma)",
        import_line="import lzma",
        level_low=0,
        level_high=9,
        level_default=6,
        level_note="xz's default preset",
        compress_body="""\
        out = lzma.compress(src, format=lzma.FORMAT_XZ, preset=self._level)
""",
        decompress_body=Template(_BOUNDED_STREAM).substitute(
            codec_decompressor="lzma.LZMADecompressor(format=lzma.FORMAT_XZ)", codec_errors="lzma.LZMAError"
        ),
        bound="slen + slen // 16 + 256",
        bound_note="xz's worst case, with room for its headers",
    ),
}

_PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "$driver: a $alg compression driver for acomp"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["acomp>=0.1"]

[project.optional-dependencies]
# What the conformance kit needs (hypothesis and pytest), nothing else.
testing = ["acomp[testing]"]

# The line that makes acomp find the plugin: group "acomp.plugins", name "$name"
# (the plugin's name in `acomp list`), value: the module with the acomp_register_drivers hook.
[project.entry-points."acomp.plugins"]
$name = "$module"

[tool.setuptools]
packages = ["$module"]

[tool.setuptools.package-data]
$module = ["py.typed"]

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra --strict-markers -p no:cacheprovider"

[tool.mypy]
strict = true

[tool.ruff]
line-length = 120

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP", "RUF"]

[tool.ruff.lint.isort]
known-first-party = ["$module"]
"""

_DRIVER = '''\
"""$driver: $alg compression for acomp (plugin "$name").

Written by ``acomp new-plugin``.  The driver starts with $codec_title as its
codec: replace the bodies of ``compress``, ``decompress`` and
``compress_bound`` with your codec's, and keep the three rules they follow:

* a dst that is too small is ``acomp.NoSpace`` (ENOSPC), never a truncated output;
* decompression never produces, or allocates, more than ``capacity`` bytes:
  bound the decoder, do not inflate everything and check afterwards;
* corrupt or truncated input is ``acomp.InvalidData`` (EINVAL) or
  ``acomp.BadMessage`` (EBADMSG); no exception of the codec escapes.

``pytest`` runs acomp's conformance kit on it (tests/test_conformance.py).
"""

from __future__ import annotations

$codec_import_line
from typing import ClassVar

import acomp
from acomp.driver import BufferLike, Driver, RegisterDriver, hookimpl

__all__ = ["DEFAULT_LEVEL", "$cls", "acomp_register_drivers"]

__version__ = "0.1.0"

#: $codec_level_note
DEFAULT_LEVEL = $codec_level_default


class $cls(Driver):
    """$alg in software, on $codec_title."""

    alg_name = "$alg"  # what callers allocate (kernel: cra_name)
    driver_name = "$driver"  # unique among all drivers (kernel: cra_driver_name)
    priority = 100  # the best driver of an algorithm is allocated by name (kernel: cra_priority)
    params: ClassVar[dict[str, object]] = {"level": DEFAULT_LEVEL}  # what acomp.alloc("$alg", level=...) accepts

    def __init__(self, **params: object) -> None:
        super().__init__(**params)  # refuses unknown parameters (EINVAL), fills self.config
        self._level = self.int_param("level", $codec_level_low, $codec_level_high)

    def compress(self, src: BufferLike, capacity: int) -> bytes:
        # Keeps no state between calls: safe from any number of threads.
$codec_compress_body        return self.fit(out, capacity)  # NoSpace (ENOSPC) when it does not fit

    def decompress(self, src: BufferLike, capacity: int) -> bytes:
$codec_decompress_body
    def compress_bound(self, slen: int) -> int:
        # The dst acomp gives compress when the caller passes none: $codec_bound_note.
        return $codec_bound


@hookimpl
def acomp_register_drivers(register: RegisterDriver) -> None:
    register($cls)
'''

_CONFTEST = '''\
"""Make the kit's hypothesis profile (ci, dev or thorough) hypothesis' default too.

The kit runs its properties under ``$$HYPOTHESIS_PROFILE`` (else ``ci`` when
``$$CI`` is set, else ``dev``) whatever is loaded; loading it here makes
pytest's header ("hypothesis profile ...") name the profile in use.
"""

import acomp.testing

acomp.testing.load_profile()
'''

_TEST_CONFORMANCE = '''\
"""$driver through acomp's conformance kit, found the way users find it: the entry point."""

from __future__ import annotations

import acomp
import acomp.testing
import pytest

import $module


class Test${cls}Conformance(acomp.testing.ConformanceSuite):
    """Every property of the kit, one test each (pytest -k dst_bounds runs one)."""

    driver = "$driver"


def test_discovered_through_the_entry_point() -> None:
    rec = next(r for r in acomp.algorithms() if r.driver_name == "$driver")
    assert rec.plugin == "$name"  # the entry point's name
    assert rec.alg_name == "$alg"
    assert rec.driver_cls is $module.$cls


@pytest.mark.parametrize("level", [$codec_level_low, $codec_level_high])
def test_levels_round_trip(level: int) -> None:
    data = acomp.testing.strategies.make_page("text", level) * 3
    stream = acomp.compress(data, "$driver", level=level)
    assert acomp.decompress(stream, "$driver", max_size=len(data)) == data


@pytest.mark.parametrize("level", [$level_below, $level_above, "1", True])
def test_bad_level_is_einval(level: object) -> None:
    with pytest.raises(acomp.InvalidArgument):
        acomp.alloc("$driver", level=level)
'''

_TEST_ZSWAP = '''\
"""zswap uses $driver by name, as the kernel's zswap takes a compressor name."""

from __future__ import annotations

import pytest
from acomp import PAGE_SIZE
from acomp.testing.strategies import make_page

zswap = pytest.importorskip("acomp.zswap")


def test_zswap_stores_and_loads_a_folio() -> None:
    folio = b"".join(make_page(kind, 7) for kind in ("text", "binary", "mixed", "zero"))
    with zswap.Zswap(compressor="$driver", total_ram=64 << 20) as zs:
        assert zs.store(0, folio), "zswap refused a compressible folio"
        for i in range(4):
            out = bytearray(PAGE_SIZE)
            assert zs.load(i, out), f"page {i} is not in zswap"
            assert bytes(out) == folio[i * PAGE_SIZE : (i + 1) * PAGE_SIZE], f"page {i} differs"
'''

_README = """\
# $dist

`$driver`: $alg as an acomp compression driver, in one module
(plugin name `$name`).  Written by `acomp new-plugin`; its codec is $codec_title until
you replace it with yours.

```text
$dist/
  pyproject.toml            the package, its entry point (group "acomp.plugins"), the testing extra
  $module/__init__.py       the driver (an acomp.driver.Driver subclass) and its register hook
  tests/conftest.py         loads the kit's hypothesis profile
  tests/test_conformance.py acomp's conformance kit on the driver, and its parameters
  tests/test_zswap.py       zswap stores and loads a folio with it
```

## Install and test

```console
$$ pip install -e ".[testing]"          # acomp[testing]: the kit's hypothesis and pytest
$$ acomp list --driver $driver          # found through the entry point
$$ pytest                                # the conformance kit, the parameters, zswap
$$ HYPOTHESIS_PROFILE=thorough pytest -k conformance   # a long campaign
```

## Use

```python
import acomp

tfm = acomp.alloc("$alg")  # by algorithm name (the highest priority wins) or "$driver"
req = acomp.Request(b"hello " * 1000)
tfm.compress(req)
assert acomp.decompress(req.output(), "$driver", max_size=6000) == b"hello " * 1000
```

## Make it yours

Replace the codec in `$module/__init__.py` (`compress`, `decompress`, `compress_bound`),
keeping its three rules: `acomp.NoSpace` when the dst is too small, a decoder bounded by
`capacity`, and `acomp.InvalidData` for corrupt or truncated input.  Then run `pytest`:
every failure names the property it broke.  acomp's plugin guide (docs/plugins.md) covers
batch hooks, the capability flags and typing (`mypy --strict`).
"""

#: Path (relative to the project directory, ``$module`` substituted) -> its template.
FILES: dict[str, Template] = {
    "pyproject.toml": Template(_PYPROJECT),
    "README.md": Template(_README),
    "$module/__init__.py": Template(_DRIVER),
    "$module/py.typed": Template(""),
    "tests/conftest.py": Template(_CONFTEST),
    "tests/test_conformance.py": Template(_TEST_CONFORMANCE),
    "tests/test_zswap.py": Template(_TEST_ZSWAP),
}
