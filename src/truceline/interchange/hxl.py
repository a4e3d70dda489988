"""Incidents and findings as CSV with HXL hashtags (the Humanitarian Exchange Language):
a header row for people, a hashtag row for machines, then one row per record."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

__all__ = ["FINDING_COLUMNS", "INCIDENT_COLUMNS", "hxl_csv"]

#: (header, HXL hashtag, field)
INCIDENT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("incident id", "#event+id", "id"),
    ("kind", "#event+type", "kind"),
    ("weapon class", "#event+weapon", "weapon_class"),
    ("count", "#event+num", "count"),
    ("start (UTC)", "#date+start", "t_start"),
    ("end (UTC)", "#date+end", "t_end"),
    ("latitude", "#geo+lat", "lat"),
    ("longitude", "#geo+lon", "lon"),
    ("uncertainty (m, 95 %)", "#geo+precision", "radius_m"),
    ("nearest place", "#loc+name", "place"),
    ("reporting sector", "#loc+code", "sector"),
    ("status", "#status", "status"),
    ("confidence", "#meta+confidence", "confidence"),
)
FINDING_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("finding id", "#event+finding+id", "id"),
    ("rule", "#event+rule", "rule_id"),
    ("rule kind", "#event+type", "rule_kind"),
    ("period start (UTC)", "#date+start", "period_start"),
    ("period end (UTC)", "#date+end", "period_end"),
    ("party", "#org+party", "party"),
    ("severity", "#severity", "severity"),
    ("status", "#status", "status"),
    ("confidence", "#meta+confidence", "confidence"),
    ("incidents", "#event+incidents", "incidents"),
    ("summary", "#description", "summary"),
)


def _cell(field: str, value: Any) -> str:
    if value is None:
        return ""
    if field in ("t_start", "t_end", "period_start", "period_end"):
        return datetime.fromtimestamp(int(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if field == "place" and isinstance(value, Mapping):
        return (
            str(value["name"])
            if value["km"] < 2
            else f"{value['km']} km {value['direction']} of {value['name']}"
        )
    if field == "incidents":
        return " ".join(str(v) for v in value)
    return str(value)


def hxl_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    """``rows`` as HXL-tagged CSV text."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([c[0] for c in columns])
    w.writerow([c[1] for c in columns])
    for r in rows:
        w.writerow([_cell(f, r.get(f)) for _h, _t, f in columns])
    return out.getvalue()
