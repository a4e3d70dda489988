"""Validation and normalisation of raw columns into ``OBSERVATION_SCHEMA``.

Every check runs on whole columns (pyarrow compute / numpy); a Python loop runs
only over the rows found bad, to word their problems. A row with any problem is
left out of the batch; every problem names the file, line, field and reason.

Defaults: ``t_unc_s`` 0 (the time is exact), ``count`` 1, ``credibility`` 6
(cannot be judged). A point needs ``radius_m``; a bearing needs ``bearing_sd_deg``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from truceline.domain.errors import Problem
from truceline.domain.observations import MAX_DISTANCE_M, MAX_T_UNC_S, OBSERVATION_SCHEMA
from truceline.domain.vocab import CREDIBILITY, ObservationKind, SourceType, WeaponClass
from truceline.intake.attrs import attr_problems
from truceline.intake.chunk import ParsedChunk, RawChunk
from truceline.intake.convert import Bad, null_mask, to_epoch_seconds, to_float, to_int, to_text

__all__ = ["normalise"]

_DEFAULTS: dict[str, float | int] = {"t_unc_s": 0.0, "count": 1, "credibility": 6}
_REQUIRED = ("source_id", "t", "kind")
_MAX_LEN = {
    "source_id": 100,
    "source_type": 20,
    "client_id": 200,
    "kind": 30,
    "weapon_class": 40,
    "actor": 20,
    "corrects": 64,
    "description": 10_000,
    "attrs": 65_536,
    "signature": 200,
}
#: accepted times: [1900-01-01, 2200-01-01) UTC; anything else is a typo or an attack, and
#: a date near the ends of the calendar (years 1 and 9999) has no day before or after it
T_MIN, T_MAX = -2_208_988_800, 7_258_118_400
_ENUMS = {
    "kind": tuple(k.value for k in ObservationKind),
    "weapon_class": tuple(w.value for w in WeaponClass),
    "source_type": tuple(s.value for s in SourceType),
}
_MAX_COUNT = 2**31 - 1  # the store's INTEGER column (PostgreSQL would refuse the whole chunk)
_EARTH = f"{MAX_DISTANCE_M:.0f} (half the Earth's circumference)"
#: (field, low, high, low inclusive, high inclusive, words)
_RANGES: tuple[tuple[str, float, float, bool, bool, str], ...] = (
    ("lon", -180, 180, True, True, "between -180 and 180"),
    ("lat", -90, 90, True, True, "between -90 and 90"),
    ("obs_lon", -180, 180, True, True, "between -180 and 180"),
    ("obs_lat", -90, 90, True, True, "between -90 and 90"),
    ("radius_m", 0, MAX_DISTANCE_M, True, True, f"from 0 to {_EARTH}"),
    ("t_unc_s", 0, MAX_T_UNC_S, True, True, f"from 0 to {MAX_T_UNC_S:.0f} (ten years)"),
    ("bearing_deg", 0, 360, True, True, "between 0 and 360"),
    ("bearing_sd_deg", 0, 180, False, True, "> 0 and <= 180"),
    ("range_min_m", 0, MAX_DISTANCE_M, True, True, f"from 0 to {_EARTH}"),
    ("range_max_m", 0, MAX_DISTANCE_M, False, True, f"> 0 and at most {_EARTH}"),
    ("count", 1, _MAX_COUNT, True, True, f"from 1 to {_MAX_COUNT}"),
    ("credibility", min(CREDIBILITY), max(CREDIBILITY), True, True, "from 1 to 6"),
)

Mask = npt.NDArray[np.bool_]


class _Issues:
    """Collects bad rows and their problems for one chunk."""

    def __init__(self, raw: RawChunk, file: str, client_ids: list[str | None]) -> None:
        self.bad = np.zeros(raw.n, dtype=bool)
        self.problems: list[Problem] = []
        self._lines = raw.lines
        self._file = file
        self._ids = client_ids
        self.flagged: set[tuple[int, str | None]] = set()

    def add(self, row: int, field: str | None, reason: str) -> None:
        if (row, field) in self.flagged:
            return  # one problem per row and field: the first found
        self.flagged.add((row, field))
        self.bad[row] = True
        line = int(self._lines[row])
        self.problems.append(Problem(reason, self._file, line, field, self._ids[row]))

    def add_bad(self, field: str, bad: Bad) -> None:
        for row, reason in zip(bad.rows, bad.reasons, strict=True):
            self.add(row, field, f"{field}: {reason}")

    def add_mask(
        self, mask: Mask, field: str | None, reason: str, values: Sequence[object] = ()
    ) -> None:
        """Each row of ``mask`` is bad; ``{v}`` in ``reason`` is the row's value."""
        for row in np.flatnonzero(mask):
            r = int(row)
            self.add(r, field, reason.format(v=values[r]) if values else reason)


