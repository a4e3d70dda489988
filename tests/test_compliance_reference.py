"""Every kind of term of the shipped reference agreement, checked on a hand-made day."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_compliance import add_incident

from truceline.compliance.periods import to_epoch
from truceline.service.agreements import load_agreement
from truceline.service.compliance import check
from truceline.service.declarations import DeclarationIn, declare
from truceline.service.workspace import Workspace

REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "reference-2025" / "agreement.toml"
DAY = 86400


def _inside(ws: Workspace, zone_id: str) -> tuple[float, float]:
    from truceline.service.compliance import agreement_versions

    with ws.engine.connect() as conn:
        a = agreement_versions(conn)[0]
    p = a.zone(zone_id).geometry.representative_point()
    return float(p.x), float(p.y)


def _declare(ws: Workspace, party: str | None, subject: str, item: str, value: float,
             unit: str, **kw: Any) -> None:  # fmt: skip
    filed = to_epoch("2026-04-05")
    d = DeclarationIn(party, subject, item, "2026-03", value, unit, filed_at=filed, **kw)
    declare(ws, d, received_at=filed)


def test_reference_agreement_every_kind_of_term(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    load_agreement(ws, REFERENCE)
    t = to_epoch("2026-03-10")
    npp = _inside(ws, "npp-zaporizhzhia")
    band = _inside(ws, "band-A-tank")
    pocket = _inside(ws, "donetsk-west")
    dnipro = (35.0462, 48.4647)  # deep in A's area
    add_incident(ws, 1, *npp, "movement", t)
    add_incident(ws, 2, *band, "weapon_sighting", t, weapon_class="tank")
    add_incident(ws, 3, *pocket, "movement", t)
    add_incident(ws, 4, *dnipro, "foreign_unit", t, state="USA")
    add_incident(ws, 5, *dnipro, "movement", t + 3600, count=5000)
    buffer = _inside(ws, "buffer")
    add_incident(ws, 6, *buffer, "explosion", t)
    add_incident(ws, 7, *buffer, "flight", t + 7200)
    _declare(ws, "A", "personnel", "army", 812000, "persons")
    _declare(ws, "A", "equipment", "tank", 2900, "items")
    _declare(ws, "B", "equipment", "tank", 3100, "items")
    for to, mwh in (("A", 600.0), ("B", 400.0)):
        _declare(ws, None, "energy", f"delivered_to:{to}", mwh, "MWh",
                 declarant="plant operator", plant="npp-zaporizhzhia")  # fmt: skip
    res = check(ws, now=to_epoch("2026-04-30"))
    got = {(f.rule_id, f.party) for f in res.new if f.rule_kind != "declaration_duty"}
    assert got == {
        ("npp-exclusion", "B"),  # the plant lies on B's side: the movement is placed there
        ("heavy-weapons-withdrawal", "A"),
        ("no-nato-forces", "A"),
        ("notify-exercises", "A"),
        ("army-ceiling", "A"),
        ("tank-ceiling", "B"),
        ("npp-output-sharing", None),
        ("donetsk-dmz", None),  # unidentified forces: the map does not say whose
        ("ceasefire-buffer", None),  # fire: where it landed, not who fired
        ("buffer-no-flights", None),
    }
    by_rule = {f.rule_id: f.incidents for f in res.new}
    assert (by_rule["ceasefire-buffer"], by_rule["buffer-no-flights"]) == ((6,), (7,))
    pocket_findings = [f for f in res.new if f.rule_id == "donetsk-dmz"]
    assert len(pocket_findings) == 1 and 3 in pocket_findings[0].incidents
    assert 5 not in pocket_findings[0].incidents  # Dnipro is outside the area to vacate
    # March is declared in time; the months before (from the agreement's start) are missing
    duties = {f.rule_id for f in res.new if f.rule_kind == "declaration_duty"}
    assert duties == {"declare-army-strength", "declare-tanks", "declare-npp-deliveries-A",
                      "declare-npp-deliveries-B"}  # fmt: skip
    assert check(ws, now=to_epoch("2026-04-30")).new == []
