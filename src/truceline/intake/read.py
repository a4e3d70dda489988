"""Format detection and the one entry point: :func:`read_observations`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

from truceline.domain.errors import InputError
from truceline.intake.acled import ACLED_COLUMNS, read_acled
from truceline.intake.chunk import ParsedChunk
from truceline.intake.csvfile import csv_header
from truceline.intake.jsonfile import read_geojson, read_jsonl
from truceline.intake.native import read_native_csv, read_parquet
from truceline.intake.ucdp import UCDP_COLUMNS, read_ucdp

__all__ = ["FORMATS", "detect_format", "read_observations", "resolve_format"]

Reader = Callable[[Path], Iterator[ParsedChunk]]

#: format name -> reader; ``native`` is the native CSV (or, by extension, the others)
FORMATS: dict[str, Reader] = {
    "native": read_native_csv,
    "parquet": read_parquet,
    "jsonl": read_jsonl,
    "geojson": read_geojson,
    "acled": read_acled,
    "ucdp": read_ucdp,
}
_BY_EXTENSION = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".geojson": "geojson",
}
_NATIVE_NEEDS = frozenset({"t", "kind", "source_id"})


def _json_kind(path: Path) -> str:
    """JSON lines if the first line is a whole JSON object (not a collection), else GeoJSON."""
    try:
        with path.open("rb") as f:
            first = f.readline(1 << 20)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    try:
        obj = json.loads(first)
    except ValueError:
        return "geojson"
    is_line = isinstance(obj, dict) and obj.get("type") != "FeatureCollection"
    return "jsonl" if is_line else "geojson"


def _csv_kind(path: Path) -> str:
    header = set(csv_header(path))
    if UCDP_COLUMNS <= header:
        return "ucdp"
    if ACLED_COLUMNS <= header:
        return "acled"
    if _NATIVE_NEEDS <= header:
        return "native"
    raise InputError(
        f"{path}: cannot tell the layout from the header: a native file needs columns "
        f"{', '.join(sorted(_NATIVE_NEEDS))}; UCDP GED needs {', '.join(sorted(UCDP_COLUMNS))}; "
        f"ACLED needs {', '.join(sorted(ACLED_COLUMNS))} (or pass --format)"
    )


def detect_format(path: Path) -> str:
    """The format of ``path`` from its extension and, for CSV, its header."""
    ext = path.suffix.lower()
    if ext in _BY_EXTENSION:
        return _BY_EXTENSION[ext]
    if ext == ".json":
        return _json_kind(path)
    return _csv_kind(path)


def resolve_format(path: Path, fmt: str | None = None) -> str:
    """The reader to use for ``path``: ``fmt`` if given (``native`` by extension), else detected."""
    if fmt is None:
        return detect_format(path)
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "native":
        if path.suffix.lower() == ".json":
            return _json_kind(path)
        return _BY_EXTENSION.get(path.suffix.lower(), "native")
    return fmt


def read_observations(path: str | Path, fmt: str | None = None) -> Iterator[ParsedChunk]:
    """Stream ``path`` as normalised chunks (good rows + problems), format detected."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    return FORMATS[resolve_format(p, fmt)](p)
