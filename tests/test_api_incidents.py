"""Incidents over the API: filters, paging, GeoJSON, tiers, status changes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from truceline.service.fusion import fuse
from truceline.service.incidents import list_incidents, verify
from truceline.service.submissions import ingest_records
from truceline.service.workspace import Workspace

T0 = 1740802200


def _obs(
    cid: str, src: str, lon: float, lat: float, dt: int, kind: str = "explosion"
) -> dict[str, Any]:
    return {
        "source_id": src,
        "source_type": "osint",
        "client_id": cid,
        "t": T0 + dt,
        "lon": lon,
        "lat": lat,
        "radius_m": 100.0,
        "kind": kind,
        "actor": "A",
    }


def _world(ws: Workspace) -> dict[str, int]:
    """Three incidents: one seen by two independent sources (corroborated), one by one
    source (reported), one weapon sighting that an analyst verifies; by kind/place."""
    rows = [
        _obs("a1", "wire-1", 37.80, 48.20, 0),
        _obs("a2", "wire-2", 37.8001, 48.2001, 5),
        _obs("b1", "wire-1", 38.50, 47.50, 7200),
        _obs("c1", "wire-3", 36.0123, 49.0456, 20000, kind="weapon_sighting"),
    ]
    rep = ingest_records(ws, rows)
    assert rep.accepted == 4, rep.problems
    fuse(ws)
    by_lon = {round(i.lon, 1): i for i in list_incidents(ws)}
    verify(ws, by_lon[36.0].id, reason="imagery", actor="test")
    return {"pair": by_lon[37.8].id, "single": by_lon[38.5].id, "weapon": by_lon[36.0].id}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_analyst_sees_every_incident_and_filters_them(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    ids = _world(sqlite_workspace)
    h = _auth(api_tokens["analyst"])
    r = api_client.get("/incidents", headers=h)
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["numberMatched"] == 3
    assert [f["id"] for f in fc["features"]] == [ids["weapon"], ids["single"], ids["pair"]]
    assert fc["features"][1]["properties"]["actor"] == "A"

    def got(**params: Any) -> list[int]:
        res = api_client.get("/incidents", params=params, headers=h)
        assert res.status_code == 200, res.text
        return [f["id"] for f in res.json()["features"]]

    assert got(status="reported") == [ids["single"]]
    assert got(status=["reported", "verified"]) == [ids["weapon"], ids["single"]]
    assert got(kind="weapon_sighting") == [ids["weapon"]]
    assert got(bbox="37.5,48,38,48.5") == [ids["pair"]]
    assert got(since=T0 + 3600, until=T0 + 10000) == [ids["single"]]
    assert got(since="2025-03-01T04:10:00Z") == [ids["weapon"], ids["single"], ids["pair"]]
    assert got(limit=1, offset=1) == [ids["single"]]
    assert got(sector="nowhere") == []
    detail = api_client.get(f"/incidents/{ids['pair']}", headers=h).json()
    assert {o["source_id"] for o in detail["properties"]["observations"]} == {"wire-1", "wire-2"}


def test_others_see_only_published_incidents_and_the_public_no_attribution(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    ids = _world(sqlite_workspace)
    liaison = api_client.get("/incidents", headers=_auth(api_tokens["party"])).json()
    assert sorted(f["id"] for f in liaison["features"]) == sorted([ids["pair"], ids["weapon"]])
    assert all(
        f["properties"]["status"] in ("corroborated", "verified") for f in liaison["features"]
    )
    public = api_client.get("/incidents").json()
    assert public["numberMatched"] == 2
    for f in public["features"]:
        assert "actor" not in f["properties"] and "side" not in f["properties"]
        assert "observations" not in f["properties"]
    weapon = next(f for f in public["features"] if f["id"] == ids["weapon"])
    lon, lat = weapon["geometry"]["coordinates"]
    assert (lon, lat) == (36.05, 49.05) and weapon["properties"]["radius_m"] >= 8000  # 0.1° grid
    assert api_client.get(f"/incidents/{ids['single']}").status_code == 404
    one = api_client.get(f"/incidents/{ids['pair']}", headers=_auth(api_tokens["guarantor"]))
    assert one.status_code == 200 and "observations" not in one.json()["properties"]
    assert api_client.get("/incidents", params={"status": "reported"}).json()["features"] == []


def test_status_changes_are_the_analysts_with_reasons(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    ids = _world(sqlite_workspace)
    url = f"/incidents/{ids['single']}/status"
    body = {"action": "dispute", "reason": "party B denies it"}
    assert api_client.post(url, json=body, headers=_auth(api_tokens["party"])).status_code == 403
    r = api_client.post(url, json=body, headers=_auth(api_tokens["analyst"]))
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["from_status"], out["to_status"], out["actor"]) == (
        "reported",
        "disputed",
        "api:u-analyst",
    )
    assert out["ledger_index"] is not None
    again = api_client.post(url, json=body, headers=_auth(api_tokens["analyst"]))
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    missing = api_client.post(
        "/incidents/999999/status", json=body, headers=_auth(api_tokens["analyst"])
    )
    assert missing.status_code == 404


def test_bad_query_parameters_are_422_with_the_reason(
    api_client: TestClient, api_tokens: dict[str, str]
) -> None:
    h = _auth(api_tokens["analyst"])
    for params, word in (
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "0,95,1,96"}, "bbox"),
        ({"status": "lost"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"since": "yesterday"}, "since"),
    ):
        r = api_client.get("/incidents", params=params, headers=h)
        assert r.status_code == 422, (params, r.text)
        assert word in r.text, (params, r.text)


def test_reports_count_only_the_incidents_the_caller_may_see(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    _world(sqlite_workspace)  # one day: two published incidents and one only reported
    analyst = api_client.get("/reports", headers=_auth(api_tokens["analyst"])).json()
    assert analyst == [{"day": "2025-03-01", "incidents": 3}]
    for who in ("party", "guarantor", "monitor", "sensor"):
        seen = api_client.get("/reports", headers=_auth(api_tokens[who])).json()
        assert seen == [{"day": "2025-03-01", "incidents": 2}], who
    assert api_client.get("/reports").json() == [{"day": "2025-03-01", "incidents": 2}]


def _to_12_digits(v: Any) -> Any:
    if isinstance(v, float):
        return float(f"{v:.12g}")
    if isinstance(v, dict):
        return {k: _to_12_digits(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_to_12_digits(x) for x in v]
    return v


def test_the_database_written_page_is_the_page(workspace: Workspace) -> None:
    """The features the database writes as JSON (every reader but the public) are, field
    for field, those built from the columns, on SQLite and on PostgreSQL (numbers to 12
    significant digits: SQLite writes 15, so 36.01230000000001 comes out as 36.0123)."""
    import json

    from sqlalchemy import update

    from truceline.service.publication import (
        IncidentQuery,
        Tier,
        incident_page,
        incident_page_text,
    )
    from truceline.store.schema import incidents

    ids = _world(workspace)
    nested = {"ellipse": '{"semi_major_m": 812.5, "semi_minor_m": 140.25, "azimuth_deg": 33.0}',
              "side": '{"A": 0.62, "B": 0.38}'}  # fmt: skip
    with workspace.engine.begin() as conn:  # JSON columns as fusion writes them
        conn.execute(update(incidents).where(incidents.c.id == ids["pair"]).values(**nested))
    queries = [IncidentQuery(), IncidentQuery(bbox=(37.5, 48, 38, 48.5)), IncidentQuery(limit=1)]
    for tier in (Tier.RESTRICTED, Tier.PARTNER):
        for q in queries:
            page = incident_page(workspace, q, tier)
            text = incident_page_text(workspace, q, tier)
            assert text is not None and text.matched == page.matched
            got = [json.loads(f) for f in text.features]
            assert _to_12_digits(got) == _to_12_digits(page.features)
    pair = incident_page(workspace, IncidentQuery(bbox=(37.5, 48, 38, 48.5)), Tier.RESTRICTED)
    assert pair.features[0]["properties"]["side"] == {"A": 0.62, "B": 0.38}  # nested, compared
    assert incident_page_text(workspace, IncidentQuery(), Tier.PUBLIC) is None
