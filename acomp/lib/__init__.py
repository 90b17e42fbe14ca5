"""Codec helpers shared by drivers (kernel: ``lib/zlib_inflate``, ``lib/zlib_deflate``)."""

from acomp.lib.inflate import inflate_bounded

__all__ = ["inflate_bounded"]
