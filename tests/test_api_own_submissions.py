"""A monitor's or sensor's own raw submissions, read back over the API: its own only."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from truceline.domain.errors import InputError, NotFound
from truceline.service.sources import register_source
from truceline.service.users import add_user
from truceline.service.workspace import Workspace


def _obs(cid: str, source_id: str, source_type: str = "monitor", **kw: Any) -> dict[str, Any]:
    return {"source_id": source_id, "source_type": source_type, "client_id": cid,
            "t": 1740802200, "lon": 37.8, "lat": 48.2, "radius_m": 250.0, "kind": "explosion",
            **kw}  # fmt: skip


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def bound(sqlite_workspace: Workspace) -> dict[str, dict[str, str]]:
    """Two monitors and a camera, each source registered and a user bound to it."""
    ws = sqlite_workspace
    out = {}
    for name, sid, stype, role in (
        ("m7", "mon-07", "monitor", "monitor"),
        ("m8", "mon-08", "monitor", "monitor"),
        ("c1", "cam-01", "camera", "sensor"),
    ):
        register_source(ws, sid, stype, signature_policy="optional", actor="test")
        out[name] = _auth(add_user(ws, f"u-{name}", role, source=sid).token)
    return out


def test_a_monitor_reads_back_its_own_submissions_and_nobody_elses(
    api_client: TestClient, api_tokens: dict[str, str], bound: dict[str, dict[str, str]]
) -> None:
    seen_at = {"obs_lon": 37.7, "obs_lat": 48.1, "bearing_deg": 80.0, "bearing_sd_deg": 3.0}
    for cid in ("a", "b"):
        r = api_client.post("/observations", json=_obs(cid, "mon-07", description=f"saw {cid}"),
                            headers=bound["m7"])  # fmt: skip
        assert r.status_code == 201, r.text
    r = api_client.post("/observations", json=_obs("c", "mon-08", **seen_at), headers=bound["m8"])
    assert r.status_code == 201, r.text
    r = api_client.post("/observations", json=_obs("d", "cam-01", "camera"), headers=bound["c1"])
    assert r.status_code == 201, r.text

    mine = api_client.get("/observations/mine", headers=bound["m7"]).json()
    assert (mine["source"], mine["matched"]) == ("mon-07", 2)
    assert [o["client_id"] for o in mine["observations"]] == ["b", "a"]  # newest first
    assert mine["observations"][0]["description"] == "saw b"
    assert mine["observations"][0]["ledger_index"] is not None
    other = api_client.get("/observations/mine", headers=bound["m8"]).json()
    assert [o["client_id"] for o in other["observations"]] == ["c"]
    first = other["observations"][0]
    assert (first["obs_lon"], first["obs_lat"]) == (37.7, 48.1)  # its own position, as sent
    cam = api_client.get("/observations/mine", headers=bound["c1"]).json()
    assert (cam["source"], [o["client_id"] for o in cam["observations"]]) == ("cam-01", ["d"])
    page = api_client.get("/observations/mine", params={"limit": 1, "offset": 1},
                          headers=bound["m7"]).json()  # fmt: skip
    assert [o["client_id"] for o in page["observations"]] == ["a"] and page["matched"] == 2

    unbound = api_client.get("/observations/mine", headers=_auth(api_tokens["monitor"])).json()
    assert unbound == {"source": None, "matched": 0, "observations": []}
    for role in ("party", "analyst", "guarantor", "public"):
        r = api_client.get("/observations/mine", headers=_auth(api_tokens[role]))
        assert r.status_code == 403, role
    assert api_client.get("/observations/mine").status_code == 401


def test_a_bound_user_submits_only_as_its_source(
    api_client: TestClient, bound: dict[str, dict[str, str]]
) -> None:
    r = api_client.post("/observations", json=_obs("x", "mon-08"), headers=bound["m7"])
    assert r.status_code == 422
    assert "submits only as source mon-07" in r.text
    batch = {"observations": [_obs("y", "mon-07"), _obs("z", "mon-08")]}
    out = api_client.post("/observations/batch", json=batch, headers=bound["m7"]).json()
    assert (out["accepted"], out["rejected"]) == (1, 1)
    assert [(p["line"], p["field"]) for p in out["problems"]] == [(2, "source_id")]
    assert api_client.get("/observations/mine", headers=bound["m8"]).json()["matched"] == 0


def test_a_user_is_bound_only_to_a_registered_source_of_its_kind(
    sqlite_workspace: Workspace,
) -> None:
    ws = sqlite_workspace
    register_source(ws, "cam-02", "camera", signature_policy="optional", actor="test")
    with pytest.raises(NotFound, match="no source 'mon-99'"):
        add_user(ws, "u1", "monitor", source="mon-99")
    with pytest.raises(InputError, match="a monitor submits as monitor"):
        add_user(ws, "u2", "monitor", source="cam-02")
    with pytest.raises(InputError, match="only for the monitor and sensor roles"):
        add_user(ws, "u3", "analyst", source="cam-02")
    assert add_user(ws, "u4", "sensor", source="cam-02").user.source == "cam-02"
