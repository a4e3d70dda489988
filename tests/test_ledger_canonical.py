"""The canonical form: the fast path equals the rfc8785 reference byte for byte."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.domain.errors import InputError
from truceline.ledger.canonical import canonical_bytes

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
