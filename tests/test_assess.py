"""``assess``: the guarantors' report from stored findings, on both stores and by the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from test_compliance import NOW, RULES, add_incident, store_agreement
from test_rules_world import T0, agreement
from typer.testing import CliRunner

from truceline.cli import app
from truceline.service.compliance import check
from truceline.service.findings import assess, confirm, dismiss, list_findings
from truceline.service.workspace import Workspace

DAY = 86400


def _world(ws: Workspace) -> None:
    store_agreement(ws, agreement(RULES))
    t = T0 + 40 * DAY  # 2026-02-10
    add_incident(ws, 1, 30.5, 48.5, "weapon_sighting", t, weapon_class="artillery_ge100")
    add_incident(ws, 2, 30.98, 48.5, "explosion", t + 60, n_obs=2)
    add_incident(ws, 3, 30.3, 48.5, "foreign_unit", t + 8 * DAY, state="XA")
    add_incident(ws, 4, 30.97, 48.6, "explosion", t + 9 * DAY)
    check(ws, now=NOW)
    by_rule = {(f.rule_id, f.evidence["incidents"][0]): f.id for f in list_findings(ws)}
    confirm(ws, by_rule[("band", 1)], "hq", "verified by patrol")
    confirm(ws, by_rule[("nofor", 3)], "hq", "insignia photographed")
    dismiss(ws, by_rule[("buf", 4)], "hq", "quarry blasting")


def test_assess_writes_html_pdf_json_with_counts(workspace: Workspace, tmp_path: Path) -> None:
    _world(workspace)
    paths = assess(workspace, date(2026, 2, 1), date(2026, 3, 1), tmp_path / "out")
    doc = json.loads(paths.json.read_text(encoding="utf-8"))
    assert doc["confirmed"]["total"] == 2 and doc["open"]["total"] == 1
    assert doc["dismissed"] == 1
    assert doc["confirmed"]["by_party"] == {"west": 2}
    assert doc["open"]["by_party"] == {"not determined": 1}
    assert [t["rule_id"] for t in doc["confirmed"]["by_term"]] == ["band", "nofor"]
    assert doc["confirmed"]["by_term"][0]["text"] == "text of band"
    assert doc["period"] == {"from": "2026-02-01", "to": "2026-02-28", "end": "2026-03-01"}
    trend = doc["confirmed"]["trend"]
    assert trend[0] == {"week": "2026-W05", "start": "2026-02-01", "end": "2026-02-01", "n": 0}
    assert trend[-1]["end"] == "2026-02-28"  # weeks carry their days, cut to the period
    weeks = {w["week"]: w["n"] for w in doc["confirmed"]["trend"]}
    assert weeks["2026-W07"] == 1 and weeks["2026-W08"] == 1 and sum(weeks.values()) == 2
    first = doc["findings"][0]
    assert first["status"] == "confirmed" and first["evidence"]["incidents"] == [1]
    assert first["evidence"]["ledger"]  # the observation's leaf
    assert paths.pdf.read_bytes().startswith(b"%PDF")
    assert paths.map_png.read_bytes().startswith(b"\x89PNG")
    html = paths.html.read_text(encoding="utf-8")
    assert "Breach assessment" in html and paths.map_png.name in html
    assert "2026-02-09 to 2026-02-15" in html and "both included" in html


def test_assess_empty_period_and_cli(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    _world(sqlite_workspace)
    out = tmp_path / "cli"
    r = CliRunner().invoke(
        app,
        ["--db", sqlite_workspace.url, "assess", "--from", "2025-06-01", "--to", "2025-06-30",
         "--out", str(out)],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    assert doc["period"]["to"] == "2025-06-30"  # --to is the last day, included
    assert doc["confirmed"]["total"] == 0 and doc["findings"] == []
    assert next(out.glob("*.pdf")).read_bytes()[:4] == b"%PDF"
    bad = CliRunner().invoke(
        app, ["--db", sqlite_workspace.url, "assess", "--from", "2026-03-01", "--to",
              "2026-02-01", "--out", str(out)],
    )  # fmt: skip
    assert bad.exit_code != 0
    assert NOW > T0


def test_each_term_is_worded_as_in_the_version_that_judged_it_and_every_finding_is_trended() -> (
    None
):
    from dataclasses import replace

    from test_compliance import RULES as RULES_

    from truceline.report.assessment import assessment_doc

    v1 = agreement(RULES_, version=1, valid_to=T0 + 45 * DAY)
    v2 = agreement([replace(RULES_[0], text="amended band")], version=2, valid_from=T0 + 45 * DAY)

    def finding(i: int, version: int, start: int, end: int) -> dict[str, object]:
        return {"id": i, "status": "confirmed", "rule_id": "band", "rule_kind": "withdrawal_band",
                "agreement_id": "world", "agreement_version": version, "period_start": start,
                "period_end": end, "party": None, "party_basis": None, "severity": "high",
                "confidence": 1.0, "summary": "s", "evidence": {}, "lon": None, "lat": None,
                "ledger_index": None}  # fmt: skip

    jan = finding(1, 1, T0, T0 + 31 * DAY)  # a month begun before the assessed period
    feb = finding(2, 1, T0 + 40 * DAY, T0 + 41 * DAY)
    doc = assessment_doc([jan, feb], date(2026, 2, 1), date(2026, 3, 1), [v1, v2])
    assert doc["confirmed"]["by_term"][0]["text"] == "text of band"
    assert sum(w["n"] for w in doc["confirmed"]["trend"]) == doc["confirmed"]["total"] == 2
    both = assessment_doc([feb, {**feb, "id": 3, "agreement_version": 2}], date(2026, 2, 1),
                          date(2026, 3, 1), [v1, v2])  # fmt: skip
    assert both["confirmed"]["by_term"][0]["text"] == "text of band / amended band"


def test_assess_in_russian(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    _world(sqlite_workspace)
    out = tmp_path / "ru"
    r = CliRunner().invoke(
        app,
        ["--db", sqlite_workspace.url, "assess", "--from", "2026-02-01", "--to", "2026-02-28",
         "--out", str(out), "--lang", "ru"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    html = (out / "assessment-2026-02-01-2026-02-28.ru.html").read_text(encoding="utf-8")
    assert '<html lang="ru">' in html and "Оценка нарушений" in html
    assert "Подтверждённые выводы" in html and "Confirmed findings" not in html
    bad = CliRunner().invoke(
        app,
        ["--db", sqlite_workspace.url, "assess", "--from", "2026-02-01", "--to", "2026-02-28",
         "--out", str(out), "--lang", "de"],
    )  # fmt: skip
    assert bad.exit_code != 0 and "unknown language" in f"{bad.output}{bad.exception}"
