"""The daily report on a workspace with hand-inserted rows in the real tables."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

from conftest import _unavailable
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
    incident_observations,
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
                summary="artillery >= 100 mm seen inside the 25 km band on the side of A",
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


#: monitors' remarks: (uid, source, incident, text); incident 4 is verified, 2 is not
REMARKS = (
    ("r1", "mon-3", 4, "From mon-3 at 48.2012N 38.3034E: two tanks moving north towards op-1"),
    ("r2", "op-1", 4, "thermal camera: engines running"),
    ("r3", "mon-3", 2, "heard one explosion"),
)


def _remarks(ws: Workspace) -> None:
    """A mission monitor's and a camera's remarks on the day's incidents."""
    with ws.engine.begin() as conn:
        conn.execute(
            sources.insert().values(
                id="mon-3", type="monitor", name="m", independence_group="m", created_at=T0
            )
        )
        for n, (uid, src, inc, text) in enumerate(REMARKS, start=100):
            conn.execute(
                observations.insert().values(
                    id=n, uid=uid, source_id=src, t=T0 + 40000, t_unc_s=60.0, obs_lon=38.31,
                    obs_lat=48.21, bearing_deg=10.0, bearing_sd_deg=3.0, kind="weapon_sighting",
                    count=1, credibility=2, description=text, received_at=T0,
                )
            )  # fmt: skip
            conn.execute(incident_observations.insert().values(observation_id=n, incident_id=inc))


