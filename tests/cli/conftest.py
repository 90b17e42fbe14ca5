"""Fixtures for the CLI tests: run ``acomp`` in-process or as a real process."""

from __future__ import annotations

from acomp_cli_helpers import cli, proc

__all__ = ["cli", "proc"]
