"""The canonical form: the fast path and the columnar one equal the rfc8785 reference byte
for byte."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.domain.errors import InputError
from truceline.ledger.canonical import canonical_bytes
from truceline.ledger.columnar import canonical_rows, entry_rows
from truceline.ledger.log import entry_data

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json: Any = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _json, max_size=8))
def test_fast_path_equals_rfc8785(record: dict[str, Any]) -> None:
    try:
        want = rfc8785.dumps(record)
    except (rfc8785.CanonicalizationError, UnicodeError):
        with pytest.raises(InputError):
            canonical_bytes(record)
        return
    assert canonical_bytes(record) == want


def test_numbers_and_strings_follow_rfc8785() -> None:
    rec = {"b": 1.0, "a": 1e-7, "c": 1e21, "d": -0.0, "e": 0.1, "é": '\u2028\x01"\\'}
    assert canonical_bytes(rec) == rfc8785.dumps(rec)  # type: ignore[arg-type]
    assert canonical_bytes({"z": 1, "a": [2.50, None, True]}) == b'{"a":[2.5,null,true],"z":1}'


@pytest.mark.parametrize("v", [2.0**53, 9007199254740994.0, -9.5e15, 1e16 - 2, 2.0**60, 1e20])
def test_large_integral_floats_print_without_fraction(v: float) -> None:
    # Python's repr writes 9007199254740994.0; ECMAScript (RFC 8785) writes 9007199254740994
    assert canonical_bytes({"x": v, "y": [v]}) == rfc8785.dumps({"x": v, "y": [v]})


def test_values_outside_json_are_input_errors() -> None:
    with pytest.raises(InputError, match="RFC 8785"):
        canonical_bytes({"x": float("nan")})
    with pytest.raises(InputError):
        canonical_bytes({"x": 2**60})
    with pytest.raises(InputError):
        canonical_bytes({"x": object()})


# -- columns ------------------------------------------------------------------------

_COLUMN_VALUES: dict[str, Any] = {
    "string": (st.text(), pa.string()),
    "integer": (st.integers(-(2**53) + 1, 2**53 - 1), pa.int64()),
    "float": (st.floats(allow_nan=False, allow_infinity=False), pa.float64()),
    "boolean": (st.booleans(), pa.bool_()),
}


@st.composite
def _tables(draw: st.DrawFn) -> tuple[dict[str, pa.Array], list[dict[str, Any]]]:
    names = draw(st.lists(st.text(max_size=6), min_size=1, max_size=6, unique=True))
    n = draw(st.integers(1, 12))
    columns: dict[str, pa.Array] = {}
    for name in names:
        values, typ = _COLUMN_VALUES[draw(st.sampled_from(sorted(_COLUMN_VALUES)))]
        columns[name] = pa.array(draw(st.lists(st.none() | values, min_size=n, max_size=n)), typ)
    rows = [{k: c[i].as_py() for k, c in columns.items() if c[i].is_valid} for i in range(n)]
    return columns, rows


@settings(max_examples=300, deadline=None)
@given(_tables())
def test_columns_equal_rfc8785_row_by_row(table: tuple[dict[str, pa.Array], list[Any]]) -> None:
    columns, rows = table
    assert canonical_rows(columns).to_pylist() == [rfc8785.dumps(r) for r in rows]


_AWKWARD_FLOATS = [
    -0.0,
    0.0,
    5e-324,
    -5e-324,
    1e-7,
    1.5e-7,
    1e-6,
    0.1,
    1e15 + 0.5,
    2.0**53,
    2.0**53 + 2,
    1e16,
    -1.2e16,
    123456789012.345,
    1e20,
    1e21,
    1.5e21,
    -1.7976931348623157e308,
]
_AWKWARD_STRINGS = [
    "",
    "\x00",
    "\x1f\x7f",
    '"\\/',
    "\b\t\n\f\r",
    "\u2028\u2029",
    "é",
    "\U0001f600",
    "\ud7ff",
    "\ue000\uffff",
    "a\U00010000z",
]


def test_columns_of_awkward_values_equal_rfc8785() -> None:
    n = max(len(_AWKWARD_FLOATS), len(_AWKWARD_STRINGS))
    floats = (_AWKWARD_FLOATS * 2)[:n]
    strings = (_AWKWARD_STRINGS * 2)[:n]
    # keys ordered by UTF-16 code units: U+10000 (a surrogate pair) before U+E000
    keys = ["\U00010000", "\ue000", "a", "B", "é", "\x00"]
    columns = {k: pa.array(floats if i % 2 else strings) for i, k in enumerate(keys)}
    rows = [{k: c[i].as_py() for k, c in columns.items()} for i in range(n)]
    assert canonical_rows(columns).to_pylist() == [rfc8785.dumps(r) for r in rows]


def test_a_raw_column_is_nested_as_it_is_and_all_null_rows_are_empty_objects() -> None:
    inner = canonical_rows({"y": pa.array([1.5, None]), "x": pa.array(["é", None])})
    outer = canonical_rows({"z": pa.array([None, None], pa.int64()), "rec": inner}, raw={"rec"})
    assert outer.to_pylist() == [
        rfc8785.dumps({"rec": {"x": "é", "y": 1.5}}),
        rfc8785.dumps({"rec": {}}),
    ]
    assert canonical_rows({"a": pa.array([None], pa.string())}).to_pylist() == [b"{}"]


def test_columns_outside_json_are_input_errors() -> None:
    with pytest.raises(InputError, match="NaN"):
        canonical_rows({"x": pa.array([1.0, float("inf")])})
    with pytest.raises(InputError, match="2\\*\\*53"):
        canonical_rows({"x": pa.array([2**60])})
    with pytest.raises(InputError, match="canonical form"):
        canonical_rows({"x": pa.array([[1]])})


@settings(max_examples=200, deadline=None)
@given(
    _tables(),
    st.text(max_size=12),
    st.integers(-(2**53) + 1, 2**53 - 1),
    st.data(),
)
def test_entry_rows_equal_entry_data_row_by_row(
    table: tuple[dict[str, pa.Array], list[Any]], kind: str, at: int, data: st.DataObject
) -> None:
    columns, rows = table
    refs = data.draw(st.lists(st.text(), min_size=len(rows), max_size=len(rows)))
    got = entry_rows(kind, pa.array(refs, pa.string()), canonical_rows(columns), at)
    assert got.to_pylist() == [
        entry_data(kind, ref, rec, at) for ref, rec in zip(refs, rows, strict=True)
    ]
    assert got.to_pylist() == [
        rfc8785.dumps({"at": at, "kind": kind, "record": rec, "ref": ref})
        for ref, rec in zip(refs, rows, strict=True)
    ]


def test_entry_rows_refuse_what_an_entry_cannot_hold() -> None:
    records = canonical_rows({"x": pa.array([1, 2])})
    with pytest.raises(InputError, match="null"):
        entry_rows("k", pa.array(["a", None]), records, 1)
    with pytest.raises(InputError, match="2\\*\\*53"):
        entry_rows("k", pa.array(["a", "b"]), records, 2**60)
    with pytest.raises(ValueError, match="refs for"):
        entry_rows("k", pa.array(["a"]), records, 1)
