"""The guarantee trigger on a hand-made case: candidates first, a notice only from confirmed
findings, and the notice checks offline against the mission's key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_compliance import add_incident
from test_compliance_reference import REFERENCE

from truceline.compliance.periods import to_epoch
from truceline.domain.errors import InputError
from truceline.service.agreements import load_agreement
from truceline.service.compliance import check
from truceline.service.findings import confirm, list_findings
from truceline.service.ledger import current_key
from truceline.service.notice import find_triggers, verify_notice, write_notice
from truceline.service.workspace import Workspace

KYIV, KRAMATORSK = (30.52, 50.45), (37.56, 48.72)
BY_B = {"actor": "B", "actor_confidence": 0.8, "actor_basis": "debris of a B missile"}


def _case(ws: Workspace) -> None:
    load_agreement(ws, REFERENCE)
    t = to_epoch("2026-03-10")
    add_incident(ws, 1, *KYIV, "explosion", t, n_obs=2, weapon_class="mlrs_long_tbm", **BY_B)
    add_incident(ws, 2, *KRAMATORSK, "movement", t + 60, actor="B", actor_confidence=0.8)
    check(ws, now=to_epoch("2026-04-30"))


def test_candidates_first_then_a_notice_from_confirmed_findings(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = sqlite_workspace
    _case(ws)
    found = {(t.condition.id, t.party, t.confirmed) for t in find_triggers(ws)}
    assert found == {("deep-strike", "B", False), ("dmz-entry", "B", False)}
    with pytest.raises(InputError, match="confirmed"):
        write_notice(ws, tmp_path / "notice.json")
    strike = next(f for f in list_findings(ws) if f.rule_id == "ceasefire-theatre")
    confirm(ws, strike.id, "analyst-1", "crater and debris checked on site")
    found = {(t.condition.id, t.party, t.confirmed) for t in find_triggers(ws)}
    assert found == {("deep-strike", "B", True), ("dmz-entry", "B", False)}
    out = tmp_path / "notice.json"
    doc = write_notice(ws, out)
    assert [f["id"] for f in doc["findings"]] == [strike.id]  # the candidate stays out
    assert [t["condition"]["id"] for t in doc["triggers"]] == ["deep-strike"]
    kinds = sorted(e["kind"] for e in doc["entries"])
    assert kinds == ["finding", "finding_status", "observation", "observation"]
    with ws.engine.connect() as conn:
        key = current_key(conn)
    assert key is not None
    rep = verify_notice(out, key.vkey)
    assert rep.issues == [] and rep.findings == 1 and rep.entries == 4


def test_a_tampered_notice_fails_offline(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    _case(ws)
    strike = next(f for f in list_findings(ws) if f.rule_id == "ceasefire-theatre")
    confirm(ws, strike.id, "analyst-1", "checked")
    out = tmp_path / "notice.json"
    write_notice(ws, out)
    with ws.engine.connect() as conn:
        key = current_key(conn)
    assert key is not None
    doc = json.loads(out.read_text())
    obs = next(e for e in doc["entries"] if e["kind"] == "observation")
    obs["data"] = obs["data"].replace("obs-", "forged-")  # the record, altered
    doc["findings"][0]["status"] = "open"
    out.write_text(json.dumps(doc))
    issues = verify_notice(out, key.vkey).issues
    assert any("does not hash" in i for i in issues)
    assert any("not confirmed" in i for i in issues)


def test_cli_lists_triggers_and_verifies_a_notice(
    sqlite_workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from truceline.cli import app

    ws = sqlite_workspace
    _case(ws)
    monkeypatch.chdir(ws.root)  # the workspace holds the mission's key file
    db: list[str] = []
    run = CliRunner().invoke
    r = run(app, [*db, "notice", "triggers"])
    assert r.exit_code == 0 and "deep-strike" in r.output and "candidate" in r.output
    r = run(app, [*db, "notice", "write", "--out", str(tmp_path / "n.json")])
    assert r.exit_code != 0 and isinstance(r.exception, InputError)
    strike = next(f for f in list_findings(ws) if f.rule_id == "ceasefire-theatre")
    confirm(ws, strike.id, "analyst-1", "checked")
    r = run(app, [*db, "notice", "write", "--out", str(tmp_path / "n.json")])
    assert r.exit_code == 0, r.output
    written = (tmp_path / "n.json").read_text()
    r = run(app, [*db, "notice", "write", "--out", str(tmp_path / "n.json")])
    assert isinstance(r.exception, InputError) and "--force" in str(r.exception)
    r = run(app, [*db, "notice", "write", "--out", str(tmp_path / "n.json"), "--force"])
    assert r.exit_code == 0 and json.loads(written)["findings"], r.output
    with ws.engine.connect() as conn:
        key = current_key(conn)
    assert key is not None
    r = run(app, ["notice", "verify", str(tmp_path / "n.json"), "--key", key.vkey])
    assert r.exit_code == 0 and "OK: 1 confirmed finding" in r.output
