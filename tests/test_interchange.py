"""Open data for other tools: STIX 2.1 bundles read back by the ``stix2`` library, and
HXL-tagged CSV, from incidents and findings cut to the public tier."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import stix2
from typer.testing import CliRunner

from truceline.cli import app
from truceline.interchange.hxl import INCIDENT_COLUMNS, hxl_csv
from truceline.interchange.stix import stix_bundle
from truceline.report.editions import edition_view
from truceline.service.workspace import Workspace

T0 = 1_426_204_800  # 2015-03-13T00:00:00Z

INCIDENT = {"id": 7, "t": T0 + 600, "t_start": T0 + 540, "t_end": T0 + 660, "kind": "explosion",
            "weapon_class": "artillery_ge100", "count": 4, "status": "corroborated",
            "confidence": 0.84, "sector": "S05", "lon": 37.5012, "lat": 47.9345,
            "radius_m": 900.0, "ellipse": None, "n_observations": 3, "n_groups": 2,
            "actor": "B", "actor_confidence": 0.6, "actor_basis": "crater analysis"}  # fmt: skip
FINDING = {"id": 3, "rule_id": "buffer", "rule_kind": "buffer_fire", "status": "open",
           "severity": "high", "confidence": 0.84, "party": "B", "party_basis": "attributed",
           "summary": "fire inside the buffer zone", "incidents": [7], "lon": 37.5, "lat": 47.93,
           "period_start": T0, "period_end": T0 + 86400}  # fmt: skip


def _public() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    incidents, findings, _ = edition_view([dict(INCIDENT)], [dict(FINDING)], [], "public")
    return incidents, findings


def test_stix_bundle_parses_and_carries_confidence_and_location() -> None:
    incidents, findings = _public()
    text = stix_bundle(incidents, findings, "test mission")
    bundle = stix2.parse(text, allow_custom=True)
    by_type: dict[str, list[object]] = {}
    for o in bundle.objects:
        by_type.setdefault(o.type, []).append(o)
    assert sorted(by_type) == ["identity", "incident", "location", "note", "sighting"]
    loc = by_type["location"][0]
    assert (loc.latitude, loc.longitude, loc.precision) == (47.93, 37.5, 1000.0)  # public tier
    sighting = by_type["sighting"][0]
    assert sighting.count == 4 and sighting.confidence == 84
    assert sighting.sighting_of_ref == by_type["incident"][0].id
    note = by_type["note"][0]
    assert note.object_refs == [by_type["incident"][0].id]
    assert note.get("x_truceline_party") is None  # open finding: the public tier names no party
    assert "crater analysis" not in text and '"B"' not in text
    again = stix2.parse(stix_bundle(incidents, findings, "test mission"), allow_custom=True)
    assert [o.id for o in again.objects] == [o.id for o in bundle.objects]  # stable ids


def test_hxl_csv_has_a_hashtag_row_and_one_row_per_incident() -> None:
    incidents, _ = _public()
    rows = list(csv.reader(io.StringIO(hxl_csv(incidents, INCIDENT_COLUMNS))))
    assert rows[1][0] == "#event+id" and all(t.startswith("#") for t in rows[1])
    record = dict(zip(rows[1], rows[2], strict=True))
    assert record["#event+id"] == "7" and record["#date+start"] == "2015-03-13T00:09:00Z"
    assert record["#geo+lat"] == "47.93" and "Marinka" in record["#loc+name"]
    assert len(rows) == 3


def test_export_command_on_an_empty_workspace(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "incidents.geojson"
    r = CliRunner().invoke(
        app,
        ["--db", sqlite_workspace.url, "export", "incidents", "--format", "geojson",
         "--from", "2015-03-13", "--to", "2015-03-13", "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text()) == {"type": "FeatureCollection", "features": []}
    bad = CliRunner().invoke(
        app,
        ["--db", sqlite_workspace.url, "export", "findings", "--format", "geojson",
         "--from", "2015-03-13", "--to", "2015-03-13"],
    )  # fmt: skip
    assert bad.exit_code != 0 and "GeoJSON exports incidents only" in f"{bad.exception}"
