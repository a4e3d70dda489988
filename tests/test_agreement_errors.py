"""Every problem in an agreement is refused with the file, the key or feature, and the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_agreement_helpers import TOML, feature_collection, write_tiny

from truceline.compliance.agreement import load_agreement_file
from truceline.domain.errors import AgreementError


def _refused(tmp_path: Path, toml: str, *expected: str) -> str:
    path = write_tiny(tmp_path / "bad", toml)
    with pytest.raises(AgreementError) as info:
        load_agreement_file(path)
    msg = info.value.message
    for part in expected:
        assert part in msg, msg
    return msg


def test_toml_syntax(tmp_path: Path) -> None:
    _refused(tmp_path, TOML.replace('id = "tiny"', 'id = "tiny'), "agreement.toml", "TOML syntax")


def test_missing_key(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        TOML.replace('title = "A tiny agreement for tests"\n', ""),
        "agreement.toml",
        "agreement.title",
        "missing",
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AgreementError, match="agreement file not found"):
        load_agreement_file(tmp_path / "nowhere.toml")


def test_unknown_key_and_table(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        TOML.replace("[buffer]\n", "[buffer]\nwidht_km = 3\n"),
        "buffer.widht_km",
        "unknown key",
    )
    _refused(tmp_path, TOML + "\n[extras]\nx = 1\n", "extras", "unknown table")


def test_unknown_weapon_class(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        TOML.replace('weapon_class = "tank"', 'weapon_class = "howitzer"'),
        "withdrawal[1].weapon_class",
        "unknown weapon class 'howitzer'",
    )


def test_unknown_rule_kind(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        TOML.replace('kind = "sharing"', 'kind = "sharring"'),
        "rule 'share'",
        "unknown rule kind 'sharring'",
    )


def test_rule_refers_to_unknown_zone(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        TOML.replace('params = { zone = "plant" }', 'params = { zone = "plnt" }'),
        "rule 'plant-zone'",
        "params.zone",
        "unknown zone 'plnt'",
    )


def test_rule_refers_to_unknown_party(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        TOML.replace("shares = { A = 0.5, B = 0.5 }", "shares = { A = 0.5, C = 0.5 }"),
        "rule 'share'",
        "params.shares",
        "unknown party 'C'",
    )


def test_rule_param_of_wrong_type_or_missing(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        TOML.replace("shares = { A = 0.5, B = 0.5 }", "shares = { A = 0.5, B = 0.4 }"),
        "params.shares",
        "add up to 1",
    )
    _refused(tmp_path, TOML.replace(", tolerance = 0.05", ""), "params.tolerance", "missing")
    _refused(
        tmp_path,
        TOML.replace('weapon_classes = ["tank"]', 'weapon_classes = ["mlrs_long_tbm"]'),
        "rule 'bands'",
        "no [[withdrawal]] band for mlrs_long_tbm",
    )


def test_geojson_file_missing(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        TOML.replace('region = "region.geojson"', 'region = "regio.geojson"'),
        "regio.geojson",
        "geometry.region",
        "not found",
    )


def _with_line(tmp_path: Path, geometry: dict[str, object], *expected: str) -> None:
    path = write_tiny(tmp_path / "bad")
    (path.parent / "line.geojson").write_text(json.dumps(feature_collection(geometry)))
    with pytest.raises(AgreementError) as info:
        load_agreement_file(path)
    for part in ("line.geojson", "feature 1", *expected):
        assert part in info.value.message, info.value.message


def test_invalid_or_empty_geometry(tmp_path: Path) -> None:
    _with_line(tmp_path, {"type": "LineString", "coordinates": []}, "empty geometry")
    _with_line(tmp_path, {"type": "Point", "coordinates": [37, 47]}, "a Point, expected LineString")
    _with_line(
        tmp_path,
        {"type": "LineString", "coordinates": [[370, 47], [371, 48]]},
        "outside lon/lat range",
    )


def test_invalid_polygon(tmp_path: Path) -> None:
    path = write_tiny(tmp_path / "bad")
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[36, 47], [38, 48], [38, 47], [36, 48], [36, 47]]],
    }
    (path.parent / "region.geojson").write_text(json.dumps(feature_collection(bowtie)))
    with pytest.raises(AgreementError, match=r"region.geojson: feature 1: invalid geometry: Self-"):
        load_agreement_file(path)


def test_line_that_does_not_divide_the_region(tmp_path: Path) -> None:
    path = write_tiny(tmp_path / "bad")
    short = {"type": "LineString", "coordinates": [[37.0, 47.2], [37.0, 47.8]]}
    (path.parent / "line.geojson").write_text(json.dumps(feature_collection(short)))
    with pytest.raises(AgreementError, match="geometry.region: the contact line does not divide"):
        load_agreement_file(path)


def test_bad_dates_and_version(tmp_path: Path) -> None:
    _refused(tmp_path, TOML.replace("version = 1", "version = 0"), "agreement.version")
    _refused(
        tmp_path,
        TOML.replace("valid_from = 2020-01-01", "valid_from = 2020-01-01\nvalid_to = 2019-01-01"),
        "agreement.valid_to",
        "after valid_from",
    )
    _refused(
        tmp_path,
        TOML.replace("valid_from = 2020-01-01", 'valid_from = "soon"'),
        "agreement.valid_from",
        "expected a date",
    )


def test_bad_bars(tmp_path: Path) -> None:
    _refused(
        tmp_path, TOML.replace('bars = ["military"]', 'bars = ["shouting"]'), "exclusion[1].bars"
    )


def test_bad_fusion_parameter(tmp_path: Path) -> None:
    _refused(tmp_path, TOML + "\n[fusion]\ndistance_m = -5\n", "fusion.distance_m", "number > 0")


def test_control_areas_of_two_parties_that_overlap(tmp_path: Path) -> None:
    """Ground held by both parties would be placed on whichever id sorts last: refused."""
    path = write_tiny(tmp_path / "t")
    path.write_text(
        path.read_text().replace('region = "region.geojson"', 'control = "control.geojson"')
    )

    def control(a_east: float, b_west: float) -> None:
        boxes = {"A": (36.0, a_east), "B": (b_west, 38.0)}
        feats = [
            {"type": "Feature", "properties": {"party": p},
             "geometry": {"type": "Polygon", "coordinates": [[[x0, 46.9], [x1, 46.9], [x1, 48.1],
                                                             [x0, 48.1], [x0, 46.9]]]}}
            for p, (x0, x1) in boxes.items()
        ]  # fmt: skip
        (path.parent / "control.geojson").write_text(
            json.dumps({"type": "FeatureCollection", "features": feats})
        )

    control(37.1, 36.9)  # 0.2 degrees held by both
    with pytest.raises(AgreementError) as info:
        load_agreement_file(path)
    msg = info.value.message
    assert "control.geojson" in msg and "'A' and 'B' overlap" in msg, msg
    control(37.0, 37.0)  # sharing only an edge is fine
    assert load_agreement_file(path).zone("control-A").party == "A"


def test_terms_of_issue_10_refused_with_key_and_reason(tmp_path: Path) -> None:
    breach = '\n[[major_breach]]\nid = "x"\ntext = "t"\nrules = ["nowhere"]\n'
    _refused(tmp_path, TOML + breach, "major_breach[1].rules", "rule ids")
    _refused(tmp_path, TOML + "\n[quality]\nmin_confidence = 2\n", "quality.min_confidence")
    _refused(tmp_path, TOML + "\n[quality]\nstrict = true\n", "quality.strict", "unknown key")
    states = (
        '\n[[rules]]\nid = "nofor"\nkind = "prohibition"\ntext = "t"\n'
        'params = { what = "foreign_forces", states = ["XYZ"], territory_party = "A" }\n'
    )
    _refused(tmp_path, TOML + states, "params.states", "alpha-3", "'XYZ'")
    _refused(tmp_path, TOML + states.replace('"XYZ"', '"US"'), "params.states", "'US'")
    phases = (
        '\n[[rules]]\nid = "dmz"\nkind = "demilitarised_zone"\ntext = "t"\n'
        'params = { zone = "plant", phases = [{ from = 2026-01-01, bars = ["tanks"] }] }\n'
    )
    _refused(tmp_path, TOML + phases, "params.phases", "heavy_weapons")
    ceiling = (
        '\n[[rules]]\nid = "cap"\nkind = "ceiling"\ntext = "t"\n'
        'params = { subject = "personnel", item = "army", party = "A", max = 1, unit = "men" }\n'
    )
    _refused(tmp_path, TOML + ceiling, "params.unit", "allowed: persons")
