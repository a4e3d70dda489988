"""Storage sites on the reference agreement: weapons missing from a declared site at an
inspection, heavy weapons seen outside the sites and bands after the deadline; and the
loader refusing a malformed ``[[storage_site]]`` by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from test_agreement_helpers import TOML, write_tiny
from test_terms_cases import (
    LUHANSK,
    MELITOPOL,
    PAVLOHRAD,
    REFERENCE,
    inc,
    judge,
)

from truceline.compliance.agreement import Agreement, load_agreement_file
from truceline.compliance.periods import to_epoch
from truceline.domain.errors import AgreementError

OUTSIDE = "heavy-weapons-outside-storage"
LATER = to_epoch("2026-03-10") + 7200


def _rule(params: str) -> str:
    return f'\n[[rules]]\nid = "inv"\nkind = "storage_inventory"\ntext = "t"\nparams = {params}\n'


def _of(rule: str, rows: list[dict[str, object]]) -> list[object]:
    return [f for f in judge(rows) if f.rule_id == rule]


def test_sites_are_data_with_footprints_and_survive_the_store() -> None:
    ids = [s.id for s in REFERENCE.storage_sites]
    assert ids == ["site-A1", "site-A2", "site-B1", "site-B2"]
    assert {s.party for s in REFERENCE.storage_sites} == {"A", "B"}
    a1 = REFERENCE.zone("site-A1")
    assert a1.kind == "storage_site" and a1.party == "A"
    assert a1.geometry.contains(shapely.Point(*PAVLOHRAD))
    again = Agreement.from_json(json.loads(json.dumps(REFERENCE.to_json())))
    assert again.storage_sites == REFERENCE.storage_sites
    assert again.storage_sites[0].holdings == {"artillery_ge100": 40, "mlrs": 12, "tank": 30}


def test_missing_weapons_name_the_site_the_classes_and_the_holder() -> None:
    [f] = _of("storage-inventory", [
        inc(1, PAVLOHRAD, "inspection", inspected='{"tank": 27, "mlrs": 9, "artillery_ge100": 40}'),
    ])  # fmt: skip
    assert (f.party, f.severity, f.incidents) == ("A", "high", (1,))
    assert "storage site A-1 (Pavlohrad) (site-A1)" in f.summary
    assert "3 mlrs missing (holding 12, counted 9)" in f.summary
    assert "3 tank missing (holding 30, counted 27)" in f.summary
    assert "artillery_ge100" not in f.summary  # all there
    from truceline.compliance.wording import render
    from truceline.i18n import translations
    from truceline.report.labels import weapon_label

    assert f.wording is not None and render(f.wording.doc()) == f.summary
    uk = render(f.wording.doc(), translations("uk").gettext, weapon_label)
    assert uk.startswith("під час інспекції місця зберігання") and "tank" not in uk
    assert "names storage site A-1 (Pavlohrad) (site-A1) as a storage site of A" in str(
        f.party_basis
    )


def test_two_inspections_of_a_day_count_the_most_seen_and_other_classes_are_not_judged() -> None:
    rows = [
        inc(1, LUHANSK, "inspection", inspected='{"tank": 20}'),
        inc(2, LUHANSK, "inspection", inspected='{"tank": 30, "mlrs": 11}', t=LATER),
    ]  # fmt: skip
    [f] = _of("storage-inventory", rows)
    assert f.party == "B" and f.incidents == (1, 2)
    assert "1 mlrs missing" in f.summary and "tank" not in f.summary
    # artillery_ge100 is held there too but nobody counted it: not judged missing
    assert "artillery_ge100" not in f.summary


def test_an_inspection_outside_every_site_or_resting_on_a_party_claim() -> None:
    away = inc(1, MELITOPOL, "inspection", inspected='{"tank": 0}')
    assert _of("storage-inventory", [away]) == []
    claim = inc(2, PAVLOHRAD, "inspection", inspected='{"tank": 0}', nonparty=0)
    [f] = _of("storage-inventory", [claim])
    assert f.severity == "unconfirmed"  # the quality gates apply as to every finding


def test_outside_storage_only_after_the_deadline_outside_sites_bands_and_within_depth() -> None:
    art = {"weapon_class": "artillery_ge100", "count": 4}
    before = inc(1, MELITOPOL, "weapon_sighting", t=to_epoch("2026-01-20"), **art)
    assert _of(OUTSIDE, [before]) == []
    at_site = inc(2, PAVLOHRAD, "weapon_sighting", **art)
    assert _of(OUTSIDE, [at_site]) == []
    band = REFERENCE.zone("band-A-artillery_ge100").geometry.representative_point()
    in_band = inc(3, (band.x, band.y), "weapon_sighting", **art)
    found = {f.rule_id for f in judge([in_band])}
    assert "heavy-weapons-withdrawal" in found and OUTSIDE not in found  # judged once
    deep = inc(4, (24.03, 49.84), "weapon_sighting", **art)  # Lviv: beyond the 120 km depth
    assert _of(OUTSIDE, [deep]) == []
    [f] = _of(OUTSIDE, [inc(5, MELITOPOL, "weapon_sighting", **art)])
    assert f.party == "B" and "after the withdrawal deadline 2026-02-01" in f.summary
    small = inc(6, MELITOPOL, "weapon_sighting", weapon_class="small_arms")
    assert _of(OUTSIDE, [small]) == []


def test_an_unplaced_sighting_outside_storage_names_no_party() -> None:
    near = inc(1, MELITOPOL, "weapon_sighting", weapon_class="mlrs", radius_m=200_000.0)
    [f] = _of(OUTSIDE, [near])
    assert f.party is None and f.party_basis is None


_SITE = """
[[storage_site]]
id = "depot"
name = "depot 1"
party = "A"
center = [36.0, 47.5]
radius_km = 1
holdings = { tank = 4 }
"""


def test_a_site_loads_and_its_zone_is_usable_by_rules(tmp_path: Path) -> None:
    rule = _rule('{ sites = ["depot"] }')
    a = load_agreement_file(write_tiny(tmp_path / "ok", TOML + _SITE + rule))
    assert [s.id for s in a.storage_sites] == ["depot"] and a.zone("depot").party == "A"


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        (('party = "A"', 'party = "C"'), "storage_site[1].party", "unknown party 'C'"),
        (("tank = 4", "gun = 4"), "storage_site[1].holdings.gun", "unknown weapon class"),
        (("tank = 4", "tank = -1"), "storage_site[1].holdings.tank", "whole number"),
        (('id = "depot"', 'id = "plant"'), "storage_site[1].id", "used twice"),
        (("radius_km = 1\n", ""), "storage_site[1]", "give either file, or center and radius_km"),
        (("holdings = { tank = 4 }", "holdings = 4"), "storage_site[1].holdings", "class = count"),
    ],
)  # fmt: skip
def test_a_bad_site_is_refused_by_name(
    tmp_path: Path, change: tuple[str, str], key: str, reason: str
) -> None:
    path = write_tiny(tmp_path / "bad", TOML + _SITE.replace(*change))
    with pytest.raises(AgreementError) as info:
        load_agreement_file(path)
    assert key in info.value.message and reason in info.value.message, info.value.message


def test_a_rule_naming_an_unknown_site_is_refused(tmp_path: Path) -> None:
    rule = _rule('{ sites = ["plant"] }')
    path = write_tiny(tmp_path / "bad", TOML + _SITE + rule)
    with pytest.raises(AgreementError) as info:
        load_agreement_file(path)
    assert "params.sites" in info.value.message and "storage_site" in info.value.message


def test_an_inspection_goes_from_intake_through_fusion_to_a_finding(
    sqlite_workspace: object, tmp_path: Path
) -> None:
    """The counts travel in ``attrs.inspected`` through the real intake, fusion and check."""
    from truceline.service.agreements import load_agreement
    from truceline.service.compliance import check
    from truceline.service.fusion import fuse
    from truceline.service.ingest import ingest_files
    from truceline.service.sources import register_source
    from truceline.service.workspace import Workspace

    ws = sqlite_workspace
    assert isinstance(ws, Workspace)
    load_agreement(ws, Path(__file__).resolve().parents[1] / "examples" / "reference-2025")
    for team in ("team-1", "team-2"):  # two teams: corroborated, above the quality gate
        register_source(ws, team, "monitor", signature_policy="optional", actor="test")
    t = "2026-03-10T09:00:00Z"
    rows = [
        {"client_id": "i1", "source_id": "team-1", "t": t, "lon": PAVLOHRAD[0],
         "lat": PAVLOHRAD[1], "radius_m": 50, "kind": "inspection", "credibility": 1,
         "attrs": {"inspected": {"tank": 26, "artillery_ge100": 40}}},
        {"client_id": "i2", "source_id": "team-2", "t": t, "lon": PAVLOHRAD[0],
         "lat": PAVLOHRAD[1], "radius_m": 50, "kind": "inspection", "credibility": 1,
         "attrs": {"inspected": {"tank": 25}}},
        {"client_id": "i3", "source_id": "team-1", "t": t, "lon": PAVLOHRAD[0],
         "lat": PAVLOHRAD[1], "radius_m": 50, "kind": "inspection", "credibility": 1,
         "attrs": {"inspected": {"tank": "many"}}},
    ]  # fmt: skip
    path = tmp_path / "inspections.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rep = ingest_files(ws, [path])
    assert rep.accepted == 2 and [p.field for p in rep.problems] == ["attrs.inspected"]
    fuse(ws)
    found = [
        f for f in check(ws, now=to_epoch("2026-03-20")).new if f.rule_id == "storage-inventory"
    ]
    assert [(f.party, f.severity) for f in found] == [("A", "high")]
    assert "4 tank missing (holding 30, counted 26)" in found[0].summary
    assert found[0].ledger  # its evidence carries the inspection's ledger entry


def test_open_data_never_publish_a_storage_site(
    api_client: object, sqlite_workspace: object
) -> None:
    """The OGC zones collection (anyone may read it) leaves the sites' footprints out."""
    from fastapi.testclient import TestClient

    from truceline.service.agreements import load_agreement
    from truceline.service.workspace import Workspace

    assert isinstance(api_client, TestClient) and isinstance(sqlite_workspace, Workspace)
    load_agreement(
        sqlite_workspace, Path(__file__).resolve().parents[1] / "examples" / "reference-2025"
    )
    zones = api_client.get("/ogc/collections/zones/items", params={"limit": 1000}).json()
    kinds = {f["properties"]["kind"] for f in zones["features"]}
    assert "withdrawal_band" in kinds and "storage_site" not in kinds
    assert api_client.get("/ogc/collections/zones/items/site-A1").status_code == 404