def test_daily_report_html_json_and_map(workspace: Workspace, tmp_path: Path) -> None:
    _fill(workspace)
    out = tmp_path / "out"
    paths = daily_report(workspace, DAY, out, with_index_link=True, edition="restricted")
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
        "superseded": 0,
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
    assert "artillery of 100 mm and more" in html and "artillery ge100" not in html  # no codes
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert busiest_day(workspace) == DAY
    index = write_report_index(workspace, out, edition="restricted").read_text()
    assert 'href="daily-2015-03-05-restricted.html"' in index
    assert "1 other day with incidents has no report" in index  # 2015-03-04, not listed


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
                 "by_party": {"(not determined)": 1, "A": 1}, "dismissed": 1,
                 "superseded": 0}  # fmt: skip
    assert [r["id"] for r in daily_json(data, "map.png")["findings"]] == [1, 2, 3]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _pdf_text(path: Path) -> str:
    """The PDF's text as poppler's pdftotext reads it, its whitespace runs made one space."""
    exe = shutil.which("pdftotext")
    if exe is None:
        _unavailable("pdftotext not found: apt-get install poppler-utils")
    assert exe is not None
    out = subprocess.run([exe, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode("utf-8").split())


def test_public_edition_withholds_what_the_public_may_not_read(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _fill(sqlite_workspace)
    _remarks(sqlite_workspace)
    paths = daily_report(sqlite_workspace, DAY, tmp_path, edition="public", pdf=True)
    doc = json.loads(_text(paths.json))
    assert doc["edition"] == "public"
    s3 = next(a for a in doc["narrative"] if a["sector"] == "S3")
    quoted = "From […] at […] […]: two tanks moving north towards […]"  # no id, no position
    assert s3["remarks"] == [{"incident": 4, "time": "11:06", "source": None, "text": quoted}]
    assert all(a["remarks"] == [] for a in doc["narrative"] if a["sector"] != "S3")
    band = next(f for f in doc["findings"] if f["rule_id"] == "band-artillery")
    assert band["party"] is None and band["party_withheld"] is True  # open: not named
    assert doc["counts"]["findings"]["by_party"] == {"(not determined)": 1}
    assert "by_party" not in doc["violations"]
    weapon = next(i for i in doc["incidents"] if i["kind"] == "weapon_sighting")
    assert (weapon["lon"], weapon["lat"]) == (38.35, 48.25)  # the 0.1 degree cell's centre
    assert weapon["radius_m"] >= 8000 and weapon["place"]["name"]
    assert all("actor" not in i for i in doc["incidents"])
    assert doc["coverage"] == [{"kind": "outage", "source_type": "camera", "n": 1, "hours": 12.0}]
    html = _text(paths.html)
    secrets = ("op-1", "camera down", "sighted inside the band of A", "48.2000", "38.3000",
               "mon-3", "48.2012", "38.31", "thermal camera", "heard one explosion",
               "on the side of A")  # fmt: skip
    for secret in secrets:
        assert secret not in html and secret not in _text(paths.json), secret
    assert "not named until an analyst confirms" in html
    assert band["summary"] is None  # a summary may name the party the finding withholds
    assert "summary withheld until an analyst confirms" in html
    assert "two tanks moving north towards" in html
    assert "RESTRICTED" not in html
    assert paths.pdf is not None and paths.pdf.read_bytes()[:5] == b"%PDF-"
    pdf = _pdf_text(paths.pdf)
    for secret in secrets:
        assert secret not in pdf, secret
    assert "two tanks moving north towards" in pdf
    assert "not named until an analyst confirms" in pdf  # the text is read, not an empty page


def test_restricted_edition_shows_everything_marked_on_every_page(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    import weasyprint

    _fill(sqlite_workspace)
    _remarks(sqlite_workspace)
    paths = daily_report(sqlite_workspace, DAY, tmp_path, edition="restricted")
    assert paths.html.name == "daily-2015-03-05-restricted.html"
    html = _text(paths.html)
    assert "op-1" in html and "sighted inside the band of A" in html and "48.2000" in html
    s3 = next(a for a in json.loads(_text(paths.json))["narrative"] if a["sector"] == "S3")
    assert [(r["source"], r["text"]) for r in s3["remarks"]] == [
        ("mon-3", REMARKS[0][3]),
        ("op-1", REMARKS[1][3]),
    ]  # every source's, as written; the unverified incident's remark is not quoted
    assert "mon-3 at 11:06 UTC, on incident 4" in html and "heard one explosion" not in html
    assert 'class="restricted"' in html
    doc = weasyprint.HTML(filename=str(paths.html)).render()
    assert len(doc.pages) >= 2
    css = html.split("<style>", 1)[1]
    assert '@top-center { content: "RESTRICTED' in css  # the running header of every page


def test_both_editions_render_a_finding_that_places_no_party(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _fill(sqlite_workspace)
    with sqlite_workspace.engine.begin() as conn:
        conn.execute(
            findings.insert().values(
                key="k2", rule_id="buffer-fire", rule_kind="buffer_fire",
                agreement_id=small_agreement().id, agreement_version=1,
                period_start=T0 + 36000, period_end=T0 + 36000, severity="high",
                confidence=0.8, status="open", summary="fire inside the buffer zone, no party",
                evidence=json.dumps({"incidents": [1]}), created_at=T0,
            )
        )  # fmt: skip
    for edition in ("public", "restricted"):
        html = _text(daily_report(sqlite_workspace, DAY, tmp_path / edition, edition=edition).html)
        assert "fire inside the buffer zone, no party" in html, edition
        assert "not determined" in html, edition


def test_violations_are_counted_as_missions_count_them(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _fill(sqlite_workspace)
    doc = json.loads(
        _text(daily_report(sqlite_workspace, DAY, tmp_path, edition="restricted").json)
    )
    v = doc["violations"]
    # three fire incidents (4 + 1 explosions, one burst of 2); the weapon sighting is no
    # violation; the day before held one explosion
    assert v["total"] == {
        "key": "total",
        "events": 3,
        "rounds": 7,
        "previous_events": 1,
        "previous_rounds": 1,
        "change_events": 2,
        "change_rounds": 6,
    }
    kinds = {r["key"]: (r["events"], r["rounds"]) for r in v["by_kind"]}
    assert kinds == {"explosion": (2, 5), "burst": (1, 2)}
    assert {r["key"]: r["rounds"] for r in v["by_sector"]} == {"S1": 5, "S4": 2}
    assert "rounds" in v["definitions"]
    s1 = next(a for a in doc["narrative"] if a["sector"] == "S1")
    assert (s1["events"], s1["rounds"]) == (2, 5) and s1["places"]
    # the public edition counts what it shows: the published (corroborated) explosion only
    public = json.loads(_text(daily_report(sqlite_workspace, DAY, tmp_path).json))["violations"]
    assert (public["total"]["events"], public["total"]["rounds"]) == (1, 4)
    assert (public["total"]["previous_events"], public["total"]["previous_rounds"]) == (0, 0)


def test_a_day_outside_the_agreement_is_refused_and_the_default_is_the_latest_inside(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    from truceline.domain.errors import InputError
    from truceline.service.reports import choose_day

    _fill(sqlite_workspace)
    try:
        daily_report(sqlite_workspace, date(2014, 8, 7), tmp_path)
    except InputError as exc:
        assert "2015-02-15 to open" in str(exc)
    else:
        raise AssertionError("a day before the agreement was reported")
    assert choose_day(sqlite_workspace) == DAY  # the latest day with data


def test_report_in_ukrainian_and_russian(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    _fill(sqlite_workspace)
    uk = daily_report(sqlite_workspace, DAY, tmp_path, lang="uk")
    ru = daily_report(sqlite_workspace, DAY, tmp_path, lang="ru")
    assert uk.html.name == "daily-2015-03-05.uk.html" and ru.html.name == "daily-2015-03-05.ru.html"
    assert '<html lang="uk">' in _text(uk.html) and "Щоденний звіт" in _text(uk.html)
    assert "Ежедневный отчёт" in _text(ru.html) and "Daily report" not in _text(ru.html)
    assert "5 бер. 2015" in _text(uk.html)  # the date per locale
    from truceline.i18n import translations

    names = {i["place"]["name"] for i in json.loads(_text(uk.json))["incidents"] if i["place"]}
    assert names  # each incident's nearest town, named in the reader's language
    for name in names:
        local = translations("uk").gettext(name)
        assert local != name and local in _text(uk.html), name


def test_a_date_only_source_gets_no_invented_time() -> None:
    from truceline.report.daily import DailyData, daily_json

    day_only = {"id": 9, "t": T0 + 43200, "t_start": T0, "t_end": T0 + 86400, "kind": "explosion",
                "status": "reported", "count": 1, "lon": 38.0, "lat": 48.0, "radius_m": 5000.0,
                "sector": None}  # fmt: skip
    data = DailyData(DAY, T0, T0 + 86400, None, {}, [day_only], [])
    assert daily_json(data, "m.png")["incidents"][0]["time_known"] is False


def test_a_superseded_finding_is_not_counted_as_open() -> None:
    from truceline.report.daily import DailyData, daily_json

    rows = [
        {"id": 1, "rule_id": "decl", "rule_kind": "declaration_duty", "status": "open",
         "party": "A", "incidents": [], "superseded_by": 2},
        {"id": 2, "rule_id": "decl", "rule_kind": "declaration_duty", "status": "open",
         "party": "A", "incidents": []},
    ]  # fmt: skip
    data = DailyData(DAY, T0, T0 + 86400, None, {}, [], rows)
    c = daily_json(data, "m.png", edition="restricted")["counts"]["findings"]
    assert (c["total"], c["superseded"]) == (1, 1)


def test_report_and_export_refuse_to_write_over_files(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _fill(sqlite_workspace)
    afile = tmp_path / "keep.txt"
    afile.write_text("mine")
    run = CliRunner().invoke
    bad = run(app, ["--db", sqlite_workspace.url, "report", "--date", "2015-03-05",
                    "--out", str(afile), "--no-issue-head"])  # fmt: skip
    assert bad.exit_code != 0 and "not a folder" in f"{bad.exception}"
    bad = run(app, ["--db", sqlite_workspace.url, "export", "incidents", "--from", "2015-03-05",
                    "--to", "2015-03-05", "--out", str(afile)])  # fmt: skip
    assert bad.exit_code != 0 and "exists" in f"{bad.exception}"
    assert afile.read_text() == "mine"
    ok = run(app, ["--db", sqlite_workspace.url, "export", "incidents", "--from", "2015-03-05",
                   "--to", "2015-03-05", "--out", str(afile), "--force",
                   "--format", "hxl"])  # fmt: skip
    assert ok.exit_code == 0 and afile.read_text().startswith("incident id,")


def test_places_measured_at_once_are_those_measured_one_by_one() -> None:
    import numpy as np

    from truceline.report.places import nearest, nearest_many

    rng = np.random.default_rng(7)  # the theatre and well beyond it, and two towns' centres
    lon = [*rng.uniform(20.0, 45.0, 400), 38.05, 37.80]
    lat = [*rng.uniform(42.0, 54.0, 400), 48.31, 48.00]
    many = nearest_many(lon, lat)
    one = [nearest(x, y) for x, y in zip(lon, lat, strict=True)]
    assert [(p.name, p.direction) for p in many] == [(p.name, p.direction) for p in one]
    assert np.allclose([p.km for p in many], [p.km for p in one], rtol=0, atol=1e-9)
    assert (many[-2].name, many[-1].name) == ("Horlivka", "Donetsk")
    assert nearest_many([], []) == []


def test_a_summary_is_worded_in_the_reports_language(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """A finding carrying its summary as msgid and arguments (issue #11) is told in the
    report's language; the public edition still withholds it where it withholds the party."""
    from truceline.compliance.wording import N_, Wording, counts, part
    from truceline.i18n import translations
    from truceline.report.labels import weapon_label

    _fill(sqlite_workspace)
    fire = Wording(
        N_("fire inside the buffer zone %(zone)s%(where)s on %(day)s: %(what)s"),
        {"zone": "buffer-1", "where": part(N_(" in sector %(sector)s"), sector="S-7"),
         "day": "2015-03-05", "what": counts("kinds", [("explosion", 2)])},
    )  # fmt: skip
    band = Wording(
        N_("%(weapons)s seen inside the %(km)s km withdrawal band %(zone)s "
           "(side of %(party)s)%(where)s on %(day)s"),
        {"weapons": counts("weapons", [("artillery_ge100", 3)]), "km": "25", "zone": "zone-b7",
         "party": "A", "where": "", "day": "2015-03-05"},
    )  # fmt: skip
    basis = Wording(N_("declaration(s) filed by %(who)s"), {"who": "A"})
    rows = [("k3", "buffer-fire", "buffer_fire", None, fire, None),
            ("k4", "band-artillery", "withdrawal_band", "A", band, basis)]  # fmt: skip
    with sqlite_workspace.engine.begin() as conn:
        for key, rid, kind, party, w, b in rows:
            worded = {"summary": w.doc(), **({"basis": b.doc()} if b else {})}
            conn.execute(
                findings.insert().values(
                    key=key, rule_id=rid, rule_kind=kind, agreement_id=small_agreement().id,
                    agreement_version=1, period_start=T0 + 36000, period_end=T0 + 36000,
                    party=party, party_basis=b.english() if b else None, severity="high",
                    confidence=0.8, status="open", summary=w.english(), created_at=T0,
                    evidence=json.dumps({"incidents": [1], **worded}),
                )
            )  # fmt: skip
    uk = _text(daily_report(sqlite_workspace, DAY, tmp_path / "uk", lang="uk").html)
    assert "вогонь у буферній зоні buffer-1 у секторі S-7 2015-03-05: 2 " in uk
    assert fire.english() not in uk and band.english() not in uk
    assert "zone-b7" not in uk  # the public edition withholds the summary naming party A
    ru = _text(
        daily_report(sqlite_workspace, DAY, tmp_path / "ru", lang="ru", edition="restricted").html
    )
    assert "огонь в буферной зоне buffer-1 в секторе S-7" in ru
    line = re.search(r"(\d [^<>]*) замечено в полосе отвода 25 км zone-b7 \(сторона A\)", ru)
    assert line is not None and line.group(1) == "3 " + translations("ru").gettext(
        weapon_label("artillery_ge100")
    )
    assert "artillery" not in line.group(1)
    assert fire.english() not in ru and band.english() not in ru
    assert "декларации, поданные стороной A" in ru and basis.english() not in ru  # the basis too
    en = _text(daily_report(sqlite_workspace, DAY, tmp_path / "en").html)
    assert fire.english() in en
