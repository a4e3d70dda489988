"""Every public and party-facing face applies one set of rules (``report.editions``).

One store holds what must never leak: observers' positions (monitors' and acoustic
sensors' bearings), monitor and sensor ids, a single-source incident at the position
of the monitor who reported it, weapon positions, findings naming a party (open,
confirmed, and one graded unconfirmed) whose wording names the party. Each face (the
daily report's public edition, the public assessment, OGC API - Features, /incidents
and /findings over real HTTP for the public and for a party liaison, the dashboard's
data, STIX/HXL/GeoJSON exports written to files) must show exactly what the rules allow:
the same incidents, weapons on the same coarse cell, the same party naming.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from truceline.cli import app
from truceline.compliance.rules.base import Finding
from truceline.compliance.wording import Wording
from truceline.report.editions import COARSE_DEG
from truceline.service.agreements import load_agreement
from truceline.service.findings import confirm, list_findings, store_findings
from truceline.service.fusion import fuse
from truceline.service.incidents import list_incidents, verify
from truceline.service.reports import daily_report
from truceline.service.sources import register_source
from truceline.service.submissions import ingest_records
from truceline.service.users import add_user
from truceline.service.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "src/truceline/examples/reference-2025"
DAY = "2026-01-15"
T0 = int(datetime(2026, 1, 15, 9, tzinfo=UTC).timestamp())

TARGET = (37.66431, 48.03387)  # where the explosion was (the bearings meet there)
POSTS = {"ac-31": (37.61113, 48.01127), "ac-32": (37.71719, 47.98983)}  # sensors' positions
MONITOR_AT = (37.94321, 48.34567)  # a shot mon-08 alone reported: not published
WEAPON = (37.83217, 48.11473)  # a tank, exactly
SECRETS = (
    "mon-07", "mon-08", "ac-31", "ac-32", "wire-9",
    *(f"{v:.5f}" for p in (*POSTS.values(), MONITOR_AT, WEAPON) for v in p),
    "crater analysis", "held-by-B-marker", "site-A1",
)  # fmt: skip


def _bearing(post: tuple[float, float], target: tuple[float, float]) -> float:
    dx = (target[0] - post[0]) * 111_195 * np.cos(np.radians(target[1]))
    dy = (target[1] - post[1]) * 111_195
    return float(np.degrees(np.arctan2(dx, dy)) % 360)


def _world(ws: Workspace) -> dict[str, int]:
    load_agreement(ws, EXAMPLE / "agreement.toml")
    for sid, stype in (("mon-07", "monitor"), ("mon-08", "monitor"), ("ac-31", "acoustic"),
                       ("ac-32", "acoustic")):  # fmt: skip
        register_source(ws, sid, stype, signature_policy="optional", actor="test")
    rows: list[dict[str, Any]] = [
        {"client_id": f"b-{sid}", "source_id": sid, "source_type": "acoustic", "t": T0 + k,
         "obs_lon": post[0], "obs_lat": post[1], "bearing_deg": _bearing(post, TARGET),
         "bearing_sd_deg": 1.0, "lon": None, "lat": None, "radius_m": None,
         "kind": "explosion", "count": 3}
        for k, (sid, post) in enumerate(POSTS.items())
    ]  # fmt: skip
    rows += [
        {"client_id": "w1", "source_id": "mon-07", "source_type": "monitor", "t": T0 + 3600,
         "lon": WEAPON[0], "lat": WEAPON[1], "radius_m": 50.0, "kind": "weapon_sighting",
         "weapon_class": "tank", "count": 2, "actor": "A",
         "description": f"mon-07 from the roof of the school at {WEAPON[1]:.5f} {WEAPON[0]:.5f}"},
        {"client_id": "w2", "source_id": "wire-9", "source_type": "osint", "t": T0 + 3660,
         "lon": WEAPON[0] + 0.0002, "lat": WEAPON[1], "radius_m": 80.0,
         "kind": "weapon_sighting", "weapon_class": "tank", "count": 2},
        {"client_id": "s1", "source_id": "mon-08", "source_type": "monitor", "t": T0 + 7200,
         "lon": MONITOR_AT[0], "lat": MONITOR_AT[1], "radius_m": 300.0, "kind": "shot",
         "count": 1},
    ]  # fmt: skip
    rep = ingest_records(ws, rows)
    assert rep.accepted == len(rows), rep.problems
    fuse(ws)
    by_kind = {i.kind: i for i in list_incidents(ws)}
    assert {k: i.status for k, i in by_kind.items()} == {
        "explosion": "corroborated", "weapon_sighting": "corroborated", "shot": "reported",
    }  # fmt: skip
    verify(ws, by_kind["weapon_sighting"].id, reason="imagery", actor="hq")
    ids = {"explosion": by_kind["explosion"].id, "weapon": by_kind["weapon_sighting"].id,
           "shot": by_kind["shot"].id}  # fmt: skip
    t = T0 - 3600
    found = [
        Finding("buffer-fire", "buffer_fire", "reference-2025", 1, "open", t, t + 86400, "B",
                "crater analysis", "high", 0.8, "fire into the buffer zone by B",
                incidents=(ids["explosion"],), lon=TARGET[0], lat=TARGET[1],
                wording=Wording("fire into the buffer zone by %(party)s",
                                {"party": "held-by-B-marker"})),
        Finding("buffer-fire", "buffer_fire", "reference-2025", 1, "confirmed", t, t + 86400,
                "A", "attributed", "medium", 0.9, "fire into the buffer zone by A",
                incidents=(ids["explosion"],), lon=TARGET[0], lat=TARGET[1]),
        Finding("band-tank", "withdrawal_band", "reference-2025", 1, "weapon", t, t + 86400,
                "A", "inside the band of A", "high", 0.9, "2 tanks near site-A1 depot",
                incidents=(ids["weapon"],), lon=WEAPON[0], lat=WEAPON[1]),
        Finding("buffer-fire", "buffer_fire", "reference-2025", 1, "unconfirmed", t,
                t + 86400, "B", "crater analysis", "unconfirmed", 0.3, "maybe B",
                incidents=(ids["shot"],), lon=MONITOR_AT[0], lat=MONITOR_AT[1]),
    ]  # fmt: skip
    with ws.engine.begin() as conn:
        store_findings(conn, found)
    by_anchor = {f.summary: f.id for f in list_findings(ws)}
    ids["f_open"] = by_anchor["fire into the buffer zone by B"]
    ids["f_confirmed"] = by_anchor["fire into the buffer zone by A"]
    ids["f_weapon"] = by_anchor["2 tanks near site-A1 depot"]
    ids["f_unconfirmed"] = by_anchor["maybe B"]
    confirm(ws, ids["f_confirmed"], "hq", "mon-07 saw it from the roof of the school")
    return ids


def _cell(v: float) -> float:
    return round((np.floor(round(v / COARSE_DEG, 9)) + 0.5) * COARSE_DEG, 6)


def _get(url: str, token: str | None = None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    r = httpx.get(url, headers=headers, timeout=60)
    assert r.status_code == 200, (url, r.text)
    return r


def _features(doc: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {
        int(f["id"]): {**f["properties"], "lon": f["geometry"]["coordinates"][0],
                       "lat": f["geometry"]["coordinates"][1]}
        for f in doc["features"]
    }  # fmt: skip


def _rounded(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 9)
    if isinstance(v, dict):
        return {k: _rounded(x) for k, x in v.items()}
    return v


def _cli(ws: Workspace, *args: str) -> None:
    r = CliRunner().invoke(app, ["--db", ws.url, *args])
    assert r.exit_code == 0, r.output


@pytest.fixture
def world(sqlite_workspace: Workspace, serve: Any, tmp_path: Path) -> dict[str, Any]:
    ws = sqlite_workspace
    ids = _world(ws)
    exact = {i.id: (i.lon, i.lat) for i in list_incidents(ws)}
    liaison = add_user(ws, "liaison-a", "party", "A").token
    url, _stop = serve(ws)
    return {"ws": ws, "ids": ids, "exact": exact, "url": url, "liaison": liaison,
            "out": tmp_path / "out"}  # fmt: skip


def _public_faces(w: dict[str, Any]) -> dict[str, Any]:
    """Every public face, read back: incidents and findings as plain dicts, and the texts."""
    ws, url, out = w["ws"], w["url"], w["out"]
    faces: dict[str, Any] = {"incidents": {}, "findings": {}, "texts": {}}
    report = daily_report(ws, datetime.fromisoformat(DAY).date(), out / "daily", edition="public")
    doc = json.loads(report.json.read_text(encoding="utf-8"))
    faces["incidents"]["daily"] = {i["id"]: i for i in doc["incidents"]}
    faces["findings"]["daily"] = {f["id"]: f for f in doc["findings"]}
    faces["texts"]["daily.json"] = report.json.read_text(encoding="utf-8")
    faces["texts"]["daily.html"] = report.html.read_text(encoding="utf-8")
    faces["daily"] = doc

    _cli(ws, "assess", "--from", DAY, "--to", DAY, "--out", str(out / "assess"),
         "--edition", "public")  # fmt: skip
    stem = out / "assess" / f"assessment-{DAY}-{DAY}-public"
    adoc = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    faces["findings"]["assessment"] = {f["id"]: f for f in adoc["findings"]}
    faces["texts"]["assessment.json"] = stem.with_suffix(".json").read_text(encoding="utf-8")
    faces["texts"]["assessment.html"] = stem.with_suffix(".html").read_text(encoding="utf-8")

    r = _get(f"{url}/ogc/collections/incidents/items?limit=100")
    faces["incidents"]["ogc"] = _features(r.json())
    faces["texts"]["ogc items"] = r.text
    coll = _get(f"{url}/ogc/collections/incidents")
    faces["texts"]["ogc collection"] = coll.text
    faces["ogc_bbox"] = coll.json()["extent"]["spatial"]["bbox"][0]
    r = _get(f"{url}/incidents?limit=100")  # the dashboard's map reads this page
    faces["incidents"]["api"] = _features(r.json())
    faces["texts"]["api incidents"] = r.text
    one = {}
    for iid in faces["incidents"]["api"]:
        item = _get(f"{url}/incidents/{iid}")
        one.update(_features({"features": [item.json()]}))
        faces["texts"][f"api incident {iid}"] = item.text
        ogc = _get(f"{url}/ogc/collections/incidents/items/{iid}")
        faces["texts"][f"ogc item {iid}"] = ogc.text
        assert _features({"features": [ogc.json()]})[iid] == faces["incidents"]["ogc"][iid]
    faces["incidents"]["api one"] = one
    r = _get(f"{url}/findings")
    faces["findings"]["api"] = {f["id"]: f for f in r.json()}
    faces["texts"]["api findings"] = r.text
    faces["findings"]["api one"] = {}
    for fid in faces["findings"]["api"]:
        f = _get(f"{url}/findings/{fid}")
        faces["findings"]["api one"][fid] = f.json()
        faces["texts"][f"api finding {fid}"] = f.text
    faces["texts"]["dashboard zones"] = _get(f"{url}/dashboard/zones").text
    faces["texts"]["ogc zones"] = _get(f"{url}/ogc/collections/zones/items?limit=1000").text
    faces["reports"] = _get(f"{url}/reports").json()

    for what, fmt in (("incidents", "stix"), ("incidents", "hxl"), ("incidents", "geojson"),
                      ("findings", "hxl"), ("findings", "stix")):  # fmt: skip
        path = out / f"{what}.{fmt}"
        _cli(ws, "export", what, "--format", fmt, "--from", DAY, "--to", DAY, "--out", str(path))
        faces["texts"][f"export {what} {fmt}"] = path.read_text(encoding="utf-8")
    stix = json.loads(faces["texts"]["export incidents stix"])["objects"]
    locs = {o["id"]: o for o in stix if o["type"] == "location"}
    incs = {o["id"]: o for o in stix if o["type"] == "incident"}
    faces["incidents"]["stix"] = {
        incs[s["sighting_of_ref"]]["x_truceline_id"]: {
            "lon": locs[s["where_sighted_refs"][0]]["longitude"],
            "lat": locs[s["where_sighted_refs"][0]]["latitude"],
        }
        for s in stix
        if s["type"] == "sighting"
    }
    notes = [o for o in json.loads(faces["texts"]["export findings stix"])["objects"]
             if o["type"] == "note"]  # fmt: skip
    faces["findings"]["stix"] = {
        int(n["abstract"].split(":")[0].split()[1]): {"party": n.get("x_truceline_party")}
        for n in notes
    }
    rows = list(csv.reader(io.StringIO(faces["texts"]["export incidents hxl"])))
    faces["incidents"]["hxl"] = {
        int(r[0]): {"lon": float(r[7]), "lat": float(r[6])} for r in rows[2:] if r
    }
    rows = list(csv.reader(io.StringIO(faces["texts"]["export findings hxl"])))
    faces["findings"]["hxl"] = {int(r[0]): {"party": r[5] or None} for r in rows[2:] if r}
    geo = json.loads(faces["texts"]["export incidents geojson"])
    faces["incidents"]["geojson"] = _features(geo)
    return faces


def test_every_public_face_shows_what_the_rules_allow_and_nothing_more(
    world: dict[str, Any],
) -> None:
    ids, exact = world["ids"], world["exact"]
    faces = _public_faces(world)
    published = {ids["explosion"], ids["weapon"]}  # the single-source shot is not published
    wx, wy = _cell(WEAPON[0]), _cell(WEAPON[1])
    ex, ey = (round(v, 2) for v in exact[ids["explosion"]])
    for face, seen in faces["incidents"].items():
        assert set(seen) == published, face
        # weapons on the 0.1 degree cell's centre, other incidents to 0.01 degree: the same
        # numbers in every face
        assert (seen[ids["weapon"]]["lon"], seen[ids["weapon"]]["lat"]) == (wx, wy), face
        assert (seen[ids["explosion"]]["lon"], seen[ids["explosion"]]["lat"]) == (ex, ey), face
        for i in seen.values():
            assert not {"actor", "actor_confidence", "actor_basis", "side"} & set(i), face
            assert not {"observations", "history", "sources"} & set(i), face
    assert faces["daily"]["counts"]["incidents"]["total"] == 2
    assert faces["reports"] == [{"day": DAY, "incidents": 2}]
    x0, y0, x1, y1 = faces["ogc_bbox"]  # the extent, widened to the grid: no exact edge
    assert all(round(v / COARSE_DEG, 6) == round(v / COARSE_DEG) for v in (x0, y0, x1, y1))

    shown = {ids["f_open"], ids["f_confirmed"], ids["f_weapon"]}  # not the unconfirmed grade
    party = {ids["f_open"]: None, ids["f_confirmed"]: "A", ids["f_weapon"]: None}
    for face, found in faces["findings"].items():
        assert set(found) == shown, face
        assert {k: f["party"] for k, f in found.items()} == party, face
        for fid, f in found.items():
            if "lon" in f and fid == ids["f_weapon"]:
                assert (f["lon"], f["lat"]) == (wx, wy), face  # as its incident is shown
            if fid != ids["f_confirmed"]:
                assert not f.get("party_basis"), face
                assert not f.get("summary"), face  # its summary may name the party
            assert not f.get("changes"), face  # who reviewed it and why, in their words
    fused = tuple(f"{v:.4f}" for p in exact.values() for v in p)  # exact fused positions
    for name, text in faces["texts"].items():
        for secret in (*SECRETS, *fused):
            assert secret not in text, (name, secret)


def test_a_party_liaison_sees_published_fused_incidents_and_every_finding(
    world: dict[str, Any],
) -> None:
    ids, exact, url, token = world["ids"], world["exact"], world["url"], world["liaison"]
    published = {ids["explosion"], ids["weapon"]}
    page = _get(f"{url}/incidents?limit=100", token)
    seen = _features(page.json())
    assert set(seen) == published
    texts = {"incidents": page.text}
    for iid in published:
        one = _get(f"{url}/incidents/{iid}", token)
        texts[f"incident {iid}"] = one.text
        got = _features({"features": [one.json()]})[iid]
        assert _rounded(got) == _rounded(seen[iid])  # (the page's JSON is the database's)
        assert (got["lon"], got["lat"]) == pytest.approx(exact[iid], abs=1e-9)  # fused, exact
        assert "observations" not in got and "history" not in got
    r = httpx.get(f"{url}/incidents/{ids['shot']}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404  # the monitor's lone report is not published
    found = _get(f"{url}/findings", token)
    texts["findings"] = found.text
    by_id = {f["id"]: f for f in found.json()}
    assert {k: f["party"] for k, f in by_id.items()} == {
        ids["f_open"]: "B", ids["f_confirmed"]: "A", ids["f_weapon"]: "A",
        ids["f_unconfirmed"]: "B",
    }  # fmt: skip
    for fid in by_id:
        one = _get(f"{url}/findings/{fid}", token)
        texts[f"finding {fid}"] = one.text
        assert {**one.json(), "changes": []} == by_id[fid]  # (the list carries no reviews)
    review = _get(f"{url}/findings/{ids['f_confirmed']}", token).json()["changes"]
    assert [c["reason"] for c in review] == ["[…] saw it from the roof of the school"]
    texts["zones"] = _get(f"{url}/dashboard/zones", token).text
    texts["me"] = _get(f"{url}/dashboard/me", token).text
    # (a partner reads every finding where it lies: the unconfirmed one on the shot too)
    never = ("mon-07", "mon-08", "ac-31", "ac-32", "wire-9", "site-A1\"",
             *(f"{v:.5f}" for p in POSTS.values() for v in p))  # fmt: skip
    for name, text in texts.items():
        for secret in never:
            assert secret not in text, (name, secret)
