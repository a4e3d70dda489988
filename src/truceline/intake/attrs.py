"""The facts an observation states in ``attrs`` that rules read: checked at intake.

- ``state``: the foreign state of a unit or flight, an ISO 3166-1 alpha-3 code
  (``USA``); a code that is not one is a bad record (a typo must not hide a foreign
  force), an empty or absent one stays "unknown state";
- ``inspected``: what an inspection counted at a storage site, per weapon class
  (``{"tank": 8, "artillery_ge100": 0}``), whole numbers from 0.

Only the rows whose ``attrs`` mention one of these keys are parsed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from truceline.domain.states import STATE_FORM, is_state_code
from truceline.domain.vocab import WeaponClass

__all__ = ["attr_problems"]

_KEYS = ("state", "inspected")
_CLASSES = tuple(w.value for w in WeaponClass)
_MAX = 2**31 - 1


def attr_problems(attrs: pa.Array) -> Iterator[tuple[int, str, str]]:
    """(row, field, reason) of each fact in ``attrs`` (JSON text) that is not well formed."""
    mention = np.zeros(len(attrs), dtype=bool)
    for key in _KEYS:
        hit = pc.fill_null(pc.match_substring(attrs, f'"{key}"'), False)
        mention |= np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)
    for row in np.flatnonzero(mention).tolist():
        try:
            doc = json.loads(str(attrs[row].as_py()))
        except ValueError:
            continue  # not JSON at all: the attrs check names it
        if not isinstance(doc, dict):
            continue
        if "state" in doc:
            reason = _state(doc["state"])
            if reason:
                yield row, "attrs.state", reason
        if "inspected" in doc:
            reason = _inspected(doc["inspected"])
            if reason:
                yield row, "attrs.inspected", reason


def _state(v: object) -> str | None:
    if v is None or v == "":
        return None  # "unknown state"
    if isinstance(v, str) and is_state_code(v.strip().upper()):
        return None
    return f"attrs.state {v!r} is not {STATE_FORM}; leave it empty for an unknown state"


def _inspected(v: object) -> str | None:
    form = 'an object of weapon class to count from 0, e.g. {"tank": 8}'
    if not isinstance(v, dict) or not v:
        return f"attrs.inspected must be {form}, got {v!r}"
    for cls, n in v.items():
        if cls not in _CLASSES:
            return f"attrs.inspected: {cls!r} is not one of {', '.join(_CLASSES)}"
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= _MAX:
            return f"attrs.inspected.{cls}: {n!r} is not a whole number from 0 to {_MAX}"
    return None
