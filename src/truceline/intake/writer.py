"""Writing observations in the native layouts (CSV, Parquet, JSON lines, GeoJSON).

What :func:`write_observations` writes, :func:`read_observations` reads back to
the same rows: CSV and JSON carry ``t`` as ISO-8601 UTC (``2025-03-01T00:21:13Z``),
Parquet as epoch seconds, nulls are left out (JSON) or empty (CSV).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from truceline.domain.errors import InputError
from truceline.domain.observations import OBSERVATION_SCHEMA

__all__ = ["write_observations"]

_ISO = "%Y-%m-%dT%H:%M:%SZ"


def _conform(table: pa.Table) -> pa.Table:
    unknown = set(table.column_names) - set(OBSERVATION_SCHEMA.names)
    if unknown:
        raise InputError(f"not observation columns: {', '.join(sorted(unknown))}")
    cols = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in OBSERVATION_SCHEMA
    ]
    return pa.Table.from_arrays(cols, schema=OBSERVATION_SCHEMA)


def _iso_times(table: pa.Table) -> pa.Table:
    iso = pc.strftime(pc.cast(table.column("t"), pa.timestamp("s", "UTC")), format=_ISO)
    return table.set_column(table.schema.get_field_index("t"), "t", iso)


def _rows(table: pa.Table) -> Any:
    for batch in _iso_times(table).to_batches(max_chunksize=10_000):
        for row in batch.to_pylist():
            yield {k: v for k, v in row.items() if v is not None}


def _feature(row: dict[str, Any]) -> dict[str, Any]:
    lon, lat = row.pop("lon", None), row.pop("lat", None)
    geom = None if lon is None or lat is None else {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Feature", "geometry": geom, "properties": row}


def write_observations(path: str | Path, table: pa.Table) -> int:
    """Write ``table`` to ``path`` in the layout its extension names; returns the rows."""
    p = Path(path)
    t = _conform(table)
    ext = p.suffix.lower()
    try:
        if ext == ".parquet":
            pq.write_table(t, p)
        elif ext == ".csv":
            pacsv.write_csv(_iso_times(t), p)
        elif ext in (".jsonl", ".ndjson"):
            with p.open("w", encoding="utf-8") as f:
                for row in _rows(t):
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif ext in (".geojson", ".json"):
            with p.open("w", encoding="utf-8") as f:
                f.write('{"type": "FeatureCollection", "features": [\n')
                for i, row in enumerate(_rows(t)):
                    f.write((",\n" if i else "") + json.dumps(_feature(row), ensure_ascii=False))
                f.write("\n]}\n")
        else:
            raise InputError(f"{p}: write .csv, .parquet, .jsonl or .geojson")
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{p}: cannot write: {exc}") from exc
    return int(t.num_rows)
