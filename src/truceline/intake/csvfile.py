"""Streaming CSV: every column read as text, in blocks, with malformed rows reported.

Rows are numbered as in the file with the header as row 1 (the same as line
numbers unless a quoted value spans lines). A row with the wrong number of
fields is reported and skipped; the rest of the file goes on.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from truceline.domain.errors import InputError, Problem
from truceline.intake.chunk import CHUNK_ROWS, RawChunk

__all__ = ["BLOCK_BYTES", "csv_header", "iter_csv", "require_columns"]

#: bytes parsed per block; about 50,000 rows of typical observation CSV
BLOCK_BYTES = 4 << 20


def csv_header(path: Path) -> list[str]:
    """The column names on the first row of ``path``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return [c.strip() for c in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the CSV header: {exc}") from exc


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
        raise InputError(f"{path}: cannot read as CSV: {exc}") from exc
