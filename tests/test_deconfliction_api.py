"""The register through the real app: a liaison notifies for its own party, a refusal
is a 409 naming what to cite, need to know holds for the other party."""

from __future__ import annotations

from fastapi.testclient import TestClient

from truceline.service.users import add_user
from truceline.service.workspace import Workspace

T0 = 1_768_000_000
AREA = {"circle": [35.0462, 48.4647], "radius_m": 5000}


def body(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"activity": "flight", "footprint": AREA, "t_start": T0,
                               "t_end": T0 + 3600, "alt_min_m": 0, "alt_max_m": 1000,
                               "details": {"unit": "3rd squadron"}}  # fmt: skip
    return {**base, **kw}


def test_notify_refuse_cite_and_need_to_know(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    a = {"Authorization": f"Bearer {api_tokens['party']}"}  # the liaison of party A
    b = {"Authorization": f"Bearer {add_user(sqlite_workspace, 'liaison-b', 'party', 'B').token}"}
    analyst = {"Authorization": f"Bearer {api_tokens['analyst']}"}
    r = api_client.post("/notifications", json=body(), headers=a)
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    r = api_client.post("/notifications", json=body(), headers=b)
    assert r.status_code == 409
    assert [e["record"] for e in r.json()["errors"]] == [str(first)]
    r = api_client.post("/notifications", json=body(cite={first: 1}), headers=b)
    assert r.status_code == 201 and r.json()["conflicts"][0]["other_id"] == first
    second = r.json()["id"]
    assert r.json()["answers_from"] == ["A"]  # no agreement loaded: the party it met
    seen = api_client.get(f"/notifications/{first}", headers=b).json()
    assert seen["full"] is False and seen["details"] is None
    full = api_client.get(f"/notifications/{first}", headers=analyst).json()
    assert full["details"] == {"unit": "3rd squadron"}
    r = api_client.post("/notifications", json=body(alt_min_m=5000), headers=a)
    assert r.status_code == 422 and "upside down" in r.text
    r = api_client.post(
        f"/notifications/{second}/answer", json={"objection": "too close"}, headers=a
    )
    assert r.status_code == 200 and r.json()["answer"] == "objected"
    r = api_client.post(f"/notifications/{first}/cancel", json={}, headers=b)
    assert r.status_code == 403
    r = api_client.post(f"/notifications/{first}/withdraw", json={}, headers=a)
    assert r.status_code == 409 and "cancel the activity" in r.text  # a flight is cancelled
    site = body(activity="hospital", t_end=None, alt_min_m=None, alt_max_m=None)
    r = api_client.post("/notifications", json=site, headers=b)
    assert r.status_code == 201  # a site cites nothing; A's flight it touches is listed
    assert [(c["kind"], c["other_id"]) for c in r.json()["conflicts"]] == [("site", first)]
    r = api_client.post(f"/notifications/{r.json()['id']}/withdraw", json={"reason": "closed"},
                        headers=b)  # fmt: skip
    assert r.status_code == 200 and (r.json()["action"], r.json()["version"]) == ("withdraw", 2)
