"""Every parser, fed mangled input: no unhandled exception, always a named reason.

Each example starts from a real sample of its format and either damages its bytes
(random bytes spliced in, cut short) or replaces cells by arbitrary text. The parser
must then either refuse the file with one ``InputError`` naming it, or yield chunks
whose good rows satisfy the schema and whose problems each carry a reason.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truceline.domain.errors import InputError
from truceline.domain.observations import OBSERVATION_SCHEMA
from truceline.intake import read_observations

DATA = Path(__file__).parent / "data"
SAMPLES = {
    "native": ("mixed_native.csv", ".csv"),
    "jsonl": ("mixed.jsonl", ".jsonl"),
    "geojson": ("mixed.geojson", ".geojson"),
    "acled": ("mixed_acled.csv", ".csv"),
    "ucdp": ("mixed_ucdp.csv", ".csv"),
}
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(path: Path, fmt: str | None) -> None:
    try:
        chunks = list(read_observations(path, fmt))
    except InputError as exc:
        assert str(path) in str(exc) or path.name in str(exc)
        return
    for c in chunks:
        assert c.batch.schema == OBSERVATION_SCHEMA
        assert len(c.lines) == c.batch.num_rows
        assert all(p.reason for p in c.problems)


def _damage(data: bytes, at: int, noise: bytes, cut: int) -> bytes:
    at %= max(len(data), 1)
    damaged = data[:at] + noise + data[at:]
    return damaged[: max(len(damaged) - cut, 0)]


@FUZZ
@given(
    fmt=st.sampled_from(sorted(SAMPLES)),
    at=st.integers(min_value=0, max_value=10_000),
    noise=st.binary(max_size=64),
    cut=st.integers(min_value=0, max_value=200),
)
def test_damaged_bytes(fmt: str, at: int, noise: bytes, cut: int) -> None:
    name, ext = SAMPLES[fmt]
    data = _damage((DATA / name).read_bytes(), at, noise, cut)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{ext}"
        path.write_bytes(data)
        _outcome(path, fmt)
        _outcome(path, None)


_CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["true", "nan", "-inf", "1e400", "9" * 20, "", '"', "0001-01-01"]),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
)


@FUZZ
@given(
    fmt=st.sampled_from(["native", "acled", "ucdp"]),
    row=st.integers(min_value=1, max_value=5),
    cells=st.lists(_CELL, min_size=1, max_size=25),
)
def test_csv_cells_replaced(fmt: str, row: int, cells: list[str]) -> None:
    name, _ = SAMPLES[fmt]
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    width = len(lines[0].split(","))
    quoted = ['"' + c.replace('"', '""') + '"' for c in cells]
    lines[row] = ",".join((quoted * width)[:width])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
        _outcome(path, fmt)


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_FIELDS = st.sampled_from(["t", "lon", "lat", "radius_m", "kind", "source_id", "count", "attrs"])


@FUZZ
@given(values=st.dictionaries(_FIELDS, _JSON, min_size=1))
def test_jsonl_values_replaced(values: dict[str, object]) -> None:
    import json

    base = {"t": "2025-03-01T00:00:00Z", "lon": 37.5, "lat": 48.0, "radius_m": 10,
            "kind": "shot", "source_id": "s1"}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.jsonl"
        try:
            text = json.dumps({**base, **values}, allow_nan=True)
        except (TypeError, ValueError):
            return
        path.write_text(text + "\n" + json.dumps(base) + "\n", encoding="utf-8")
        _outcome(path, "jsonl")


@FUZZ
@given(
    column=st.sampled_from(["t", "lon", "count", "kind", "source_id"]),
    values=st.one_of(
        st.lists(st.floats(), min_size=2, max_size=2),
        st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=2, max_size=2),
        st.lists(st.text(max_size=20), min_size=2, max_size=2),
        st.lists(st.booleans(), min_size=2, max_size=2),
    ),
)
def test_parquet_columns_replaced(column: str, values: list[object]) -> None:
    cols: dict[str, object] = {
        "t": pa.array([1_740_787_200_000] * 2, pa.timestamp("ms", "UTC")),
        "lon": [37.5, 37.6],
        "lat": [48.0, 48.1],
        "radius_m": [10.0, 10.0],
        "kind": ["shot", "shot"],
        "source_id": ["s1", "s1"],
        "count": [1, 1],
    }
    cols[column] = values
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.parquet"
        pq.write_table(pa.table(cols), path)
        _outcome(path, "parquet")
        path.write_bytes(path.read_bytes()[:-9])  # a cut-off footer
        _outcome(path, "parquet")
