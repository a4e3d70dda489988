"""JSON lines and GeoJSON, streamed.

JSON lines: one observation object per line (native field names); a line may
also hold a GeoJSON Feature (RFC 8142 style). GeoJSON: a FeatureCollection of
Point features whose properties are the native fields (``lon``/``lat`` come from
the point; a bearing-only observation has a null geometry). The collection is
scanned feature by feature, never loaded whole. ``lines`` are JSON line numbers
or 1-based feature numbers.
"""

from __future__ import annotations

import codecs
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import numpy as np
import pyarrow as pa

from truceline.domain.errors import InputError, Problem
from truceline.domain.observations import attrs_text
from truceline.intake.chunk import CHUNK_ROWS, ParsedChunk, RawChunk
from truceline.intake.csvfile import check_text_encoding
from truceline.intake.native import NATIVE_COLUMNS, native_columns
from truceline.intake.validate import normalise

__all__ = [
    "MAX_DEPTH",
    "MAX_RECORD_BYTES",
    "parse_records",
    "read_geojson",
    "read_jsonl",
    "read_objects",
]

_NAMES = tuple(sorted(NATIVE_COLUMNS | {"id"}))
_WS = re.compile(r"\s*")
_DECODER = json.JSONDecoder()
_READ = 1 << 20
#: the longest JSON line, and the largest GeoJSON feature, accepted
MAX_RECORD_BYTES = 4 << 20
#: the deepest nesting of arrays and objects accepted inside a record
MAX_DEPTH = 32

Row = dict[str, Any]


def _flatten(obj: Any) -> Row | str:
    """The observation fields of a JSON object or GeoJSON Feature, or why there are none."""
    if not isinstance(obj, dict):
        return "expected a JSON object"
    if obj.get("type") != "Feature":
        return obj
    props = obj.get("properties") or {}
    if not isinstance(props, dict):
        return "feature properties must be an object"
    row = dict(props)
    geom = obj.get("geometry")
    if geom is not None:
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            return "geometry must be a Point (or null for a bearing)"
        if not isinstance(coords, list) or len(coords) < 2:
            return "a Point needs coordinates [lon, lat]"
        row["lon"], row["lat"] = coords[0], coords[1]
    if "client_id" not in row and "id" not in row and obj.get("id") is not None:
        row["client_id"] = obj["id"]
    return row


def _depth(v: Any, limit: int) -> int:
    """How deep ``v`` nests (0 for a scalar), counting no further than ``limit``."""
    if limit <= 0 or not isinstance(v, dict | list):
        return 0
    items = v.values() if isinstance(v, dict) else v
    return 1 + max((_depth(x, limit - 1) for x in items), default=0)


def _too_deep(row: Row) -> str | None:
    for k, v in row.items():
        if isinstance(v, dict | list) and _depth(v, MAX_DEPTH) >= MAX_DEPTH:
            return str(k)
    return None


def _unencodable_field(row: Row) -> str | None:
    for k, v in row.items():
        try:
            json.dumps([k, v], ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return k.encode("utf-8", "backslashreplace").decode("ascii", "replace")
    return None


def _canonical_attrs(row: Row) -> Row | str:
    """``row`` with ``attrs`` sent as an object as its RFC 8785 text (what is signed),
    or the reason it has none."""
    attrs = row.get("attrs")
    if not isinstance(attrs, dict):
        return row
    try:
        return {**row, "attrs": attrs_text(attrs)}
    except InputError as exc:
        return f"attrs: {exc}"


def _column(values: list[Any]) -> pa.Array:
    vals = [json.dumps(v) if isinstance(v, dict | list) else v for v in values]
    kinds = {type(v) for v in vals if v is not None}
    try:
        if bool in kinds and len(kinds) > 1:
            raise pa.ArrowTypeError("booleans among other values")  # true is never 1.0
        return pa.array(vals)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in vals], type=pa.string())


class _Batcher:
    """Gathers flattened rows into normalised chunks."""

    def __init__(self, path: Path | str, total: int) -> None:
        self.path, self.total = path, total
        self.rows: list[Row] = []
        self.lines: list[int] = []
        self.problems: list[Problem] = []

    def add(self, line: int, obj: Any) -> None:
        row = _flatten(obj)
        if isinstance(row, str):
            field = "geometry" if "geometry" in row or "Point" in row else None
            self.problems.append(Problem(row, str(self.path), line, field))
        elif (deep := _too_deep(row)) is not None:
            reason = f"{deep} nests deeper than {MAX_DEPTH} levels"
            self.problems.append(Problem(reason, str(self.path), line, deep))
        elif isinstance(row := _canonical_attrs(row), str):
            self.problems.append(Problem(row, str(self.path), line, "attrs"))
        else:
            self.rows.append(row)
            self.lines.append(line)

    def full(self) -> bool:
        return len(self.rows) + len(self.problems) >= CHUNK_ROWS

    def _columns(self) -> dict[str, pa.Array]:
        present: set[str] = set().union(*self.rows) if self.rows else set()
        return {n: _column([r.get(n) for r in self.rows]) for n in _NAMES if n in present}

    def _drop_unencodable(self) -> None:
        """Refuse the rows holding text that is not Unicode (a lone ``\\udXXX`` escape)."""
        rows, lines = [], []
        for row, line in zip(self.rows, self.lines, strict=True):
            field = _unencodable_field(row)
            if field is None:
                rows.append(row)
                lines.append(line)
            else:
                reason = "text holds a lone surrogate escape (not valid Unicode)"
                self.problems.append(Problem(reason, str(self.path), line, field))
        self.rows, self.lines = rows, lines

    def flush(self, done: int) -> ParsedChunk:
        try:
            cols = self._columns()
        except UnicodeEncodeError:  # rare: checked row by row only then
            self._drop_unencodable()
            cols = self._columns()
        raw = RawChunk(
            native_columns(cols), np.array(self.lines, np.int64), self.problems, done, self.total
        )
        self.rows, self.lines, self.problems = [], [], []
        return normalise(raw, str(self.path))


