"""The ``truceline agreement`` commands, through the real CLI, and ``agreement build``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import shapely
from shapely.geometry import shape
from test_agreement_helpers import write_tiny
from typer.testing import CliRunner

from truceline.cli import app
from truceline.compliance.agreement import load_agreement_file
from truceline.compliance.agreement.build import Built, build_from_control
from truceline.compliance.agreement.geometry import Metric

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    r = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return r.exit_code, r.output + (str(r.exception) if r.exception else "")


def test_validate_reports_the_examples_valid() -> None:
    code, out = _run("agreement", "validate", str(EXAMPLES / "reference-2025"))
    assert code == 0, out
    assert "valid" in out and "reference-2025 v1" in out and "19 rules" in out
    assert "4 storage_site" in out


def test_validate_names_the_problem(tmp_path: Path) -> None:
    path = write_tiny(tmp_path / "bad", "[agreement]\nid = 1\n")
    code, out = _run("agreement", "validate", str(path))
    assert code != 0
    assert "agreement.toml: agreement.sources: missing" in out


def test_load_then_show(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    code, out = _run("--db", db, "init", str(tmp_path / "ws"))
    assert code == 0, out
    code, out = _run("--db", db, "agreement", "load", str(write_tiny(tmp_path / "tiny")))
    assert code == 0 and "agreement tiny v1 loaded" in out, out
    code, out = _run("--db", db, "agreement", "load", str(tmp_path / "tiny"))
    assert code == 0 and "already loaded (nothing added)" in out, out
    code, out = _run("--db", db, "agreement", "show", "tiny")
    assert code == 0, out
    for text in ("tiny v1", "West", "band-B-mlrs", "plant", "314", "sharing", "S04"):
        assert text in out, text
    code, out = _run("--db", db, "agreement", "show", "nope")
    assert code != 0 and "no agreement 'nope'" in out


def _control_file(path: Path) -> Path:
    """A hand-made control map: a 'country' box, B holding its eastern part on two dates."""

    def feat(date: str, status: str, x: float) -> dict[str, object]:
        geom = shapely.geometry.mapping(shapely.box(x, 46.0, 40.0, 49.0))
        return {"type": "Feature", "properties": {"date": date, "status": status}, "geometry": geom}

    fc = {
        "type": "FeatureCollection",
        "features": [
            feat("2022-01-01", "occupied", 38.0),
            feat("2022-02-01", "occupied", 37.0),
            feat("2022-02-01", "liberated", 36.0),
        ],
    }
    path.write_text(json.dumps(fc))
    return path


def test_build_from_a_hand_made_control_map(tmp_path: Path) -> None:
    control = _control_file(tmp_path / "control.geojson")
    country = tmp_path / "country.geojson"
    country.write_text(json.dumps(shapely.geometry.mapping(shapely.box(34.0, 46.0, 40.0, 49.0))))
    code, out = _run(
        "agreement",
        "build",
        "--control",
        str(control),
        "--date",
        "2022-02-10",
        "--out",
        str(tmp_path / "built"),
        "--country",
        str(country),
    )
    assert code == 0, out
    assert "control of 2022-02-01" in out
    a = load_agreement_file(tmp_path / "built")
    line = a.contact_line
    # the line is the meridian 37 E inside the country: the outline edges are not contact line
    xs = shapely.get_coordinates(line)[:, 0]
    assert abs(xs.min() - 37.0) < 1e-6 and abs(xs.max() - 37.0) < 1e-6
    km = Metric.around(line).fwd(line).length / 1000
    assert 310 < km < 334  # 3 degrees of latitude less 3 km at each end
    assert a.zone("control-B").geometry.contains(shapely.Point(38.5, 47.5))
    assert a.zone("control-A").geometry.contains(shapely.Point(35.0, 47.5))
    assert {z.id for z in a.zones_of("withdrawal_band")} >= {"band-A-tank", "band-B-mlrs"}
    assert (tmp_path / "built" / "zones.geojson").is_file()


def test_build_refuses_a_date_before_the_file(tmp_path: Path) -> None:
    code, out = _run(
        "agreement",
        "build",
        "--control",
        str(_control_file(tmp_path / "c.geojson")),
        "--date",
        "2021-12-31",
        "--out",
        str(tmp_path / "o"),
    )
    assert code != 0 and "no feature dated on or before 2021-12-31" in out


def _inside_country(a_line: shapely.Geometry, real: Path) -> float:
    adm = shape(json.loads((real / "ukraine_adm0.geojson").read_text())["features"][0]["geometry"])
    return float(shapely.intersection(a_line, adm.buffer(0.001)).length / a_line.length)


def test_build_on_real_deepstate_2022(real_data: Path, deepstate_2022: Built) -> None:
    b = deepstate_2022
    assert b.control_date == "2022-04-03"
    assert 1500 < b.line_km < 4000  # the convoluted front of early April 2022 (about 2,600 km)
    assert 90_000 < b.held_km2 < 120_000  # README: about 106 k km² in April 2022
    assert _inside_country(b.agreement.contact_line, real_data) > 0.999
    a = b.agreement
    assert not a.zone("control-A").geometry.is_empty and not a.zone("control-B").geometry.is_empty
    assert a.zone("control-B").geometry.contains(shapely.Point(37.80, 48.01))  # Donetsk
    assert a.zone("control-A").geometry.contains(shapely.Point(35.05, 48.46))  # Dnipro


def test_build_on_real_deepstate_2026(real_data: Path, tmp_path: Path) -> None:
    b = build_from_control(
        real_data / "deepstate_occupied_2026-08-22.geojson",
        dt.date(2026, 8, 22),
        tmp_path / "b26",
        real_data / "ukraine_adm0.geojson",
    )
    assert 900 < b.line_km < 1400  # Kinburn spit to the Kharkiv border: about 1,100 km
    assert _inside_country(b.agreement.contact_line, real_data) > 0.999
    assert b.agreement.zone("control-B").geometry.contains(shapely.Point(37.55, 47.10))  # Mariupol
    assert b.agreement.zone("control-A").geometry.contains(shapely.Point(32.60, 46.66))  # Kherson
    assert len(b.agreement.zones_of("sector")) >= 15


def test_drawn_lines_follow_the_public_maps(real_data: Path) -> None:
    """The hand-drawn example lines stay within a few km of DeepStateMap's boundaries."""

    def held(name: str, statuses: set[str]) -> shapely.Geometry:
        feats = json.loads((real_data / name).read_text())["features"]
        return shapely.union_all(
            [shape(f["geometry"]) for f in feats if f["properties"]["status"] in statuses]
        )

    for example, name, statuses, median_km in (
        ("minsk-2015", "deepstate_status_2022-04-03.geojson", {"occupied_before_2022"}, 4.0),
        ("reference-2025", "deepstate_occupied_2026-01-01.geojson", {"occupied"}, 4.0),
    ):
        line = load_agreement_file(EXAMPLES / example).contact_line
        m = Metric.around(line)
        boundary = m.fwd(held(name, statuses).boundary)
        d = shapely.distance(boundary, shapely.points(shapely.get_coordinates(m.fwd(line)))) / 1000
        d = sorted(d)
        assert d[len(d) // 2] < median_km and d[-1] < 25.0, (example, d[len(d) // 2], d[-1])


def test_build_with_a_template_keeps_its_terms(tmp_path: Path) -> None:
    control = _control_file(tmp_path / "control.geojson")
    b = build_from_control(
        control,
        dt.date(2022, 2, 1),
        tmp_path / "built",
        template=EXAMPLES / "reference-2025" / "agreement.toml",
    )
    a = b.agreement
    assert a.id == "reference-2025" and len(a.rules) == 19
    assert [p.name for p in a.parties] == ["Ukraine", "Russian Federation"]
    assert a.zone("donetsk-west").kind == "withdrawal_area"  # the template's own file resolved
    assert "built by `truceline agreement build` from control.geojson" in a.sources


def test_build_refuses_an_unknown_party_in_a_control_file(tmp_path: Path) -> None:
    path = write_tiny(tmp_path / "t")
    text = path.read_text().replace('region = "region.geojson"', 'control = "control.geojson"')
    path.write_text(text)
    feat = {
        "type": "Feature",
        "properties": {"party": "Z"},
        "geometry": shapely.geometry.mapping(shapely.box(36, 47, 37, 48)),
    }
    (path.parent / "control.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [feat]})
    )
    code, out = _run("agreement", "validate", str(path))
    assert code != 0 and "control.geojson: feature 1: property party: unknown party 'Z'" in out


def test_init_with_the_minsk_example(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    code, out = _run(
        "--db", db, "init", str(tmp_path / "ws"), "--agreement", str(EXAMPLES / "minsk-2015")
    )
    assert code == 0, out
    assert "agreement minsk-2015 v1 loaded" in out
    code, out = _run("--db", db, "agreement", "show")
    assert code == 0 and "security-zone" in out and "pom-2-heavy-weapons" in out
