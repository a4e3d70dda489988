"""The main job end to end: `truceline demo` on the built-in scenario and on real UCDP events."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from truceline.cli import app
from truceline.compliance.agreement import load_agreement_file
from truceline.domain.errors import Conflict
from truceline.domain.observations import observation_record
from truceline.ledger.signatures import verify_record
from truceline.report.editions import PUBLISHED
from truceline.service.demo import DemoResult, default_agreement_path, run_demo
from truceline.service.reports import ReportPaths
from truceline.service.workspace import open_workspace
from truceline.store.schema import findings, observations, sources

UCDP = "ucdp_ged231_ukraine_2014_2022-02-23.csv"


def _edition_is_whole(r: DemoResult, paths: ReportPaths, index_path: Path) -> dict[str, Any]:
    html = paths.html.read_text()
    img = re.search(r'<img src="([^"]+\.png)"', html)
    assert img is not None, "the report shows no map"
    png = paths.html.parent / img.group(1)
    assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    doc: dict[str, Any] = json.loads(paths.json.read_text())
    assert doc["date"] == r.day.isoformat() and doc["tree_head"]["size"] == r.tree_head_size
    index = index_path.read_text()  # a day is listed for an edition that shows incidents of it
    linked = f'href="{paths.html.name}"' in index
    assert linked == (doc["counts"]["incidents"]["total"] > 0)
    return doc


def _report_is_whole(r: DemoResult) -> dict[str, Any]:
    """The restricted edition of the busiest day holds its incidents; the public one
    holds exactly those of them that are published, and its index counts no others."""
    restricted = _edition_is_whole(r, r.restricted, r.restricted_index)
    assert restricted["counts"]["incidents"]["total"] > 0
    public = _edition_is_whole(r, r.report, r.index)
    published = [i for i in restricted["incidents"] if i["status"] in PUBLISHED]
    assert public["counts"]["incidents"]["total"] == len(published)
    assert {i["status"] for i in public["incidents"]} <= set(PUBLISHED)
    return restricted


@pytest.mark.slow
def test_demo_builtin_through_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = CliRunner().invoke(app, ["demo", "--out", str(out), "--seed", "2015"])
    assert res.exit_code == 0, res.output
    assert "Report:" in res.output and "busiest day" in res.output
    ws = open_workspace(cwd=out)
    try:
        with ws.engine.connect() as conn:
            kinds = set(conn.execute(select(findings.c.rule_kind)).scalars())
            groups = dict(conn.execute(select(sources.c.id, sources.c.independence_group)).all())
            n_obs = len(conn.execute(select(observations.c.id)).all())
            signed = (
                conn.execute(
                    select(observations, sources.c.public_key)
                    .join(sources, sources.c.id == observations.c.source_id)
                    .where(sources.c.type == "monitor")
                )
                .mappings()
                .all()
            )
    finally:
        ws.engine.dispose()
    assert {"withdrawal_band", "buffer_fire"} <= kinds  # weapons in bands, fire in the zone
    assert groups["outlet-1"] == groups["wire-agency"]  # the roster went in with its groups
    assert 300 <= n_obs <= 5000
    assert signed and all(r["signature"] for r in signed)  # monitors sign on the device
    for r in signed[:5]:
        rec = observation_record(dict(r))
        assert verify_record(bytes(r["public_key"]), rec, r["signature"]) is None
    html = sorted((out / "reports").glob("daily-*.html"))
    assert [p.name.endswith("-restricted.html") for p in html] == [True, False]
    assert (out / "reports" / "index.html").is_file()
    html = html[1:]  # the public edition
    public = html[0].read_text() + html[0].with_suffix(".json").read_text()
    observers = [s for s in groups if not s.startswith(("outlet", "wire", "party"))]
    leaked = [s for s in observers if re.search(rf"\b{re.escape(s)}\b", public)]
    assert observers and leaked == []  # the public edition names no monitor or sensor


@pytest.mark.slow
def test_demo_builtin_result_and_rerun(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    r = run_demo(out, seed=3, days=8)
    assert r.incidents > 0 and r.findings > 0 and r.rejected == 0
    assert r.accepted == r.read > 0
    assert r.scenario is not None and r.scenario.days == 8
    _report_is_whole(r)
    again = run_demo(out, seed=3, days=8)  # a demo folder is replaced, not added to
    assert again.accepted == r.accepted and again.incidents == r.incidents
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(Conflict, match="not empty"):
        run_demo(tmp_path / "other", seed=3, days=8)
    assert (tmp_path / "other" / "keep.txt").read_text() == "mine"


@pytest.mark.slow
@pytest.mark.realdata
def test_demo_on_real_ucdp_events(real_data: Path, tmp_path: Path) -> None:
    r = run_demo(tmp_path / "ucdp", events=real_data / UCDP)
    assert r.read > 3000 and r.accepted > 0.9 * r.read
    assert r.incidents > 0 and r.findings > 0
    minsk = load_agreement_file(default_agreement_path())
    day_t = datetime(r.day.year, r.day.month, r.day.day, tzinfo=UTC).timestamp()
    assert minsk.valid_from - 86400 < day_t < (minsk.valid_to or 2**40)  # during the ceasefire
    doc = _report_is_whole(r)
    assert doc["agreement"]["id"] == "minsk-2015"
    assert not any(i["time_known"] for i in doc["incidents"])  # UCDP gives days, not times


def test_default_agreement_is_found() -> None:
    p = default_agreement_path()
    assert (p / "agreement.toml").is_file()
    assert load_agreement_file(p).id == "minsk-2015"
