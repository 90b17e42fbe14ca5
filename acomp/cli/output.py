"""Output helpers for the CLI: errors, tables, JSON, CSV and a tiny progress bar."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

__all__ = [
    "CliError",
    "Progress",
    "dump_json",
    "fmt_int",
    "fmt_num",
    "fmt_pct",
    "render_csv",
    "render_table",
]


class CliError(Exception):
    """A user-facing error: printed as one line ``acomp: error: <message>``, exit status ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


Cell = object


def _cell(value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _numeric(text: str) -> bool:
    t = text.replace(",", "").replace("%", "").replace("x", "").strip()
    if t in ("", "-"):
        return text.strip() == "-"
    try:
        float(t.lstrip("+"))
    except ValueError:
        return False
    return True


def render_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    title: str | None = None,
    rule: str = "-",
    align: str | None = None,
) -> str:
    """A plain-text table: text columns left-aligned, numeric columns right-aligned.

    A row that is an empty sequence draws a rule (a separator line).
    ``align`` (one ``l``/``r`` per column) overrides the guess.
    """
    text_rows = [[_cell(v) for v in row] for row in rows]
    ncols = len(headers)
    widths = [len(h) for h in headers]
    for row in text_rows:
        for i, cell in enumerate(row[:ncols]):
            widths[i] = max(widths[i], len(cell))
    numeric = [
        i > 0 and all(_numeric(r[i]) for r in text_rows if len(r) > i) and any(len(r) > i for r in text_rows)
        for i in range(ncols)
    ]

    if align:
        numeric = [i < len(align) and align[i] == "r" for i in range(ncols)]

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i in range(ncols):
            cell = cells[i] if i < len(cells) else ""
            parts.append(cell.rjust(widths[i]) if numeric[i] else cell.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    total = sum(widths) + 2 * (ncols - 1)
    out: list[str] = []
    if title:
        out.append(title)
    out.append(rule * total)
    out.append(line(list(headers)))
    out.append(rule * total)
    for row in text_rows:
        out.append(rule * total if not row else line(row))
    out.append(rule * total)
    return "\n".join(out)


def render_csv(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def dump_json(obj: Any, stream: IO[str] | None = None) -> None:
    stream = stream or sys.stdout
    json.dump(obj, stream, indent=2, sort_keys=False, default=str)
    stream.write("\n")


def fmt_int(value: float | int | None) -> str:
    """``1,234,567`` (the seed's style)."""
    if value is None:
        return "-"
    return f"{round(value):,}"


def fmt_num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def fmt_pct(new: float | None, base: float | None) -> str:
    """``+30%`` / ``-22%``: the change from ``base`` to ``new``."""
    if new is None or base is None or base == 0:
        return "-"
    pct = (new - base) * 100.0 / base
    return f"{pct:+.0f}%" if abs(pct) >= 1 else f"{pct:+.1f}%"


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal.

    ``with Progress(total, "compress") as bar: bar.update()``.  Redraws at
    most ten times a second, so it costs nothing measurable in a loop.
    """

    WIDTH = 30

    def __init__(self, total: int, label: str = "", stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = max(1, total)
        self.label = label
        self.done = 0
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = 0.0
        self._start = time.monotonic()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_label(self, label: str) -> None:
        self.label = label
        self._draw(force=True)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.enabled:
            self._draw()

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1 and self.done < self.total:
            return
        self._last = now
        frac = min(1.0, self.done / self.total)
        filled = int(frac * self.WIDTH)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        elapsed = now - self._start
        self.stream.write(f"\r{self.label[:28]:<28} [{bar}] {frac * 100:5.1f}% {elapsed:6.1f}s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()
            self.enabled = False


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend; a one-line error when it is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CliError("--plot needs matplotlib: pip install 'acomp[plot]'") from None
    return plt


def save_figure(plt: Any, fig: Any, title: str, path: str) -> None:
    """Title, lay out, write ``path`` and close ``fig``; an unwritable path is a CliError."""
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise CliError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
