"""The daily report's weapons section: inside withdrawal bands, outside storage sites,
missing from sites; the public edition names a party (or a site) only once confirmed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_report import DAY, T0, _fill

from truceline.service.reports import daily_report
from truceline.service.workspace import Workspace
from truceline.store.schema import findings, incidents

FINDINGS = [
    # key, rule kind, status, party, summary, incident
    ("w1", "withdrawal_band", "open", "A", "2 artillery_ge100 seen inside the band (side of A)", 4),
    ("w2", "outside_storage", "confirmed", "B", "3 mlrs seen outside every storage site", 6),
    ("w3", "storage_inventory", "open", "A",
     "at the inspection of storage site Depot North (depot-1) on 2015-03-05: 2 tank missing", 7),
]  # fmt: skip


def _weapons(ws: Workspace) -> None:
    _fill(ws)
    with ws.engine.begin() as conn:
        rows = ((6, "weapon_sighting", "mlrs", 38.71234, 48.51234),
                (7, "inspection", None, 38.81234, 48.61234))  # fmt: skip
        for iid, kind, wclass, lon, lat in rows:
            conn.execute(
                incidents.insert().values(
                    id=iid, t=T0 + 50000, t_start=T0 + 50000, t_end=T0 + 50000, lon=lon,
                    lat=lat, radius_m=100.0, kind=kind, weapon_class=wclass, count=3,
                    status="verified", n_observations=2, n_groups=2, confidence=0.9,
                    sector="S3", created_at=T0, updated_at=T0,
                )
            )  # fmt: skip
        for key, kind, status, party, summary, iid in FINDINGS:
            conn.execute(
                findings.insert().values(
                    key=key, rule_id=f"rule-{key}", rule_kind=kind, agreement_id="small",
                    agreement_version=1, period_start=T0, period_end=T0 + 86400, party=party,
                    party_basis="placed by the evidence", severity="high", confidence=0.9,
                    status=status, summary=summary, evidence=json.dumps({"incidents": [iid]}),
                    lon=38.71234, lat=48.51234, created_at=T0,
                )
            )  # fmt: skip


def _section(html: str) -> str:
    """The weapons section of a report."""
    start = html.index("<h2>Weapons</h2>") if "<h2>Weapons</h2>" in html else 0
    return html[start : html.index("</section>", start)]


@pytest.fixture
def report_ws(sqlite_workspace: Workspace) -> Workspace:
    _weapons(sqlite_workspace)
    return sqlite_workspace


def test_three_parts_in_the_restricted_edition(report_ws: Workspace, tmp_path: Path) -> None:
    paths = daily_report(report_ws, DAY, tmp_path, edition="restricted")
    w = json.loads(paths.json.read_text(encoding="utf-8"))["weapons"]
    assert [x["rule_id"] for x in w["in_bands"]] == ["band-artillery", "rule-w1"]
    assert [x["rule_id"] for x in w["outside_sites"]] == ["rule-w2"]
    assert [x["rule_id"] for x in w["missing"]] == ["rule-w3"]
    assert w["outside_sites"][0]["weapons"] == [{"weapon_class": "mlrs", "count": 3}]
    html = paths.html.read_text(encoding="utf-8")
    for title in ("Inside withdrawal bands", "Outside storage sites", "Missing from storage sites"):
        assert f"<h3>{title}</h3>" in html
    assert "Depot North (depot-1)" in html and "(side of A)" in html


def test_the_public_edition_names_party_and_site_only_once_confirmed(
    report_ws: Workspace, tmp_path: Path
) -> None:
    paths = daily_report(report_ws, DAY, tmp_path, edition="public")
    doc = json.loads(paths.json.read_text(encoding="utf-8"))
    w = doc["weapons"]
    band, outside, missing = w["in_bands"][1], w["outside_sites"][0], w["missing"][0]
    assert (band["party"], band["party_withheld"], band["summary"]) == (None, True, None)
    assert (missing["party"], missing["summary"]) == (None, None)
    assert outside["party"] == "B" and outside["summary"]  # confirmed: named
    html = _section(paths.html.read_text(encoding="utf-8"))
    assert "Depot North" not in html and "(side of A)" not in html
    assert "the site is not named until an analyst confirms" in html
    assert "party: B" in html
    # weapons findings and inspections are placed on the 0.1 degree grid, not to a kilometre
    for f in doc["findings"]:
        if f["rule_id"].startswith("rule-w"):
            assert (f["lon"], f["lat"]) == (38.75, 48.55)
    inspection = next(i for i in doc["incidents"] if i["kind"] == "inspection")
    assert (inspection["lon"], inspection["lat"]) == (38.85, 48.65)
    for text in (paths.html.read_text(encoding="utf-8"), paths.json.read_text(encoding="utf-8")):
        assert "38.71" not in text and "48.61" not in text


@pytest.mark.parametrize(
    ("lang", "titles"),
    [
        ("uk", ("Усередині смуг відведення", "Поза місцями зберігання",
                "Відсутні в місцях зберігання")),
        ("ru", ("Внутри полос отвода", "Вне мест хранения", "Отсутствуют в местах хранения")),
    ],
)  # fmt: skip
def test_the_parts_are_translated(
    report_ws: Workspace, tmp_path: Path, lang: str, titles: tuple[str, ...]
) -> None:
    paths = daily_report(report_ws, DAY, tmp_path, edition="public", lang=lang)
    html = paths.html.read_text(encoding="utf-8")
    for title in titles:
        assert f"<h3>{title}</h3>" in html
    assert "Missing from storage sites" not in html
