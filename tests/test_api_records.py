"""Findings, declarations, the ledger and reports over the API, tier by tier."""

from __future__ import annotations

from fastapi.testclient import TestClient

from truceline.compliance.rules.base import Finding
from truceline.ledger.merkle import verify_consistency, verify_inclusion
from truceline.service.findings import confirm, dismiss, store_findings
from truceline.service.ledger import init_key, issue_tree_head
from truceline.service.submissions import ingest_records
from truceline.service.workspace import Workspace


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _finding(anchor: str, party: str | None) -> Finding:
    return Finding(
        "buffer-fire", "zone", "ref-2025", 1, anchor, 1740800000, 1740803600, party,
        "side of line" if party else None, "high", 0.9, f"fire in the buffer zone ({anchor})",
        lon=37.81234, lat=48.21234,
    )  # fmt: skip


def _findings(ws: Workspace) -> dict[str, int]:
    with ws.engine.begin() as conn:
        store_findings(conn, [_finding("i1", "B"), _finding("i2", "A"), _finding("i3", None)])
    from truceline.service.findings import list_findings

    ids = {r.summary[-3:-1]: r.id for r in list_findings(ws)}
    confirm(ws, ids["i1"], "test", "two verified incidents")
    dismiss(ws, ids["i3"], "test", "a training range")
    return ids


def test_findings_by_tier(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    ids = _findings(sqlite_workspace)

    def seen(headers: dict[str, str]) -> dict[int, dict[str, object]]:
        r = api_client.get("/findings", headers=headers)
        assert r.status_code == 200, r.text
        return {f["id"]: f for f in r.json()}

    analyst = seen(_auth(api_tokens["analyst"]))
    assert set(analyst) == set(ids.values()) and analyst[ids["i2"]]["party"] == "A"
    assert seen(_auth(api_tokens["party"]))[ids["i2"]]["party"] == "A"
    public = seen({})
    assert set(public) == set(ids.values())
    # the public reads a party only on a finding an analyst confirmed
    assert [public[ids[k]]["party"] for k in ("i1", "i2", "i3")] == ["B", None, None]
    # nor the summary of one whose party it withholds: a rule's summary may name it
    summaries = [public[ids[k]]["summary"] for k in ("i1", "i2", "i3")]
    assert summaries == ["fire in the buffer zone (i1)", "", "fire in the buffer zone (i3)"]
    assert api_client.get(f"/findings/{ids['i2']}").json()["summary"] == ""
    assert (public[ids["i1"]]["lon"], public[ids["i1"]]["lat"]) == (37.81, 48.21)
    assert api_client.get(f"/findings/{ids['i2']}").json()["party"] is None
    by_party = api_client.get("/findings", params={"party": "A"}).json()
    assert by_party == []  # filtering by party must not reveal an unconfirmed one's party
    by_party = api_client.get("/findings", params={"party": "B"}).json()
    assert [f["id"] for f in by_party] == [ids["i1"]]


def test_the_analyst_reviews_a_finding(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    ids = _findings(sqlite_workspace)
    url = f"/findings/{ids['i2']}/status"
    r = api_client.post(
        url, json={"action": "confirm", "reason": "imagery"}, headers=_auth(api_tokens["analyst"])
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "confirmed" and body["changes"][-1]["actor"] == "api:u-analyst"
    assert {f["id"]: f["party"] for f in api_client.get("/findings").json()}[ids["i2"]] == "A"
    empty = api_client.post(
        url, json={"action": "dismiss", "reason": ""}, headers=_auth(api_tokens["analyst"])
    )
    assert empty.status_code == 422


def test_a_liaison_declares_only_for_its_own_party(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    body = {
        "subject": "personnel",
        "item": "army",
        "period": "2026-01",
        "value": 812000,
        "unit": "persons",
    }
    h = _auth(api_tokens["party"])
    r = api_client.post("/declarations", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["duplicate"] is False and r.json()["ledger_index"] is not None
    other = api_client.post("/declarations", json={**body, "party": "B"}, headers=h)
    assert other.status_code == 403
    listed = api_client.get("/declarations", headers=_auth(api_tokens["guarantor"])).json()
    assert [(d["party"], d["value"]) for d in listed] == [("A", 812000.0)]
    bad = api_client.post("/declarations", json={**body, "period": "2026-13"}, headers=h)
    assert bad.status_code == 422


def test_heads_and_proofs_check_out_and_hide_data_from_all_but_the_analyst(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    assert api_client.get("/ledger/head").status_code == 404
    obs = {"source_id": "wire-1", "source_type": "osint", "client_id": "x", "t": 1740802200,
           "lon": 37.8, "lat": 48.2, "radius_m": 50.0, "kind": "explosion"}  # fmt: skip
    ingest_records(sqlite_workspace, [obs])
    init_key(sqlite_workspace)
    first = issue_tree_head(sqlite_workspace)
    ingest_records(sqlite_workspace, [{**obs, "client_id": "y"}])
    second = issue_tree_head(sqlite_workspace)
    head = api_client.get("/ledger/head").json()
    assert (head["size"], head["root_hash"]) == (second.size, second.root_hash)
    last = second.size - 1
    full = api_client.get(f"/ledger/proof/{last}", headers=_auth(api_tokens["analyst"])).json()
    assert '"client_id":"y"' in full["data"]
    public = api_client.get(f"/ledger/proof/{last}").json()
    assert "data" not in public and "ref" not in public
    assert verify_inclusion(
        last, second.size, bytes.fromhex(public["leaf_hash"]),
        [bytes.fromhex(p) for p in public["proof"]], bytes.fromhex(second.root_hash),
    )  # fmt: skip
    c = api_client.get("/ledger/consistency", params={"old": first.size, "new": second.size}).json()
    assert verify_consistency(
        first.size, second.size, bytes.fromhex(first.root_hash), bytes.fromhex(second.root_hash),
        [bytes.fromhex(p) for p in c["proof"]],
    )  # fmt: skip
    assert api_client.get("/ledger/proof/99999").status_code == 404
    assert api_client.get("/ledger/consistency", params={"old": 5, "new": 2}).status_code == 422


def test_reports_lists_the_days(api_client: TestClient) -> None:
    r = api_client.get("/reports")
    assert r.status_code == 200 and r.json() == []
