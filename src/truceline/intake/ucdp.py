"""UCDP Georeferenced Event Dataset (GED) CSV, mapped onto observations.

One GED event becomes one observation of source ``ucdp-ged`` (type ``osint``):
UCDP is one compiled dataset, so its events count as one source however many
outlets (``source_office``, kept in ``attrs``) it cites; ``client_id`` is the GED
``id``, so re-ingesting a newer release does not duplicate events.

* time: the middle of the window ``date_start`` 00:00 .. ``date_end`` 24:00 UTC;
  ``t_unc_s`` is half that window, at least the floor of ``date_prec``
  (:data:`DATE_PREC_UNC_S`).
* place: ``latitude``/``longitude``; ``radius_m`` from ``where_prec``
  (:data:`WHERE_PREC_RADIUS_M`, the size of the area the codebook says the event is
  known to lie in).
* kind: state-based (1) and non-state (2) violence are fighting, mapped to
  ``explosion`` (a fire kind; in the Donbas war most deaths were by shelling);
  one-sided violence (3) to ``casualty``; anything else ``other``. No
  ``weapon_class`` and no ``actor``: GED says who fought, not who fired.
* credibility: ``event_clarity`` 1 (clear) -> 2, 2 (unclear) -> 3, else 6.
* attrs: GED id, dyad and sides, fatality estimates (best/low/high and by side),
  precision codes, place names and outlets.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from truceline.intake.chunk import ParsedChunk, RawChunk
from truceline.intake.convert import null_mask, to_text
from truceline.intake.csvfile import iter_csv, require_columns
from truceline.intake.mapped import DAY, attrs_json, constant, lookup, parse_dates, whole_numbers
from truceline.intake.validate import normalise

__all__ = ["DATE_PREC_UNC_S", "SOURCE_ID", "UCDP_COLUMNS", "WHERE_PREC_RADIUS_M", "read_ucdp"]

SOURCE_ID = "ucdp-ged"
UCDP_COLUMNS = frozenset({"id", "date_start", "date_end", "where_prec", "latitude", "longitude"})

#: where_prec -> radius (m): 1 exact place (a town's extent), 2 within 25 km of a
#: known point, 3 a district (raion), 4 a province (oblast), 5 a stretch of a border,
#: river or part of the country, 6 the country, 7 international waters or airspace
WHERE_PREC_RADIUS_M = {
    "1": 2_000.0,
    "2": 25_000.0,
    "3": 50_000.0,
    "4": 150_000.0,
    "5": 150_000.0,
    "6": 500_000.0,
    "7": 500_000.0,
}
#: date_prec -> least time uncertainty (s): 1 the day, 2 within 2-6 days,
#: 3 the week, 4 the month, 5 longer than a month
DATE_PREC_UNC_S = {
    "1": 0.5 * DAY,
    "2": 3.0 * DAY,
    "3": 3.5 * DAY,
    "4": 15.0 * DAY,
    "5": 182.0 * DAY,
}
_KIND = {"1": "explosion", "2": "explosion", "3": "casualty"}
_CREDIBILITY = {"1": 2, "2": 3}
_ATTRS = (
    "relid",
    "type_of_violence",
    "dyad_name",
    "side_a",
    "side_b",
    "where_prec",
    "where_description",
    "adm_1",
    "adm_2",
    "date_prec",
    "date_start",
    "date_end",
    "event_clarity",
    "number_of_sources",
    "source_office",
)
_COUNTS = ("best", "low", "high", "deaths_a", "deaths_b", "deaths_civilians", "deaths_unknown")


def _times(
    cols: dict[str, pa.Array], n: int, bad: list[tuple[int, str, str]]
) -> tuple[pa.Array, pa.Array]:
    start, bad_start = parse_dates(cols["date_start"], ["%Y-%m-%d"])
    end, bad_end = parse_dates(cols["date_end"], ["%Y-%m-%d"])
    given_end = ~null_mask(to_text(cols["date_end"]))
    end = np.where(bad_end, start, end) + DAY  # a blank date_end: the day of date_start
    for row in np.flatnonzero(bad_start):
        bad.append((int(row), "date_start", "date_start is not a date (YYYY-MM-DD)"))
    for row in np.flatnonzero(bad_end & given_end):  # not narrowed to date_start's day
        bad.append((int(row), "date_end", "date_end is not a date (YYYY-MM-DD)"))
    for row in np.flatnonzero(~bad_start & (end <= start)):
        bad.append((int(row), "date_end", "date_end is before date_start"))
    floor = lookup(cols.get("date_prec", pa.nulls(n)), DATE_PREC_UNC_S, pa.float64())
    floor_np = np.nan_to_num(np.asarray(floor.to_numpy(zero_copy_only=False), float), nan=0.0)
    t = start + (end - start) // 2
    unc = np.maximum((end - start) / 2.0, floor_np)
    unc[bad_start] = floor_np[bad_start]  # refused for its date_start, not for a window from 1970
    return pa.array(t, pa.int64()), pa.array(unc, pa.float64())


def _attrs(cols: dict[str, pa.Array], n: int) -> pa.Array:
    values = {"ucdp_id": whole_numbers(cols["id"].to_pylist())}
    for name in _ATTRS:
        if name in cols:
            values[name] = whole_numbers(cols[name].to_pylist())
    for name in _COUNTS:
        if name in cols:
            values[name] = whole_numbers(cols[name].to_pylist())
    return attrs_json(values, n)


def _observations(raw: RawChunk) -> RawChunk:
    cols, n, bad = raw.columns, raw.n, list[tuple[int, str, str]]()
    t, t_unc = _times(cols, n, bad)
    radius = lookup(cols["where_prec"], WHERE_PREC_RADIUS_M, pa.float64())
    for row in np.flatnonzero(np.asarray(radius.is_null().to_numpy(zero_copy_only=False))):
        bad.append((int(row), "where_prec", "where_prec must be 1..7"))
    violence = cols.get("type_of_violence", pa.nulls(n, pa.string()))
    kind = lookup(violence, _KIND, pa.string()).fill_null("other")
    clarity = cols.get("event_clarity", pa.nulls(n, pa.string()))
    out = {
        "source_id": constant(SOURCE_ID, n),
        "source_type": constant("osint", n),
        "client_id": cols["id"],
        "t": t,
        "t_unc_s": t_unc,
        "lon": cols["longitude"],
        "lat": cols["latitude"],
        "radius_m": radius.fill_null(0.0),  # a bad where_prec is reported above
        "kind": kind,
        "count": pa.array(np.ones(n, np.int64)),
        "credibility": lookup(clarity, _CREDIBILITY, pa.int64()).fill_null(6),
        "description": cols.get("where_description", pa.nulls(n, pa.string())),
        "attrs": _attrs(cols, n),
    }
    return RawChunk(out, raw.lines, raw.problems, raw.done, raw.total, raw.unit, bad)


def read_ucdp(path: Path) -> Iterator[ParsedChunk]:
    require_columns(path, UCDP_COLUMNS, "UCDP GED")
    for raw in iter_csv(path):
        if raw.n == 0:
            yield normalise(raw, str(path))
            continue
        yield normalise(_observations(raw), str(path))