def _np(col: pa.Array) -> npt.NDArray[np.float64]:
    """A numeric column as float64 numpy, nulls as NaN. An integer beyond 2**53 is
    rounded (not refused by the cast): it is checked against its range afterwards."""
    as_float = pc.cast(col, pa.float64(), safe=False)
    return np.asarray(as_float.to_numpy(zero_copy_only=False), dtype=float)


def _convert(raw: RawChunk, issues: _Issues) -> dict[str, pa.Array]:
    out: dict[str, pa.Array] = {}
    for f in OBSERVATION_SCHEMA:
        col = raw.columns.get(f.name)
        if col is None:
            out[f.name] = pa.nulls(raw.n, f.type)
            continue
        if f.name == "t":
            conv, bad = to_epoch_seconds(col)
        elif pa.types.is_floating(f.type):
            conv, bad = to_float(col)
        elif pa.types.is_integer(f.type):
            conv, bad = to_int(col)
        else:
            conv, bad = to_text(col), Bad()
            if f.name in _ENUMS:
                conv = pc.utf8_lower(pc.utf8_trim_whitespace(conv))
        issues.add_bad(f.name, bad)
        out[f.name] = conv
    for name, value in _DEFAULTS.items():
        out[name] = pc.fill_null(out[name], pa.scalar(value, OBSERVATION_SCHEMA.field(name).type))
    return out


def _check_text(cols: dict[str, pa.Array], issues: _Issues) -> None:
    for name in _REQUIRED:
        issues.add_mask(null_mask(cols[name]), name, f"{name} is required")
    for name, limit in _MAX_LEN.items():
        too_long = pc.fill_null(pc.greater(pc.utf8_length(cols[name]), limit), False)
        issues.add_mask(
            np.asarray(too_long.to_numpy(zero_copy_only=False), dtype=bool),
            name,
            f"{name} is longer than {limit} characters",
        )
    for name, allowed in _ENUMS.items():
        col = cols[name]
        unknown = pc.and_(pc.is_valid(col), pc.invert(pc.is_in(col, pa.array(allowed))))
        values = col.to_pylist() if pc.any(unknown).as_py() else []
        issues.add_mask(
            np.asarray(unknown.to_numpy(zero_copy_only=False), dtype=bool),
            name,
            f"{name} {{v!r}} is not one of {', '.join(allowed)}",
            values,
        )
    attrs = cols["attrs"]
    for row, text in enumerate(attrs.to_pylist() if attrs.null_count < len(attrs) else []):
        if text is not None and not _is_json_object(text):
            issues.add(row, "attrs", "attrs must be a JSON object")
    if attrs.null_count < len(attrs):
        for row, field, reason in attr_problems(attrs):
            issues.add(row, field, reason)


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _check_nul(cols: dict[str, pa.Array], issues: _Issues) -> None:
    """Text holding a NUL character is refused (PostgreSQL cannot store it; neither do we)."""
    for f in OBSERVATION_SCHEMA:
        if not pa.types.is_string(f.type):
            continue
        has = pc.fill_null(pc.match_substring(cols[f.name], "\x00"), False)
        if pc.any(has).as_py():
            mask = np.asarray(has.to_numpy(zero_copy_only=False), dtype=bool)
            issues.add_mask(mask, f.name, f"{f.name} holds a NUL character")


