"""OGC API - Features: the documents in-process, and GDAL's OGCAPI driver as a real client."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from truceline.api.routes.ogc import CONFORMANCE
from truceline.service.agreements import load_agreement
from truceline.service.fusion import fuse
from truceline.service.incidents import list_incidents, verify
from truceline.service.submissions import ingest_records
from truceline.service.workspace import Workspace

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
T0 = 1740802200


def _obs(
    cid: str, src: str, lon: float, lat: float, dt: int, kind: str = "explosion"
) -> dict[str, Any]:
    return {"source_id": src, "source_type": "osint", "client_id": cid, "t": T0 + dt,
            "lon": lon, "lat": lat, "radius_m": 100.0, "kind": kind, "actor": "A"}  # fmt: skip


def _world(ws: Workspace) -> dict[str, int]:
    """The reference agreement; incidents: a corroborated pair, a lone report, and a
    verified weapon sighting."""
    load_agreement(ws, EXAMPLES / "reference-2025")
    rows = [
        _obs("a1", "wire-1", 37.80, 48.20, 0),
        _obs("a2", "wire-2", 37.8001, 48.2001, 5),
        _obs("b1", "wire-1", 38.50, 47.50, 7200),
        _obs("c1", "wire-3", 36.0123, 49.0456, 20000, kind="weapon_sighting"),
    ]
    assert ingest_records(ws, rows).accepted == 4
    fuse(ws)
    by_lon = {round(i.lon, 1): i.id for i in list_incidents(ws)}
    verify(ws, by_lon[36.0], reason="imagery", actor="test")
    return {"pair": by_lon[37.8], "single": by_lon[38.5], "weapon": by_lon[36.0]}


def test_landing_conformance_and_collections(
    api_client: TestClient, sqlite_workspace: Workspace
) -> None:
    _world(sqlite_workspace)
    landing = api_client.get("/ogc").json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["data"].endswith("/ogc/collections")
    assert api_client.get("/ogc/conformance").json()["conformsTo"] == CONFORMANCE
    cols = {c["id"]: c for c in api_client.get("/ogc/collections").json()["collections"]}
    assert set(cols) == {"incidents", "zones", "sectors"}
    bbox = cols["incidents"]["extent"]["spatial"]["bbox"][0]
    assert bbox == pytest.approx([36.0, 48.2, 37.9, 49.1])  # outward to the coarse grid
    assert cols["incidents"]["extent"]["temporal"]["interval"][0][0] == "2025-03-01T04:10:00Z"
    assert api_client.get("/ogc/collections/nope").status_code == 404


def test_items_page_filter_and_hide_what_is_not_published(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    ids = _world(sqlite_workspace)
    analyst = {"Authorization": f"Bearer {api_tokens['analyst']}"}
    fc = api_client.get("/ogc/collections/incidents/items", headers=analyst).json()
    assert fc["numberMatched"] == 2  # the open data are the public tier, whoever asks
    assert {f["id"] for f in fc["features"]} == {ids["pair"], ids["weapon"]}
    page = api_client.get("/ogc/collections/incidents/items", params={"limit": 1}).json()
    assert page["numberReturned"] == 1
    nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
    second = api_client.get(nxt).json()
    assert {f["id"] for f in page["features"] + second["features"]} == {ids["pair"], ids["weapon"]}
    assert not any(link["rel"] == "next" for link in second["links"])
    boxed = api_client.get("/ogc/collections/incidents/items", params={"bbox": "37,48,38,49"})
    assert [f["id"] for f in boxed.json()["features"]] == [ids["pair"]]
    at = {"datetime": "2025-03-01T09:00:00Z/.."}
    assert [
        f["id"]
        for f in api_client.get("/ogc/collections/incidents/items", params=at).json()["features"]
    ] == [ids["weapon"]]
    one = api_client.get(f"/ogc/collections/incidents/items/{ids['weapon']}").json()
    assert one["geometry"]["coordinates"] == [36.05, 49.05] and "actor" not in one["properties"]
    assert api_client.get(f"/ogc/collections/incidents/items/{ids['single']}").status_code == 404
    zones = api_client.get("/ogc/collections/zones/items", params={"limit": 1000}).json()
    assert zones["numberMatched"] == len(zones["features"]) > 0
    assert all(f["properties"]["kind"] != "sector" for f in zones["features"])
    for bad in ({"datetime": "tomorrow"}, {"bbox": "1,2"}, {"limit": 0}, {"f": "xml"}):
        r = api_client.get("/ogc/collections/incidents/items", params=bad)
        assert r.status_code == 422, bad


def _ogrinfo(exe: str, *args: str) -> str:
    res = subprocess.run(
        [exe, *args], capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF"},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr + res.stdout
    return res.stdout


def test_gdal_lists_and_reads_the_collections(
    api_server: str, sqlite_workspace: Workspace, ogrinfo: str
) -> None:
    _world(sqlite_workspace)
    listing = _ogrinfo(ogrinfo, "-ro", "-so", f"OAPIF:{api_server}/ogc")
    for name in ("incidents", "zones", "sectors"):
        assert name in listing
    summary = _ogrinfo(
        ogrinfo, "-ro", "-so", "-oo", "PAGE_SIZE=1", f"OAPIF:{api_server}/ogc", "incidents"
    )
    assert "Feature Count: 2" in summary and "Geometry: Point" in summary
    features = _ogrinfo(
        ogrinfo, "-ro", "-oo", "PAGE_SIZE=1", f"OAPIF:{api_server}/ogc", "incidents"
    )
    assert features.count("OGRFeature(incidents)") == 2, features  # both pages, by next links
    kinds = set(re.findall(r"kind \(String\) = (\w+)", features))
    assert kinds == {"explosion", "weapon_sighting"}
    assert "POINT (36.05 49.05)" in features  # the weapon, coarsened
    assert "38.5" not in features  # the unpublished report
    zones = _ogrinfo(ogrinfo, "-ro", "-so", f"OAPIF:{api_server}/ogc", "zones")
    assert "Feature Count:" in zones
