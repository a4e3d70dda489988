"""A small hand-made two-party world for the compliance tests (no tests here).

The contact line runs north-south at lon 31; party ``west`` holds lon 30..31 and
party ``east`` lon 31..32 (lat 48..49). Each side has a 0.7-degree (~52 km)
artillery band; the buffer zone is lon 30.95..31.05; an exclusion zone
``npp`` (military barred) sits at lon 30.4..30.6, lat 48.1..48.3 on the west
side; ``skies`` bars flights only; ``pocket`` is an area west must vacate.
Everything is written once and mirrored, so the world is symmetric under
swapping the parties' names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import shapely

from truceline.compliance.agreement.model import Agreement, Party, Rule, Zone
from truceline.compliance.periods import to_epoch
from truceline.compliance.rules import Context, Declaration, Incidents, Notifications
from truceline.compliance.zoneview import zone_view

__all__ = ["T0", "agreement", "context", "decl", "incidents", "incident"]

T0 = to_epoch("2026-01-01")
ART = "artillery_ge100"


def _box(x0: float, y0: float, x1: float, y1: float) -> Any:
    return shapely.box(x0, y0, x1, y1)


def agreement(
    rules: Sequence[Rule],
    *,
    west: str = "west",
    east: str = "east",
    version: int = 1,
    valid_from: int = T0,
    valid_to: int | None = None,
) -> Agreement:
    """The world with ``rules``; ``west``/``east`` name the two parties."""
    no = (None, None, None)
    z = [
        Zone("line", "contact_line", *no, shapely.LineString([(31, 47.9), (31, 49.1)])),
        Zone("ctl-w", "control", west, None, None, _box(30, 48, 31, 49)),
        Zone("ctl-e", "control", east, None, None, _box(31, 48, 32, 49)),
        Zone("band-w-art", "withdrawal_band", west, ART, 50.0, _box(30.3, 48, 31, 49)),
        Zone("band-e-art", "withdrawal_band", east, ART, 50.0, _box(31, 48, 31.7, 49)),
        Zone("buffer", "buffer", *no, _box(30.95, 48, 31.05, 49), frozenset({"fire"})),
        Zone("npp", "exclusion", *no, _box(30.4, 48.1, 30.6, 48.3), frozenset({"military"})),
        Zone("skies", "exclusion", *no, _box(31.4, 48.1, 31.6, 48.3), frozenset({"flight"})),
        Zone("pocket", "withdrawal_area", west, None, None, _box(30.6, 48.7, 31, 49)),
    ]  # fmt: skip
    parties = tuple(
        sorted([Party(west, west.title()), Party(east, east.title())], key=lambda p: p.id)
    )
    return Agreement(
        "world", version, "Hand-made world", valid_from, valid_to, parties, tuple(z), tuple(rules)
    )


def rule(rid: str, kind: str, **params: Any) -> Rule:
    return Rule(rid, kind, f"text of {rid}", params)


def incident(i: int, lon: float, lat: float, kind: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": i, "t": T0 + 86400 * 40 + i, "lon": lon, "lat": lat, "radius_m": 500.0,
        "kind": kind, "weapon_class": None, "count": 1, "status": "corroborated",
        "confidence": 0.9, "actor": None, "actor_confidence": None, "actor_basis": None,
        "side": None, "state": None,
    }  # fmt: skip
    row.update(kw)
    return row


def incidents(rows: Sequence[dict[str, Any]]) -> Incidents:
    from truceline.compliance.rules.base import INCIDENT_COLUMNS

    cols = {c: [r.get(c) for r in rows] for c in INCIDENT_COLUMNS}
    return Incidents(pa.table({c: pa.array(v, INCIDENT_COLUMNS[c]) for c, v in cols.items()}))


def decl(i: int, party: str | None, subject: str, item: str, month: str, value: float,
         *, unit: str = "persons", filed_days: float = 3, declarant: str | None = None,
         plant: str | None = None) -> Declaration:  # fmt: skip
    from truceline.compliance.periods import parse_month

    ps, pe = parse_month(month)
    attrs = {"plant": plant} if plant else {}
    return Declaration(
        i, party, declarant or party or "operator", subject, item, ps, pe, value, unit,
        pe + int(filed_days * 86400), 1000 + i, attrs,
    )  # fmt: skip


def context(
    a: Agreement,
    rows: Sequence[dict[str, Any]] = (),
    decls: Sequence[Declaration] = (),
    notes: Notifications | None = None,
    t_to: int | None = None,
) -> Context:
    inc = incidents(rows)
    view = zone_view(a, inc.lon, inc.lat)
    return Context(
        a, inc, view, tuple(decls), notes or Notifications(), a.valid_from, t_to or T0 + 86400 * 120
    )
