"""One way to print what list and show commands return: a table for people, JSON,
JSON lines or CSV for programs.

- ``--format table`` (the default): a Rich table that fits the terminal. Text cells
  wrap; ids, times and numbers never wrap and are never cut (when they cannot all
  fit, the table is printed wider than the terminal rather than cut); ``--wide``
  prints every cell on one line.
- ``--format json``: one JSON array (a list command) or one JSON object (a show
  command). ``--format jsonl``: one JSON object per line.
- ``--format csv``: a header of field names, then one row per record; nested values
  (lists, objects) are JSON text in their cell; a show command gives one row.

Machine formats are written as they are, whatever the terminal width; times are ISO
8601 in UTC with ``Z``; text from the data is never read as Rich markup.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from truceline.cli._common import console, fmt_time
from truceline.domain.errors import InputError

__all__ = [
    "FORMATS",
    "STATUS_CHANGE_COLS",
    "Col",
    "emit_list",
    "emit_record",
    "format_option",
    "iso",
    "plain",
    "print_table",
    "wide_option",
]

FORMATS = ("table", "json", "jsonl", "csv")
Kind = Literal["text", "id", "time", "num"]


def format_option() -> Any:
    """The ``--format`` option of a list or show command."""
    return typer.Option("table", "--format", help="table | json | jsonl | csv")


def wide_option() -> Any:
    """The ``--wide`` option: tables with every cell on one line."""
    return typer.Option(False, "--wide", help="tables at full width: no cell wrapped")


@dataclass(frozen=True, slots=True)
class Col:
    """A column: the record's ``key``, its table ``header`` and how a cell shows.

    ``kind`` "id", "time" and "num" cells never wrap; "text" cells wrap.
    ``show`` makes the table's text from the whole record (default: the value
    through :func:`cell_text`).
    """

    key: str
    header: str | None = None
    kind: Kind = "text"
    show: Callable[[Mapping[str, Any]], str] | None = None

    def text(self, row: Mapping[str, Any]) -> str:
        return self.show(row) if self.show is not None else cell_text(row.get(self.key))


#: the columns of a status change, an incident's or a finding's (its history)
STATUS_CHANGE_COLS = (
    Col("at", kind="time"),
    Col("from_status", "from"),
    Col("to_status", "to"),
    Col("actor"),
    Col("reason"),
    Col("ledger_index", "ledger", kind="id"),
)


def iso(t: int | float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with ``Z`` (``None`` stays ``None``)."""
    return None if t is None else fmt_time(t)


def plain(obj: Any, times: Iterable[str] = ()) -> Any:
    """``obj`` (a dataclass, mapping, sequence or scalar) as JSON-ready values, with
    the fields named in ``times`` (epoch seconds) as ISO 8601 strings."""
    keys = set(times)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {
            str(k): iso(v) if k in keys and isinstance(v, int | float) else plain(v, keys)
            for k, v in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [plain(v, keys) for v in obj]
    if isinstance(obj, bytes):
        return obj.hex()
    return obj


def cell_text(value: Any) -> str:
    """How a value reads in a table cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InputError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _csv_text(value: Any) -> str:
    """A CSV cell: as in a table, but a number at full precision."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else cell_text(value)


def _csv(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> None:
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(keys)
    for r in rows:
        w.writerow([_csv_text(r.get(k)) for k in keys])
    sys.stdout.flush()


def emit_list(
    rows: Sequence[Mapping[str, Any]],
    cols: Sequence[Col],
    fmt: str,
    *,
    title: str | None = None,
    wide: bool = False,
) -> None:
    """Print the records ``rows`` (JSON-ready mappings) in format ``fmt``.

    JSON and JSON lines carry every field of each record; the table and CSV show
    the ``cols``."""
    _check(fmt)
    if fmt == "json":
        _write(json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n")
    elif fmt == "jsonl":
        _write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    elif fmt == "csv":
        _csv(rows, [c.key for c in cols])
    else:
        print_table(_table(rows, cols, title, wide))


def _table(
    rows: Sequence[Mapping[str, Any]], cols: Sequence[Col], title: str | None, wide: bool
) -> Table:
    texts = [[c.text(r) for r in rows] for c in cols]
    heads = [c.header or c.key for c in cols]
    natural = [max(map(len, [h, *t])) for h, t in zip(heads, texts, strict=True)]
    widths = natural if wide else _fit(natural, [_min_width(c, h, t) for c, h, t in
                                                 zip(cols, heads, texts, strict=True)])  # fmt: skip
    table = Table(
        title=None if title is None else Text(title),
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    for c, h, w in zip(cols, heads, widths, strict=True):
        table.add_column(
            Text(h),
            width=w,
            no_wrap=c.kind != "text",
            justify="right" if c.kind == "num" else "left",
            overflow="fold",
        )
    for i in range(len(rows)):
        table.add_row(*(Text(t[i]) for t in texts))
    return table


def _min_width(c: Col, head: str, texts: Sequence[str]) -> int:
    """Ids, times and numbers at full length; text as wide as its longest word
    (up to 16), so that wrapping never breaks a word of a vocabulary."""
    if c.kind != "text":
        return max(map(len, [head, *texts]))
    return max(min(16, len(word)) for t in [head, *texts] for word in [*t.split(), ""])


def _fit(natural: list[int], minimum: list[int]) -> list[int]:
    """Column widths within the terminal: the widest text columns give way first,
    none below its minimum (then the table is wider than the terminal)."""
    room = console.width - _GAP * (len(natural) - 1)
    widths = list(natural)
    while sum(widths) > room:
        slack = [w - m for w, m in zip(widths, minimum, strict=True)]
        i = max(range(len(widths)), key=lambda j: (slack[j] > 0, widths[j]))
        if slack[i] <= 0:
            break
        widths[i] -= 1
    return widths


_GAP = 2  # between columns: one space of padding, one of the (blank) rule


def print_table(table: Table) -> None:
    """Print ``table`` to standard output; when its columns need more than the
    terminal's width, it is printed that wide rather than cut."""
    need = sum(c.width or 0 for c in table.columns) + _GAP * (len(table.columns) - 1)
    if need <= console.width:
        console.print(table, soft_wrap=False)
        return
    Console(
        file=console.file,
        width=need,
        force_terminal=console.is_terminal,
        color_system=console.color_system,  # type: ignore[arg-type]
        no_color=console.no_color,
    ).print(table, soft_wrap=False)


def emit_record(record: Mapping[str, Any], fmt: str, table: Callable[[], None]) -> None:
    """Print one record: ``table()`` renders it for people, else JSON, a JSON line
    or a one-row CSV of all its fields."""
    _check(fmt)
    if fmt == "table":
        table()
    elif fmt == "json":
        _write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "jsonl":
        _write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        _csv([record], list(record))