def _lines(f: BinaryIO) -> Iterator[bytes | None]:
    """The lines of ``f``; ``None`` for a line longer than :data:`MAX_RECORD_BYTES`
    (which is skipped without being held in memory)."""
    while line := f.readline(MAX_RECORD_BYTES):
        if len(line) < MAX_RECORD_BYTES or line.endswith(b"\n"):
            yield line
            continue
        while (rest := f.readline(MAX_RECORD_BYTES)) and not rest.endswith(b"\n"):
            pass
        yield None


def _parse_line(line: bytes) -> Any:
    try:
        return json.loads(line)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def read_objects(objects: Sequence[Any], where: str) -> ParsedChunk:
    """Normalise decoded JSON objects (observations or Features) as one chunk; the
    line of each row or problem is the object's 1-based place in ``objects``."""
    batcher = _Batcher(where, len(objects))
    for n, obj in enumerate(objects, start=1):
        batcher.add(n, obj)
    return batcher.flush(len(objects))


def read_jsonl(path: Path) -> Iterator[ParsedChunk]:
    check_text_encoding(path)
    batcher = _Batcher(path, os.path.getsize(path))
    try:
        with path.open("rb") as f:
            for n, line in enumerate(_lines(f), start=1):
                if line is None:
                    reason = f"line longer than {MAX_RECORD_BYTES >> 20} MiB"
                    batcher.problems.append(Problem(reason, str(path), n))
                    continue
                if not line.strip():
                    continue
                try:
                    obj = _parse_line(line)
                except ValueError as exc:  # UnicodeDecodeError included
                    batcher.problems.append(Problem(f"not valid JSON: {exc}", str(path), n))
                    continue
                batcher.add(n, obj)
                if batcher.full():
                    yield batcher.flush(f.tell())
            yield batcher.flush(batcher.total)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc


class _Scanner:
    """Incremental JSON tokens over a byte stream (enough to walk a FeatureCollection)."""

    def __init__(self, f: BinaryIO, path: Path) -> None:
        self.f, self.path = f, path
        self.dec = codecs.getincrementaldecoder("utf-8-sig")()
        self.buf, self.pos, self.eof, self.done = "", 0, False, 0

    def _too_large(self) -> NoReturn:
        raise InputError(
            f"{self.path}: a JSON value (feature) near byte {self.done} is larger than "
            f"{MAX_RECORD_BYTES >> 20} MiB, the largest accepted"
        )

    def _more(self) -> bool:
        if len(self.buf) - self.pos > MAX_RECORD_BYTES:
            self._too_large()
        data = self.f.read(_READ)
        self.done += len(data)
        self.eof = not data
        try:
            text = self.dec.decode(data, final=self.eof)
        except UnicodeDecodeError as exc:
            raise InputError(f"{self.path}: not UTF-8 text near byte {self.done}") from exc
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        return not self.eof

    def peek(self) -> str:
        while True:
            m = _WS.match(self.buf, self.pos)
            self.pos = m.end() if m else self.pos
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos : self.pos + 1]

    def expect(self, ch: str) -> None:
        if self.peek() != ch:
            raise InputError(f"{self.path}: not a GeoJSON FeatureCollection (expected {ch!r})")
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                val, end = _DECODER.raw_decode(self.buf, self.pos)
            except RecursionError:
                raise InputError(f"{self.path}: JSON nested too deeply") from None
            except ValueError as exc:
                if self._more():
                    continue
                raise InputError(f"{self.path}: invalid JSON: {exc}") from exc
            if end == len(self.buf) and not self.eof and self._more():
                continue
            if end - self.pos > MAX_RECORD_BYTES:
                self._too_large()
            self.pos = end
            return val


def _features(s: _Scanner) -> Iterator[Any]:
    s.expect("{")
    while s.peek() != "}":
        key = s.value()
        s.expect(":")
        if key != "features":
            s.value()
        else:
            s.expect("[")
            while s.peek() != "]":
                yield s.value()
                if s.peek() == ",":
                    s.pos += 1
            s.pos += 1
        if s.peek() == ",":
            s.pos += 1
        elif s.peek() != "}":
            raise InputError(f"{s.path}: not a GeoJSON FeatureCollection (expected ',' or '}}')")


def read_geojson(path: Path) -> Iterator[ParsedChunk]:
    check_text_encoding(path)
    batcher = _Batcher(path, os.path.getsize(path))
    try:
        with path.open("rb") as f:
            scanner = _Scanner(f, path)
            for n, feature in enumerate(_features(scanner), start=1):
                batcher.add(n, feature)
                if batcher.full():
                    yield batcher.flush(scanner.done)
            yield batcher.flush(batcher.total)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc


def parse_records(records: Sequence[Any], origin: str) -> ParsedChunk:
    """Already-decoded JSON objects (or GeoJSON Features), as one normalised chunk.

    What a file's line gives, a submission over the API gives as a list: the same
    checks, each problem naming ``origin`` and the record's 1-based place.
    """
    batcher = _Batcher(Path(origin), len(records))
    for n, obj in enumerate(records, start=1):
        batcher.add(n, obj)
    chunk = batcher.flush(len(records))
    return replace(chunk, read=len(records), unit="rows")
