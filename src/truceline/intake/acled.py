"""ACLED-style event CSV, mapped onto observations.

One event becomes one observation of source ``acled`` (type ``osint``), with
``client_id`` = ``event_id_cnty``.

* time: noon UTC of ``event_date`` (``YYYY-MM-DD`` or ``24 February 2022``);
  ``t_unc_s`` from ``time_precision`` (:data:`TIME_PRECISION_UNC_S`: the day, the
  week, the month).
* place: ``latitude``/``longitude``; ``radius_m`` from ``geo_precision``
  (:data:`GEO_PRECISION_RADIUS_M`: the town, a nearby place or part of a region,
  a larger region).
* kind: from ``sub_event_type`` (:data:`SUB_EVENT_KIND`), else from ``event_type``;
  no ``weapon_class`` or ``actor`` (ACLED names actors, not the parties of an agreement).
* attrs: event id, types, actors, fatalities, outlets (``source``), admin names.
* a blank or missing precision code counts as +- half a day and 25 km; a code
  other than 1, 2 or 3 is a bad row.
* description: ``notes``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from truceline.intake.chunk import ParsedChunk, RawChunk
from truceline.intake.convert import to_text
from truceline.intake.csvfile import iter_csv, require_columns
from truceline.intake.mapped import DAY, attrs_json, constant, lookup, parse_dates, whole_numbers
from truceline.intake.validate import normalise

__all__ = [
    "ACLED_COLUMNS",
    "GEO_PRECISION_RADIUS_M",
    "SOURCE_ID",
    "SUB_EVENT_KIND",
    "TIME_PRECISION_UNC_S",
    "read_acled",
]

SOURCE_ID = "acled"
ACLED_COLUMNS = frozenset({"event_id_cnty", "event_date", "latitude", "longitude"})
GEO_PRECISION_RADIUS_M = {"1": 2_000.0, "2": 25_000.0, "3": 100_000.0}
TIME_PRECISION_UNC_S = {"1": 0.5 * DAY, "2": 3.5 * DAY, "3": 15.0 * DAY}
SUB_EVENT_KIND = {
    "Armed clash": "shot",
    "Government regains territory": "movement",
    "Non-state actor overtakes territory": "movement",
    "Shelling/artillery/missile attack": "explosion",
    "Air/drone strike": "explosion",
    "Suicide bomb": "explosion",
    "Remote explosive/landmine/IED": "explosion",
    "Grenade": "explosion",
    "Attack": "casualty",
    "Sexual violence": "casualty",
    "Looting/property destruction": "damage",
    "Headquarters or base established": "movement",
}
EVENT_KIND = {
    "Battles": "shot",
    "Explosions/Remote violence": "explosion",
    "Violence against civilians": "casualty",
}
_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%d/%m/%Y")
_ATTRS = (
    "event_type",
    "sub_event_type",
    "disorder_type",
    "actor1",
    "assoc_actor_1",
    "actor2",
    "assoc_actor_2",
    "interaction",
    "admin1",
    "admin2",
    "location",
    "geo_precision",
    "time_precision",
    "source",
    "source_scale",
)


def _precision(
    col: pa.Array, table: dict[str, float], what: str, bad: list[tuple[int, str, str]]
) -> pa.Array:
    """The uncertainty of each precision code; a code given but unknown is a bad row
    (guessing the finest would understate the uncertainty)."""
    out = lookup(col, table, pa.float64())
    unknown = pc.and_(pc.is_null(out), pc.is_valid(to_text(col)))
    for row in np.flatnonzero(np.asarray(unknown.to_numpy(zero_copy_only=False), dtype=bool)):
        bad.append((int(row), f"{what}_precision", f"{what}_precision must be 1, 2 or 3"))
    return out


def _observations(raw: RawChunk) -> RawChunk:
    cols, n, bad = raw.columns, raw.n, list[tuple[int, str, str]]()
    day, bad_day = parse_dates(cols["event_date"], _DATE_FORMATS)
    for row in np.flatnonzero(bad_day):
        bad.append((int(row), "event_date", "event_date is not a date (YYYY-MM-DD)"))
    none = pa.nulls(n, pa.string())
    unc = _precision(cols.get("time_precision", none), TIME_PRECISION_UNC_S, "time", bad)
    radius = _precision(cols.get("geo_precision", none), GEO_PRECISION_RADIUS_M, "geo", bad)
    kind = pc.coalesce(
        lookup(cols.get("sub_event_type", none), SUB_EVENT_KIND, pa.string()),
        lookup(cols.get("event_type", none), EVENT_KIND, pa.string()),
        pa.scalar("other"),
    )
    values = {"acled_id": cols["event_id_cnty"].to_pylist()}
    values |= {k: cols[k].to_pylist() for k in _ATTRS if k in cols}
    if "fatalities" in cols:
        values["fatalities"] = whole_numbers(cols["fatalities"].to_pylist())
    out = {
        "source_id": constant(SOURCE_ID, n),
        "source_type": constant("osint", n),
        "client_id": cols["event_id_cnty"],
        "t": pa.array(day + DAY // 2, pa.int64()),
        "t_unc_s": unc.fill_null(0.5 * DAY),
        "lon": cols["longitude"],
        "lat": cols["latitude"],
        "radius_m": radius.fill_null(25_000.0),
        "kind": kind,
        "description": cols.get("notes", none),
        "attrs": attrs_json(values, n),
    }
    return RawChunk(out, raw.lines, raw.problems, raw.done, raw.total, raw.unit, bad)


def read_acled(path: Path) -> Iterator[ParsedChunk]:
    require_columns(path, ACLED_COLUMNS, "ACLED")
    for raw in iter_csv(path):
        yield normalise(_observations(raw) if raw.n else raw, str(path))
