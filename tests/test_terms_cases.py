"""The hand-made cases of issue 10 on the shipped reference agreement, with their findings.

Each case is a handful of incidents (as fusion would give them) judged by every rule of
``examples/reference-2025``; the symmetry test swaps the parties' names in the agreement
and in every case and expects the findings swapped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_rules_symmetry import swap_parties

from truceline.compliance.agreement import Agreement, load_agreement_file
from truceline.compliance.periods import to_epoch
from truceline.compliance.rules import (
    Context,
    Declaration,
    Finding,
    Incidents,
    Notifications,
    evaluate,
)
from truceline.compliance.rules.base import INCIDENT_COLUMNS
from truceline.compliance.zoneview import zone_view

REFERENCE = load_agreement_file(
    Path(__file__).resolve().parents[1] / "examples" / "reference-2025" / "agreement.toml"
)
T = to_epoch("2026-03-10")
KYIV, SUMY, ODESA, LVIV = (30.52, 50.45), (34.80, 50.91), (30.73, 46.48), (24.03, 49.84)
KRAMATORSK, SLOVIANSK, DNIPRO = (37.56, 48.72), (37.62, 48.85), (35.05, 48.46)
BELGOROD, DONETSK = (36.59, 50.60), (37.80, 48.01)
PAVLOHRAD, LUHANSK, MELITOPOL = (35.87, 48.53), (39.31, 48.57), (35.37, 46.85)
ATTRIBUTION = {"actor_confidence": 0.8, "actor_basis": "crater analysis"}


def inc(i: int, where: tuple[float, float], kind: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": i, "t": T + i, "lon": where[0], "lat": where[1], "radius_m": 500.0,
        "kind": kind, "count": 1, "status": "corroborated", "confidence": 0.9, "nonparty": 2,
    }  # fmt: skip
    if kw.get("actor"):
        row.update(ATTRIBUTION)
    row.update(kw)
    return row


def judge(
    rows: list[dict[str, Any]], a: Agreement = REFERENCE, decls: tuple[Declaration, ...] = ()
) -> list[Finding]:
    cols = {c: [r.get(c) for r in rows] for c in INCIDENT_COLUMNS}
    table = pa.table({c: pa.array(v, INCIDENT_COLUMNS[c]) for c, v in cols.items()})
    incidents = Incidents(table)
    view = zone_view(a, incidents.lon, incidents.lat)
    t0, t1 = to_epoch("2026-02-01"), to_epoch("2026-04-01")
    ctx = Context(a, incidents, view, decls, Notifications(), t0, t1, t1)
    return [f for f in evaluate(ctx) if f.rule_kind != "declaration_duty"]


def got(rows: list[dict[str, Any]]) -> set[tuple[str, str | None, tuple[int, ...]]]:
    return {(f.rule_id, f.party, f.incidents) for f in judge(rows)}


# -- the cases: name -> (incidents, expected (rule, party, incidents)) ----------------------
CASES: dict[str, tuple[list[dict[str, Any]], set[tuple[str, str | None, tuple[int, ...]]]]] = {
    "missile strike on Kyiv blamed on B": (
        [inc(1, KYIV, "explosion", weapon_class="mlrs_long_tbm", actor="B")],
        {("ceasefire-theatre", "B", (1,))},
    ),
    "strikes on Sumy, Odesa, Lviv and Belgorod": (
        [
            inc(1, SUMY, "explosion", actor="B"),
            inc(2, ODESA, "explosion", actor="B"),
            inc(3, LVIV, "projectile", actor="B"),
            inc(4, BELGOROD, "explosion", actor="A"),
        ],
        {
            ("ceasefire-theatre", "B", (1,)),
            ("ceasefire-theatre", "B", (2,)),
            ("ceasefire-theatre", "B", (3,)),
            ("ceasefire-theatre", "A", (4,)),
        },
    ),  # fmt: skip
    "a rocket salvo deep in B's area blamed on A": (
        [inc(1, DONETSK, "explosion", weapon_class="mlrs", actor="A", count=12)],
        {("ceasefire-theatre", "A", (1,))},
    ),
    "fire nobody is blamed for, deep in the theatre": (
        [inc(1, KYIV, "explosion"), inc(2, BELGOROD, "explosion")],
        set(),
    ),
    "A's tanks in Kramatorsk after the deadline": (
        [inc(1, KRAMATORSK, "weapon_sighting", weapon_class="tank", actor="A")],
        {("donetsk-dmz", "A", (1,))},
    ),
    "B's column entering Sloviansk": (
        [inc(1, SLOVIANSK, "movement", count=400, actor="B")],
        {("donetsk-dmz", "B", (1,))},
    ),
    "unidentified forces in the zone": (
        [inc(1, SLOVIANSK, "movement", count=50)],
        {("donetsk-dmz", None, (1,))},
    ),
    "a battalion HQ of USA in Kyiv": (
        [inc(1, KYIV, "foreign_unit", state="USA")],
        {("no-nato-forces", "A", (1,))},
    ),
    "forces of FRA, and of no stated state, in Dnipro": (
        [inc(1, DNIPRO, "foreign_unit", state="FRA"), inc(2, DNIPRO, "foreign_unit")],
        {("no-nato-forces", "A", (1,)), ("no-nato-forces", "A", (2,))},
    ),
    "mission members, attaches, an agreed force: exempt": (
        [
            inc(1, KYIV, "foreign_unit", state="USA", role="mission"),
            inc(2, LVIV, "foreign_unit", state="FRA", role="attache"),
            inc(3, ODESA, "foreign_unit", state="GBR", role="agreed_force"),
        ],
        set(),
    ),  # fmt: skip
    "a flight of a listed state over A's area": (
        [inc(1, LVIV, "flight", state="POL")],
        {("no-nato-forces", "A", (1,))},
    ),
    "a patrol refused at a checkpoint, a UAV jammed": (
        [inc(1, DNIPRO, "access_denied"), inc(2, DONETSK, "uav_jamming")],
        {("freedom-of-movement", "A", (1,)), ("freedom-of-movement", "B", (2,))},
    ),
    "tanks missing from A's storage site at an inspection": (
        [inc(1, PAVLOHRAD, "inspection", inspected='{"artillery_ge100": 40, "tank": 27}')],
        {("storage-inventory", "A", (1,))},
    ),
    "B's storage site inspected, all there; B's tanks at their site": (
        [
            inc(1, LUHANSK, "inspection", inspected='{"artillery_ge100": 41, "mlrs": 12}'),
            inc(2, LUHANSK, "weapon_sighting", weapon_class="tank", count=30),
        ],
        set(),
    ),  # fmt: skip
    "B's artillery away from its sites and the bands after the deadline": (
        [inc(1, MELITOPOL, "weapon_sighting", weapon_class="artillery_ge100", count=6)],
        {("heavy-weapons-outside-storage", "B", (1,))},
    ),
    "a quiet day": (
        [inc(1, KYIV, "movement", count=20), inc(2, LVIV, "weapon_sighting", weapon_class=None)],
        set(),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_case_gives_its_findings(name: str) -> None:
    rows, expected = CASES[name]
    assert got(rows) == expected


def test_theatre_finding_says_where_and_how_deep() -> None:
    [f] = judge([inc(1, DONETSK, "explosion", actor="A", direction="incoming, azimuth 280 deg")])
    assert "in the area held by B" in f.summary and "km from the contact line" in f.summary
    assert "incoming, azimuth 280 deg" in f.summary


def test_fire_in_the_buffer_is_judged_once() -> None:
    p = REFERENCE.zone("buffer").geometry.representative_point()
    found = judge([inc(1, (p.x, p.y), "explosion", actor="A")])
    assert [(f.rule_id, f.party) for f in found] == [("ceasefire-buffer", "A")]


def test_dmz_phases_heavy_weapons_first_then_every_force() -> None:
    feb = to_epoch("2026-02-10")
    rows = [
        inc(1, KRAMATORSK, "weapon_sighting", weapon_class="tank", actor="A", t=feb),
        inc(2, SLOVIANSK, "movement", actor="B", t=feb),  # not barred before March
        inc(3, KRAMATORSK, "weapon_sighting", weapon_class="tank", t=to_epoch("2026-01-20")),
    ]
    assert got(rows) == {("donetsk-dmz", "A", (1,))}


def test_a_party_claim_alone_is_unconfirmed() -> None:
    """One claim graded D5 of British troops must not be a high-severity accusation."""
    claim = inc(1, DNIPRO, "foreign_unit", state="GBR", nonparty=0, confidence=0.08,
                status="reported")  # fmt: skip
    [f] = judge([claim])
    assert (f.rule_id, f.severity) == ("no-nato-forces", "unconfirmed")
    weak = inc(2, KYIV, "explosion", actor="B", confidence=0.3, status="reported")
    [g] = judge([weak])  # 0.5 * 0.3 = 0.15 < 0.25
    assert (g.rule_id, g.severity) == ("ceasefire-theatre", "unconfirmed")
    strong = inc(3, KYIV, "explosion", actor="B", weapon_class="mlrs")
    assert [h.severity for h in judge([strong])] == ["high"]


def test_more_tanks_seen_in_a_day_than_declared() -> None:
    ps, pe = to_epoch("2026-03-01"), to_epoch("2026-04-01")
    tanks = Declaration(7, "A", "A", "equipment", "tank", ps, pe, 3.0, "items", ps + 86400, 70)
    one_day = [inc(1, LVIV, "weapon_sighting", weapon_class="tank", count=4),
               inc(2, KYIV, "weapon_sighting", weapon_class="tank", count=1)]  # fmt: skip
    found = [f for f in judge(one_day, decls=(tanks,)) if f.rule_id == "tanks-observed"]
    assert [(f.party, f.incidents, f.declarations) for f in found] == [("A", (1, 2), (7,))]
    later = T + 86400
    spread = [inc(1, LVIV, "weapon_sighting", weapon_class="tank", count=3),
              inc(2, KYIV, "weapon_sighting", weapon_class="tank", count=3, t=later)]  # fmt: skip
    assert [f for f in judge(spread, decls=(tanks,)) if f.rule_id == "tanks-observed"] == []


# -- symmetry: the parties' names swapped everywhere ----------------------------------------
def _swap(v: Any) -> Any:
    return swap_parties(v, {"A": "B", "B": "A"})


def _swapped() -> Agreement:
    doc = REFERENCE.to_json()
    doc["parties"] = [{"id": _swap(p["id"]), "name": p["name"]} for p in doc["parties"]]
    for z in doc["zones"]:
        z["party"] = _swap(z["party"])
    doc["rules"] = [{**r, "params": _swap(r["params"])} for r in doc["rules"]]
    for site in doc.get("storage_sites", []):
        site["party"] = _swap(site["party"])
    return Agreement.from_json(doc)


SWAPPED = _swapped()


def _party_swapped(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "actor": _swap(r.get("actor"))} for r in rows]


@pytest.mark.parametrize("name", list(CASES))
def test_case_is_symmetric(name: str) -> None:
    rows, expected = CASES[name]
    mirrored = {(f.rule_id, f.party, f.incidents) for f in judge(_party_swapped(rows), SWAPPED)}
    assert mirrored == {(r, _swap(p), i) for r, p, i in expected}


# -- hypothesis: one theatre finding per attributed fire, mirrored --------------------------
def _theatre_points() -> st.SearchStrategy[tuple[float, float]]:
    buffer = REFERENCE.zone("buffer").geometry
    box = REFERENCE.theatre.bounds
    pts = st.tuples(st.floats(box[0], box[2]), st.floats(box[1], box[3]))
    import shapely

    return pts.filter(
        lambda p: (
            REFERENCE.theatre.contains(shapely.Point(p))
            and not buffer.buffer(0.02).contains(shapely.Point(p))
        )
    )


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(_theatre_points(), st.sampled_from(["explosion", "projectile", "burst", "shot"])),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["A", "B"]),
)
def test_each_attributed_fire_in_the_theatre_is_one_finding(
    events: list[tuple[tuple[float, float], str]], party: str
) -> None:
    rows = [inc(i, p, k, actor=party) for i, (p, k) in enumerate(events, start=1)]
    found = [f for f in judge(rows) if f.rule_id == "ceasefire-theatre"]
    assert sorted(f.incidents for f in found) == [(i,) for i in range(1, len(rows) + 1)]
    assert {f.party for f in found} == {party}
    mirrored = [f for f in judge(_party_swapped(rows), SWAPPED) if f.rule_id == "ceasefire-theatre"]
    assert sorted((f.incidents, f.party) for f in mirrored) == sorted(
        (f.incidents, _swap(f.party)) for f in found
    )
