"""Fixtures for the CLI tests: run ``acomp`` in-process or as a real process."""

from __future__ import annotations

from acomp_cli_helpers import cli, proc
from acomp_model_plugins import iaa_model, linear_model

__all__ = ["cli", "iaa_model", "linear_model", "proc"]
