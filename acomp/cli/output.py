"""Output helpers for the CLI: errors, tables and progress bars (rich), JSON, CSV, plots."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table
from rich.text import Text

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
#: Tables are laid out at their natural width, never wrapped to a terminal.
_WIDE = 100_000


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
    align: str | None = None,
) -> str:
    """A table as text (rich): text columns left-aligned, numeric columns right-aligned.

    A row that is an empty sequence starts a new section (a blank line).
    ``align`` (one ``l``/``r`` per column) overrides the guess.  Cells are
    plain text (never rich markup), and the table is never squeezed to a
    terminal's width: a pipe gets the same lines as a terminal.
    """
    text_rows = [[_cell(v) for v in row] for row in rows]
    ncols = len(headers)
    numeric = [
        i > 0 and all(_numeric(r[i]) for r in text_rows if len(r) > i) and any(len(r) > i for r in text_rows)
        for i in range(ncols)
    ]
    if align:
        numeric = [i < len(align) and align[i] == "r" for i in range(ncols)]
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=False,
    )
    for i, header in enumerate(headers):
        table.add_column(Text(header), justify="right" if numeric[i] else "left", no_wrap=True)
    for row in text_rows:
        if not row:
            table.add_section()
            continue
        cells = [*row[:ncols], *([""] * (ncols - len(row)))]
        table.add_row(*(Text(c) for c in cells))
    buf = io.StringIO()
    Console(file=buf, width=_WIDE, color_system=None, force_terminal=False, soft_wrap=False).print(table)
    lines = [line.rstrip() for line in buf.getvalue().rstrip("\n").splitlines()]
    return "\n".join([title, *lines] if title else lines)  # a title never wraps to the table's width


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
    """A progress bar on stderr (rich), drawn only when stderr is a terminal.

    ``with Progress(total, "compress") as bar: bar.update()``.  ``update`` only
    adds to a counter; rich sees the count at most ten times a second, so a
    call per page costs no more than an integer add and a clock read
    (measured against the plain bar it replaced: see ``docs/cli.md``).
    ``total`` may be ``None`` (unknown): the bar then counts without a
    percentage.
    """

    _EVERY_S = 0.1

    def __init__(self, total: int | None, label: str = "", stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = None if total is None else max(1, total)
        self.label = label
        self.done = 0
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._next = 0.0
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        if self.enabled:
            console = Console(file=self.stream, stderr=self.stream is sys.stderr)
            self._bar = RichProgress(
                TextColumn("{task.description:<28.28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
                refresh_per_second=10,
            )
            self._task = self._bar.add_task(label, total=self.total)
            self._bar.start()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set_label(self, label: str) -> None:
        self.label = label
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=label, completed=self.done)

    def set_total(self, total: int | None) -> None:
        self.total = None if total is None else max(1, total)
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, total=self.total, completed=self.done)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            now = time.monotonic()
            if now >= self._next:
                self._next = now + self._EVERY_S
                assert self._task is not None
                self._bar.update(self._task, completed=self.done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
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
