"""The native observation layout, as CSV or Parquet.

Columns are those of ``OBSERVATION_SCHEMA`` by name (any order, any subset that
includes the required ones); ``t`` is ISO-8601 with ``Z`` or an offset (CSV), epoch
seconds, or a zoned Arrow timestamp (Parquet). The benchmark layout
``id,t,lon,lat,radius_m,kind,weapon_class,source_id,source_type`` is native too:
``id`` is taken as ``client_id`` when there is no ``client_id`` column. Other
columns are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from truceline.domain.errors import InputError
from truceline.domain.observations import OBSERVATION_SCHEMA
from truceline.intake.chunk import CHUNK_ROWS, ParsedChunk, RawChunk
from truceline.intake.csvfile import check_names, iter_csv
from truceline.intake.validate import normalise

__all__ = ["NATIVE_COLUMNS", "native_columns", "read_native_csv", "read_parquet"]

NATIVE_COLUMNS = frozenset(OBSERVATION_SCHEMA.names)
#: the largest Parquet row group accepted, in rows and in decoded bytes
MAX_GROUP_ROWS = 8_000_000
MAX_GROUP_BYTES = 512 << 20


def native_columns(cols: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Keep the schema's columns; ``id`` stands for ``client_id`` when that is absent."""
    out = {k: v for k, v in cols.items() if k in NATIVE_COLUMNS}
    if "client_id" not in out and "id" in cols:
        out["client_id"] = cols["id"]
    return out


def read_native_csv(path: Path) -> Iterator[ParsedChunk]:
    for raw in iter_csv(path):
        yield normalise(
            RawChunk(native_columns(raw.columns), raw.lines, raw.problems, raw.done, raw.total),
            str(path),
        )


def _check_parquet(path: Path, pf: pq.ParquetFile) -> None:
    """Refuse a Parquet file whose row groups would decode to more than we hold at once."""
    check_names(path, list(pf.schema_arrow.names))
    meta = pf.metadata
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        if rg.num_rows > MAX_GROUP_ROWS or rg.total_byte_size > MAX_GROUP_BYTES:
            raise InputError(
                f"{path}: row group {i} holds {rg.num_rows} rows, {rg.total_byte_size} bytes "
                f"decoded (the most accepted: {MAX_GROUP_ROWS} rows, {MAX_GROUP_BYTES >> 20} MiB; "
                "write it with smaller row groups)"
            )


def read_parquet(path: Path, rows: int = CHUNK_ROWS) -> Iterator[ParsedChunk]:
    try:
        pf = pq.ParquetFile(path)
        _check_parquet(path, pf)
        total = pf.metadata.num_rows
        wanted = [n for n in pf.schema_arrow.names if n in NATIVE_COLUMNS or n == "id"]
        done = 0
        for batch in pf.iter_batches(batch_size=rows, columns=wanted):
            lines = np.arange(done + 1, done + batch.num_rows + 1, dtype=np.int64)
            done += batch.num_rows
            cols = {n: batch.column(i) for i, n in enumerate(batch.schema.names)}
            raw = RawChunk(native_columns(cols), lines, [], done, total, "rows")
            yield normalise(raw, str(path))
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot read as Parquet: {exc}") from exc
