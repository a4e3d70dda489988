"""Streaming CSV: every column read as text, in blocks, with malformed rows reported.

Rows are numbered as in the file with the header as row 1 (the same as line
numbers unless a quoted value spans lines). A row with the wrong number of
fields is reported and skipped; the rest of the file goes on.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from truceline.domain.errors import InputError, Problem
from truceline.intake.chunk import CHUNK_ROWS, RawChunk

__all__ = [
    "BLOCK_BYTES",
    "MAX_COLUMNS",
    "check_names",
    "check_text_encoding",
    "check_utf8",
    "csv_header",
    "iter_csv",
    "require_columns",
]

#: bytes parsed per block; about 50,000 rows of typical observation CSV; also the
#: longest row accepted
BLOCK_BYTES = 4 << 20
#: the most columns a file may have
MAX_COLUMNS = 500
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def check_text_encoding(path: Path) -> None:
    """Refuse a file that starts with a UTF-16/32 byte order mark: we read UTF-8 only."""
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    if head.startswith(_UTF16_BOMS):
        raise InputError(f"{path}: the file is UTF-16 or UTF-32 encoded: convert it to UTF-8")


def check_utf8(path: Path) -> None:
    """Refuse a file that is not UTF-8 text, naming where it stops being so (one fast pass)."""
    check_text_encoding(path)
    dec = codecs.getincrementaldecoder("utf-8")()
    done = 0
    try:
        with path.open("rb") as f:
            while block := f.read(BLOCK_BYTES):
                dec.decode(block)
                done += len(block)
            dec.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text near byte {done + exc.start}") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc


def check_names(path: Path, names: list[str]) -> None:
    """Refuse too many columns, or a column name given twice (which would hide a value)."""
    if len(names) > MAX_COLUMNS:
        raise InputError(f"{path}: {len(names)} columns (the most accepted is {MAX_COLUMNS})")
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise InputError(f"{path}: column {n!r} appears more than once")
        seen.add(n)


def csv_header(path: Path) -> list[str]:
    """The column names on the first row of ``path``."""
    check_text_encoding(path)
    try:
        with path.open("rb") as f:
            first = f.readline(BLOCK_BYTES)
        if len(first) >= BLOCK_BYTES and not first.endswith(b"\n"):
            raise InputError(f"{path}: the header row is longer than {BLOCK_BYTES >> 20} MiB")
        text = first.decode("utf-8-sig")
        header = [c.strip() for c in next(csv.reader(io.StringIO(text, newline="")), [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the CSV header: {exc}") from exc
    check_names(path, header)
    return header


def require_columns(path: Path, needed: Iterable[str], layout: str) -> None:
    """Refuse ``path`` unless its header has every column of ``needed``."""
    missing = sorted(set(needed) - set(csv_header(path)))
    if missing:
        raise InputError(f"{path}: not {layout} CSV: missing column(s) {', '.join(missing)}")


class _RowNumbers:
    """Gives each parsed row its number in the file, skipping the rows reported bad."""

    def __init__(self) -> None:
        self.next = 2  # row 1 is the header
        self.skipped: list[int] = []

    def take(self, k: int) -> npt.NDArray[np.int64]:
        pending = np.array(sorted(s for s in self.skipped if s >= self.next), dtype=np.int64)
        nums = np.arange(self.next, self.next + k + len(pending), dtype=np.int64)
        nums = nums[~np.isin(nums, pending)][:k]
        if k:
            self.next = int(nums[-1]) + 1
        return nums


def _handler(
    path: Path, numbers: _RowNumbers, problems: list[Problem]
) -> Callable[[pacsv.InvalidRow], str]:
    def handle(row: pacsv.InvalidRow) -> str:
        if row.number is not None:
            numbers.skipped.append(int(row.number))
        problems.append(
            Problem(
                f"expected {row.expected_columns} fields, found {row.actual_columns}",
                str(path),
                row.number,
            )
        )
        return "skip"

    return handle


def iter_csv(path: Path, rows: int = CHUNK_ROWS) -> Iterator[RawChunk]:
    """Stream ``path`` as chunks of text columns named by its header."""
    check_utf8(path)
    header = csv_header(path)
    numbers, problems = _RowNumbers(), list[Problem]()
    total = os.path.getsize(path)
    read_opts = pacsv.ReadOptions(use_threads=False, block_size=BLOCK_BYTES)
    parse_opts = pacsv.ParseOptions(
        newlines_in_values=True, invalid_row_handler=_handler(path, numbers, problems)
    )
    convert_opts = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in header}, strings_can_be_null=False
    )
    try:
        with path.open("rb") as f:
            reader = pacsv.open_csv(f, read_opts, parse_opts, convert_opts)
            for batch in reader:
                for start in range(0, max(batch.num_rows, 1), rows):
                    part = batch.slice(start, rows)
                    cols = {
                        name.strip(): part.column(i) for i, name in enumerate(part.schema.names)
                    }
                    yield RawChunk(cols, numbers.take(part.num_rows), problems[:], f.tell(), total)
                    problems.clear()
            if problems:
                yield RawChunk({}, np.zeros(0, np.int64), problems[:], total, total)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        if "straddling" in str(exc):
            raise InputError(
                f"{path}: a row after line {numbers.next - 1} is longer than "
                f"{BLOCK_BYTES >> 20} MiB (the longest accepted); the rows before it were read"
            ) from exc
        raise InputError(f"{path}: cannot read as CSV: {exc}") from exc
