"""Every problem in an agreement is refused with the file, the key or feature, and the reason."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import pytest
from conftest import ROOT
from test_agreement_helpers import TOML, feature_collection, write_tiny

from truceline.compliance.agreement import load_agreement_file
from truceline.compliance.agreement.limits import DEFAULT_LIMITS, AgreementLimits
from truceline.domain.errors import AgreementError
from truceline.service.agreements import agreement_versions, load_agreement
from truceline.service.ledger import verify_store
from truceline.service.workspace import Workspace
from truceline.store.db import reading


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


# -- hostile agreements: refused fast, by name, with nothing stored ---------------------


def _many_vertices(n: int) -> str:
    """A GeoJSON Polygon of ``n`` vertices, as text (never built: the cap comes first)."""
    ring = "[36.0,46.9]," * (n - 1) + "[36.0,46.9]"
    return (
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        f'"geometry":{{"type":"Polygon","coordinates":[[{ring}]]}}}}]}}'
    )


HOSTILE = {
    "band_1e9": (lambda t: t.replace("band_km = 15", "band_km = 1e9"),
                 "withdrawal[1].band_km", "more than the 1000 accepted (max_km)"),
    "width_nan": (lambda t: t.replace("width_km = 10", "width_km = nan"),
                  "buffer.width_km", "expected a finite number, got nan"),
    "radius_inf": (lambda t: t.replace("radius_km = 10", "radius_km = inf"),
                   "exclusion[1].radius_km", "expected a finite number"),
    "deep_toml": (lambda t: t + "\nx = " + "[" * 100_000 + "]" * 100_000 + "\n",
                  "agreement.toml", "nested more than 16 deep (max_toml_depth)"),
    "length_tiny": (lambda t: t.replace("length_km = 40", "length_km = 0.0001"),
                    "sectors.length_km", "more than 1000 sectors, the most accepted (max_sectors)"),
    "one_side": (lambda t: t.replace('side = "right"', "point = [36.6, 47.6]"),
                 "party B", "same side of the contact line as party 'A'"),
    "one_side_named": (lambda t: t.replace('side = "right"', 'side = "left"').replace(
                           "point = [36.5, 47.5]", 'side = "left"'),
                       "party B", "same side of the contact line as party 'A'"),
    "point_outside": (lambda t: t.replace("point = [36.5, 47.5]", "point = [30.5, 47.5]"),
                      "party A.point", "[30.5, 47.5] lies outside geometry.region"),
}  # fmt: skip


@pytest.fixture
def ws_with_agreement(sqlite_workspace: Workspace, tmp_path: Path) -> Workspace:
    """A workspace holding the tiny agreement already (what a hostile load must not touch)."""
    load_agreement(sqlite_workspace, write_tiny(tmp_path / "good"))
    return sqlite_workspace


def _nothing_more_stored(ws: Workspace) -> None:
    with reading(ws.engine) as conn:
        assert [(a.id, a.version) for a in agreement_versions(conn)] == [("tiny", 1)]
    assert verify_store(ws).ok


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_agreements_are_refused_by_name(
    ws_with_agreement: Workspace, tmp_path: Path, case: str
) -> None:
    edit, field, reason = HOSTILE[case]
    path = write_tiny(tmp_path / case, edit(TOML.replace("version = 1", "version = 2")))
    with pytest.raises(AgreementError) as info:
        load_agreement(ws_with_agreement, path)
    msg = info.value.message
    assert msg.startswith(str(tmp_path / case)) and field in msg and reason in msg, msg
    _nothing_more_stored(ws_with_agreement)


def test_a_two_million_vertex_region_is_refused_by_the_vertex_cap(
    ws_with_agreement: Workspace, tmp_path: Path
) -> None:
    path = write_tiny(tmp_path / "huge", TOML.replace("version = 1", "version = 2"))
    region = path.parent / "region.geojson"
    region.write_text(_many_vertices(2_000_000))
    assert region.stat().st_size < DEFAULT_LIMITS.max_geojson_bytes  # the vertex cap, not size
    with pytest.raises(AgreementError) as info:
        load_agreement(ws_with_agreement, path)
    msg = info.value.message
    assert f"{region}: geometry.region: 2000000 vertices, more than the 500000" in msg, msg
    _nothing_more_stored(ws_with_agreement)


def test_caps_are_data(tmp_path: Path) -> None:
    """A caller with other needs passes its own limits; the defaults are documented."""
    path = write_tiny(tmp_path / "t")  # a line of 4 vertices, a region of 5
    small = AgreementLimits(max_vertices=4, max_km=12.0, max_sectors=2)
    with pytest.raises(AgreementError, match="region.geojson: geometry.region: 5 vertices, more"):
        load_agreement_file(path, small)
    with pytest.raises(AgreementError, match=r"withdrawal\[1\].band_km: 15 km is more than the 12"):
        load_agreement_file(path, replace(small, max_vertices=5))
    with pytest.raises(AgreementError, match="more than 2 sectors"):
        load_agreement_file(path, AgreementLimits(max_sectors=2))
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for f in fields(AgreementLimits):
        assert f"`{f.name}`" in doc, f.name


def test_a_geos_error_becomes_a_named_error(tmp_path: Path) -> None:
    """Any shapely/GEOS failure left in compiling names the file, never a traceback."""
    path = write_tiny(tmp_path / "t")
    limits = AgreementLimits(max_km=1e12)  # no cap: GEOS meets the absurd band itself
    bad = path.read_text().replace("band_km = 15", "band_km = 1e9")
    path.write_text(bad)
    with pytest.raises(AgreementError) as info:
        load_agreement_file(path, limits)
    assert info.value.message.startswith(f"{path}: "), info.value.message
