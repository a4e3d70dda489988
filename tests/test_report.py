"""The daily report on a workspace with hand-inserted rows in the real tables."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

from test_scenario import small_agreement
from typer.testing import CliRunner

from truceline.cli import app
from truceline.report.daily import JSON_SHAPE
from truceline.service.reports import busiest_day, daily_report, write_report_index
from truceline.service.workspace import Workspace
from truceline.store.schema import (
    agreements,
    coverage,
    findings,
    incidents,
    observations,
    sources,
)

DAY = date(2015, 3, 5)
T0 = int(datetime(2015, 3, 5, tzinfo=UTC).timestamp())


def _fill(ws: Workspace) -> None:
    a = small_agreement()
    content = json.dumps(a.to_json())
    inc = [
        # id, t, lon, lat, kind, status, sector, count
        (1, T0 + 3600, 38.45, 47.30, "explosion", "corroborated", "S1", 4),
        (2, T0 + 7200, 38.52, 47.32, "explosion", "reported", "S1", 1),
        (3, T0 + 9000, 38.60, 48.80, "burst", "reported", "S4", 2),
        (4, T0 + 40000, 38.30, 48.20, "weapon_sighting", "verified", "S3", 3),
        (5, T0 - 3600, 38.50, 47.10, "explosion", "reported", "S1", 1),  # day before
    ]
    with ws.engine.begin() as conn:
        conn.execute(
            agreements.insert().values(
                agreement_id=a.id,
                version=1,
                valid_from=a.valid_from,
                valid_to=None,
                sha256=hashlib.sha256(content.encode()).hexdigest(),
                content=content,
                loaded_at=T0,
            )
        )
        conn.execute(
            sources.insert().values(
                id="op-1", type="camera", name="op", independence_group="op", created_at=T0
            )
        )
        conn.execute(
            observations.insert(),
            [
                {
                    "uid": f"u{i}",
                    "source_id": "op-1",
                    "t": T0 + 100 * i,
                    "t_unc_s": 60.0,
                    "lon": 38.5,
                    "lat": 47.3,
                    "radius_m": 500.0,
                    "kind": "explosion" if i < 5 else "burst",
                    "count": 1,
                    "credibility": 2,
                    "received_at": T0,
                }
                for i in range(7)
            ],
        )
        conn.execute(
            incidents.insert(),
            [
                {
                    "id": i,
                    "t": t,
                    "t_start": t - 60,
                    "t_end": t + 60,
                    "lon": lon,
                    "lat": lat,
                    "radius_m": 1500.0,
                    "kind": kind,
                    "weapon_class": "artillery_ge100" if kind == "weapon_sighting" else None,
                    "count": n,
                    "status": st,
                    "n_observations": 2,
                    "n_groups": 1,
                    "confidence": 0.7,
                    "sector": sec,
                    "created_at": T0,
                    "updated_at": T0,
                }
                for i, t, lon, lat, kind, st, sec, n in inc
            ],
        )
        fov = {
            "type": "Polygon",
            "coordinates": [[[38.3, 47.1], [38.7, 47.1], [38.7, 47.5], [38.3, 47.5], [38.3, 47.1]]],
        }
        conn.execute(
            coverage.insert(),
            [
                {
                    "source_id": "op-1",
                    "kind": "observed",
                    "t_start": T0 - 86400,
                    "t_end": T0 + 2 * 86400,
                    "geometry": json.dumps(fov),
                    "minx": 38.3,
                    "miny": 47.1,
                    "maxx": 38.7,
                    "maxy": 47.5,
                    "note": "field of view",
                },
                {
                    "source_id": "op-1",
                    "kind": "outage",
                    "t_start": T0 + 43200,
                    "t_end": T0 + 86400,
                    "geometry": None,
                    "minx": None,
                    "miny": None,
                    "maxx": None,
                    "maxy": None,
                    "note": "camera down",
                },
            ],
        )
        conn.execute(
            findings.insert().values(
                key="k1",
                rule_id="band-artillery",
                rule_kind="withdrawal_band",
                agreement_id=a.id,
                agreement_version=1,
                period_start=T0 + 40000,
                period_end=T0 + 40000,
                party="A",
                party_basis="sighted inside the band of A",
                severity="major",
                confidence=0.9,
                status="open",
                summary="artillery >= 100 mm seen inside the 25 km band",
                evidence=json.dumps({"incidents": [4]}),
                lon=38.30,
                lat=48.20,
                created_at=T0,
            )
        )
        conn.execute(  # the day before's finding, its period ending as this day starts
            findings.insert().values(
                key="k0",
                rule_id="buffer-fire",
                rule_kind="buffer_fire",
                agreement_id=a.id,
                agreement_version=1,
                period_start=T0 - 86400,
                period_end=T0,
                severity="high",
                confidence=0.5,
                status="open",
                summary="fire inside the buffer zone on the day before",
                evidence=json.dumps({"incidents": [5]}),
                created_at=T0,
            )
        )


def test_daily_report_html_json_and_map(workspace: Workspace, tmp_path: Path) -> None:
    _fill(workspace)
    out = tmp_path / "out"
    paths = daily_report(workspace, DAY, out, with_index_link=True)
    doc = json.loads(paths.json.read_text())
    for key in ("report", "date", "period", "agreement", "counts", "incidents", "findings"):
        assert key in doc and f"{key}" in JSON_SHAPE
    assert doc["date"] == "2015-03-05" and doc["agreement"]["id"] == "test-line"
    c = doc["counts"]
    assert c["observations"] == {"total": 7, "by_kind": {"burst": 2, "explosion": 5}}
    assert c["incidents"]["total"] == 4  # the day before is not in
    assert c["incidents"]["by_sector"] == {"S1": 2, "S3": 1, "S4": 1}
    assert {"sector": "S1", "kind": "explosion", "n": 2} in c["incidents"]["by_sector_kind"]
    assert c["incidents"]["by_status"] == {"corroborated": 1, "reported": 2, "verified": 1}
    assert c["findings"] == {
        "total": 1,
        "by_rule": {"band-artillery": 1},
        "by_party": {"A": 1},
        "dismissed": 0,
    }
    assert doc["findings"][0]["incidents"] == [4] and doc["findings"][0]["party"] == "A"
    assert [i["id"] for i in doc["incidents"]] == [1, 2, 3, 4]
    assert [(c["source_id"], c["kind"]) for c in doc["coverage"]] == [("op-1", "outage")]
    share = doc["coverage_by_sector"]
    assert set(share) == {"S1", "S2", "S3", "S4"} and 0 < share["S1"] < 0.5 and share["S4"] == 0
    assert doc["incidents"][0]["radius_m"] == 1500.0
    html = paths.html.read_text()
    assert f'src="{paths.map_png.name}"' in html
    assert paths.map_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths.map_png.stat().st_size > 20_000  # a real picture, not an empty canvas
    assert "band-artillery" in html and "sighted inside the band of A" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert busiest_day(workspace) == DAY
    index = write_report_index(workspace, out).read_text()
    assert 'href="daily-2015-03-05.html"' in index and "2015-03-04" in index


def test_report_command(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    _fill(sqlite_workspace)
    out = tmp_path / "r"
    res = CliRunner().invoke(
        app,
        [
            "--db",
            sqlite_workspace.url,
            "report",
            "--date",
            "2015-03-05",
            "--out",
            str(out),
            "--no-issue-head",
            "--pdf",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (out / "daily-2015-03-05.html").is_file() and (out / "index.html").is_file()
    assert (out / "daily-2015-03-05.pdf").read_bytes()[:5] == b"%PDF-"
    bad = CliRunner().invoke(app, ["--db", sqlite_workspace.url, "report", "--date", "5 March"])
    assert bad.exit_code != 0


def test_empty_day_still_writes_a_report(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    _fill(sqlite_workspace)
    paths = daily_report(sqlite_workspace, date(2015, 3, 20), tmp_path)
    doc = json.loads(paths.json.read_text())
    assert doc["counts"]["incidents"]["total"] == 0 and doc["incidents"] == []
    assert paths.map_png.is_file()
    assert "No incidents on this day." in paths.html.read_text()


def test_a_dismissed_finding_is_listed_but_counted_against_no_party() -> None:
    from datetime import date

    from truceline.report.daily import DailyData, daily_json

    def f(i: int, status: str, party: str | None) -> dict[str, object]:
        return {"id": i, "rule_id": "buffer-fire", "rule_kind": "buffer_fire", "status": status,
                "party": party, "incidents": [i]}  # fmt: skip

    rows = [f(1, "open", "A"), f(2, "dismissed", "B"), f(3, "confirmed", None)]
    data = DailyData(date(2015, 3, 5), T0, T0 + 86400, None, {}, [], rows)
    c = daily_json(data, "map.png")["counts"]["findings"]
    assert c == {"total": 2, "by_rule": {"buffer-fire": 2},
                 "by_party": {"(not determined)": 1, "A": 1}, "dismissed": 1}  # fmt: skip
    assert [r["id"] for r in daily_json(data, "map.png")["findings"]] == [1, 2, 3]
