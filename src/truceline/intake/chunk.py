"""What every parser yields: a chunk of normalised observations and the problems found.

Parsers stream: each yields chunks of at most :data:`CHUNK_ROWS` rows, so memory
stays flat however large the file is. ``lines`` gives, for each row of ``batch``,
its 1-based place in the source: the CSV row (the header is row 1), the JSON
line, the Parquet row or the GeoJSON feature.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from truceline.domain.errors import Problem

__all__ = ["CHUNK_ROWS", "ParsedChunk", "RawChunk"]

#: the most rows a parser puts in one chunk
CHUNK_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class ParsedChunk:
    """Normalised good rows (``OBSERVATION_SCHEMA``), their source lines, and the bad ones."""

    batch: pa.RecordBatch
    lines: npt.NDArray[np.int64]
    problems: list[Problem] = field(default_factory=list)
    read: int = 0  # records read in this chunk, good and bad
    done: int = 0  # progress through the file, in ``unit``s
    total: int = 0
    unit: str = "bytes"  # "bytes" or "rows"


@dataclass(frozen=True, slots=True)
class RawChunk:
    """Columns as read (native names, any types), before validation."""

    columns: dict[str, pa.Array]
    lines: npt.NDArray[np.int64]
    problems: list[Problem] = field(default_factory=list)  # records unreadable as such
    done: int = 0
    total: int = 0
    unit: str = "bytes"
    bad: list[tuple[int, str, str]] = field(default_factory=list)  # (row, field, reason)

    @property
    def n(self) -> int:
        return len(self.lines)