def _check_time(cols: dict[str, pa.Array], issues: _Issues) -> None:
    t = cols["t"]
    out = pc.fill_null(pc.or_(pc.less(t, T_MIN), pc.greater_equal(t, T_MAX)), False)
    if pc.any(out).as_py():
        issues.add_mask(
            np.asarray(out.to_numpy(zero_copy_only=False), dtype=bool),
            "t",
            "t {v} out of range: must be from 1900-01-01 to 2199-12-31 (UTC)",
            t.to_pylist(),
        )


def _check_numbers(cols: dict[str, pa.Array], issues: _Issues) -> None:
    for name, lo, hi, lo_in, hi_in, words in _RANGES:
        x = _np(cols[name])
        with np.errstate(invalid="ignore"):
            below = x < lo if lo_in else x <= lo
            above = x > hi if hi_in else x >= hi
        out = (below | above) & ~np.isnan(x)
        if out.any():
            issues.add_mask(out, name, f"{name} {{v:g}} out of range: must be {words}", x.tolist())
    rmin, rmax = _np(cols["range_min_m"]), _np(cols["range_max_m"])
    with np.errstate(invalid="ignore"):
        issues.add_mask(rmax < rmin, "range_max_m", "range_max_m < range_min_m")


def _check_geometry(cols: dict[str, pa.Array], issues: _Issues) -> None:
    has = {k: ~null_mask(cols[k]) for k in ("lon", "lat", "obs_lon", "obs_lat", "bearing_deg")}
    point = has["lon"] & has["lat"]
    bearing = has["obs_lon"] & has["obs_lat"] & has["bearing_deg"]
    issues.add_mask(has["lon"] & ~has["lat"], "lat", "a point needs lat with lon")
    issues.add_mask(has["lat"] & ~has["lon"], "lon", "a point needs lon with lat")
    issues.add_mask(
        (has["obs_lon"] | has["obs_lat"] | has["bearing_deg"]) & ~bearing,
        "bearing_deg",
        "a bearing needs obs_lon, obs_lat and bearing_deg",
    )
    issues.add_mask(
        ~point & ~bearing & ~(has["lon"] ^ has["lat"]),
        None,
        "neither a point (lon, lat) nor a bearing (obs_lon, obs_lat, bearing_deg)",
    )
    issues.add_mask(
        point & null_mask(cols["radius_m"]),
        "radius_m",
        "radius_m is required with a point (its uncertainty in metres)",
    )
    issues.add_mask(
        bearing & null_mask(cols["bearing_sd_deg"]),
        "bearing_sd_deg",
        "bearing_sd_deg is required with a bearing",
    )


def normalise(raw: RawChunk, file: str) -> ParsedChunk:
    """Convert and check ``raw``; the good rows as a batch, the bad ones as problems."""
    ids_col = raw.columns.get("client_id")
    client_ids = to_text(ids_col).to_pylist() if ids_col is not None else [None] * raw.n
    issues = _Issues(raw, file, client_ids)
    for row, field, reason in raw.bad:
        issues.add(row, field, reason)
    cols = _convert(raw, issues)
    _check_text(cols, issues)
    _check_nul(cols, issues)
    _check_time(cols, issues)
    _check_numbers(cols, issues)
    _check_geometry(cols, issues)
    keep = pa.array(~issues.bad)
    batch = pa.RecordBatch.from_arrays(
        [cols[f.name].filter(keep) for f in OBSERVATION_SCHEMA], schema=OBSERVATION_SCHEMA
    )
    problems = sorted([*raw.problems, *issues.problems], key=lambda p: p.line or 0)
    return ParsedChunk(
        batch=batch,
        lines=raw.lines[~issues.bad],
        problems=problems,
        read=raw.n + len(raw.problems),
        done=raw.done,
        total=raw.total,
        unit=raw.unit,
    )
