"""The zone index: hand-made zones with known answers, and equality with a slow,
obvious shapely reference on random polygons and points."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truceline.domain.errors import InputError
from truceline.geo.projection import Projector
from truceline.geo.zones import ZoneIndex


def feature(zid: str, kind: str, geom: Any, party: str = "", **props: Any) -> dict[str, Any]:
    geometry = shapely.geometry.mapping(geom)
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "id": zid,
            "kind": kind,
            "party": party,
            "weapon_class": "",
            "band_km": None,
            **props,
        },
    }


BOX = shapely.box
LINE = shapely.LineString([(35, 45), (35, 50)])
FEATURES = [
    feature("line", "contact_line", LINE),
    feature("control-A", "control", BOX(30, 45, 35, 50), "A"),
    feature("control-B", "control", BOX(35, 45, 40, 50), "B"),
    feature("S2", "sector", BOX(34, 47, 36, 48)),
    feature("S1", "sector", BOX(35.5, 47.5, 36.5, 48.5)),
    feature("band-B-tank", "withdrawal_band", BOX(35, 45, 36, 50), "B"),
    feature("band-A-tank", "withdrawal_band", BOX(34, 45, 35, 50), "A"),
    feature("buffer", "buffer", BOX(34.5, 45, 35.5, 50)),
    feature("npp", "exclusion", shapely.Point(37, 46).buffer(0.3, quad_segs=32)),
]
#            lon    lat   sector party  zones (band-A, band-B, buffer, npp)
CASES = [
    (34.2, 47.2, "S2", "A", {"band-A-tank"}),
    (35.7, 47.7, "S1", "B", {"band-B-tank"}),  # in S1 and S2: the smallest id wins
    (35.0, 47.3, "S2", None, {"buffer"}),  # on the A/B boundary: in neither control area
    (36.0, 47.5, None, "B", set()),  # on S2's and S1's edges, on band-B's edge
    (41.0, 47.0, None, None, set()),  # outside everything
    (37.0, 46.0, None, "B", {"npp"}),
    (34.5, 46.0, None, "A", {"band-A-tank"}),  # on the buffer's edge
]


@pytest.mark.parametrize("max_cells", [4, 64, 4096, 1 << 21])
def test_known_answers(max_cells: int) -> None:
    index = ZoneIndex.from_features(FEATURES, max_cells=max_cells)
    assert index.sector_ids == ("S1", "S2")
    assert index.parties == ("A", "B")
    assert index.zone_ids == ("band-A-tank", "band-B-tank", "buffer", "npp")
    assert index.zone_kinds == ("withdrawal_band", "withdrawal_band", "buffer", "exclusion")
    lon = np.array([c[0] for c in CASES] + [np.nan])
    lat = np.array([c[1] for c in CASES] + [47.0])
    c = index.classify(lon, lat)
    for i, (_, _, sector, party, zones) in enumerate(CASES):
        assert (index.sector_ids[c.sector[i]] if c.sector[i] >= 0 else None) == sector, i
        assert (index.parties[c.party[i]] if c.party[i] >= 0 else None) == party, i
        assert {z for z, on in zip(index.zone_ids, c.zones[i], strict=True) if on} == zones, i
    assert c.sector[-1] == -1 and c.party[-1] == -1 and not c.zones[-1].any()
    assert np.isnan(c.dist_km[-1])
    # distance: the projected point to the projected line, in km
    p = index.projector
    line_m = p.geometry_forward(LINE)
    x, y = p.forward(lon[:-1], lat[:-1])
    ref = shapely.distance(shapely.points(x, y), line_m) / 1000
    np.testing.assert_allclose(c.dist_km[:-1], ref, atol=1e-9)
    assert c.dist_km[2] == pytest.approx(0.0, abs=1e-9)


def test_default_projector_is_centred_on_the_zones() -> None:
    index = ZoneIndex.from_features(FEATURES)
    assert (index.projector.lat0, index.projector.lon0) == (47.5, 35.0)
    other = ZoneIndex.from_features(FEATURES, Projector(48.5, 35))
    assert other.projector.crs.startswith("+proj=aeqd +lat_0=48.5 +lon_0=35 ")


def test_overlapping_control_areas_go_to_the_party_sorted_last() -> None:
    feats = [
        feature("c-y", "control", BOX(0, 0, 2, 2), "Yellow"),
        feature("c-x", "control", BOX(1, 0, 3, 2), "Xanadu"),
        feature("c-z", "control", BOX(1.5, 0, 4, 2), "Zulu"),
    ]
    for max_cells in (16, 1 << 16):
        index = ZoneIndex.from_features(feats, max_cells=max_cells)
        assert index.parties == ("Xanadu", "Yellow", "Zulu")
        c = index.classify(np.array([0.5, 1.2, 1.7, 3.5, 2.5]), np.ones(5))
        names = [index.parties[k] for k in c.party]
        assert names == ["Yellow", "Yellow", "Zulu", "Zulu", "Zulu"]
        assert np.isinf(c.dist_km).all()  # no contact line


def test_parties_from_the_agreement_keep_their_index() -> None:
    index = ZoneIndex.from_features(FEATURES[:2], parties=["C", "A", "B"])
    assert index.parties == ("A", "B", "C")
    assert index.classify(np.array([31.0]), np.array([46.0])).party.tolist() == [0]


@pytest.mark.parametrize(
    ("feat", "match"),
    [
        ({"type": "Feature"}, "properties"),
        (feature("", "sector", BOX(0, 0, 1, 1)), "non-empty string"),
        (feature("z", "", BOX(0, 0, 1, 1)), "kind"),
        (feature("z", "sector", shapely.LineString([(0, 0), (1, 1)])), "Polygon"),
        (feature("z", "contact_line", BOX(0, 0, 1, 1)), "LineString"),
        (feature("z", "control", BOX(0, 0, 1, 1)), "party"),
        (
            {"type": "Feature", "properties": {"id": "z", "kind": "buffer"}, "geometry": None},
            "geometry missing",
        ),
        (
            {
                "type": "Feature",
                "properties": {"id": "z", "kind": "buffer"},
                "geometry": {"type": "Polygon", "coordinates": "nonsense"},
            },
            "zone 'z'",
        ),
    ],
)
def test_bad_features_are_refused_by_name(feat: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        ZoneIndex.from_features([feat])


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(InputError, match="duplicate"):
        ZoneIndex.from_features([FEATURES[3], FEATURES[3]])


def test_from_agreement_on_the_shipped_reference() -> None:
    from pathlib import Path

    from truceline.compliance.agreement import load_agreement_file

    path = Path(__file__).resolve().parents[1] / "examples" / "reference-2025" / "agreement.toml"
    agreement = load_agreement_file(path)
    index = ZoneIndex.from_agreement(agreement)
    assert set(index.parties) == {p.id for p in agreement.parties}
    zs = {z.id: z for z in agreement.zones}
    assert set(index.zone_ids) == {
        z.id
        for z in agreement.zones
        if z.kind not in ("sector", "control", "contact_line")
        and z.geometry.geom_type in ("Polygon", "MultiPolygon")
    }
    rng = np.random.default_rng(3)
    b = shapely.total_bounds(np.array([z.geometry for z in agreement.zones]))
    lon, lat = rng.uniform(b[0], b[2], 3000), rng.uniform(b[1], b[3], 3000)
    c = index.classify(lon, lat)
    for j, zid in enumerate(index.zone_ids):
        np.testing.assert_array_equal(
            c.zones[:, j], shapely.contains_xy(zs[zid].geometry, lon, lat)
        )


# ---------------------------------------------------------------- random polygons
@st.composite
def star_polygon(draw: st.DrawFn) -> shapely.Polygon:
    cx, cy = draw(st.floats(1, 9)), draw(st.floats(1, 9))
    k = draw(st.integers(3, 14))
    ang = np.sort(
        np.array(
            draw(
                st.lists(
                    st.floats(0, 2 * np.pi, exclude_max=True), min_size=k, max_size=k, unique=True
                )
            )
        )
    )
    rad = np.array(draw(st.lists(st.floats(0.2, 4), min_size=k, max_size=k)))
    return shapely.Polygon(np.column_stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)]))


KINDS = ["sector", "control", "withdrawal_band", "exclusion", "buffer"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(star_polygon(), st.sampled_from(KINDS), st.sampled_from(["P", "Q", "R"])),
        min_size=1,
        max_size=7,
    ),
    st.lists(st.tuples(st.floats(-1, 11), st.floats(-1, 11)), min_size=1, max_size=200),
    st.sampled_from([16, 400, 1 << 16]),
)
def test_equals_the_obvious_reference(
    polys: list[tuple[shapely.Polygon, str, str]], pts: list[tuple[float, float]], max_cells: int
) -> None:
    polys = [p for p in polys if p[0].is_valid and p[0].area > 0]
    feats = [feature(f"Z{i:02d}", kind, g, party) for i, (g, kind, party) in enumerate(polys)]
    feats.append(feature("line", "contact_line", shapely.LineString([(0, 0), (3, 7), (10, 5)])))
    index = ZoneIndex.from_features(feats, Projector(5, 5), max_cells=max_cells)
    # points: random, plus every vertex and edge midpoint (on the boundaries)
    verts = [np.asarray(g.exterior.coords) for g, _, _ in polys]
    extra = [v for c in verts for v in (c, (c[1:] + c[:-1]) / 2)]
    p = np.concatenate([np.array(pts), *extra]) if extra else np.array(pts)
    lon, lat = p[:, 0], p[:, 1]
    c = index.classify(lon, lat)
    inside = {
        f["properties"]["id"]: shapely.contains_xy(g, lon, lat)
        for f, (g, _, _) in zip(feats, polys, strict=False)
    }
    kind = {f["properties"]["id"]: f["properties"]["kind"] for f in feats}
    party_of = {f["properties"]["id"]: f["properties"]["party"] for f in feats}
    for i in range(len(lon)):
        sectors = sorted(z for z in inside if kind[z] == "sector" and inside[z][i])
        parties = sorted(party_of[z] for z in inside if kind[z] == "control" and inside[z][i])
        assert (index.sector_ids[c.sector[i]] if c.sector[i] >= 0 else None) == (
            sectors[0] if sectors else None
        )
        assert (index.parties[c.party[i]] if c.party[i] >= 0 else None) == (
            parties[-1] if parties else None
        )
    for j, zid in enumerate(index.zone_ids):
        np.testing.assert_array_equal(c.zones[:, j], inside[zid])
    pr = index.projector
    x, y = pr.forward(lon, lat)
    ref = (
        shapely.distance(
            shapely.points(x, y), pr.geometry_forward(shapely.LineString([(0, 0), (3, 7), (10, 5)]))
        )
        / 1000
    )
    np.testing.assert_allclose(c.dist_km, ref, rtol=1e-12, atol=1e-9)


# ---------------------------------------------------------------- shared boundaries
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.sampled_from([64, 2000, 1 << 16]))
def test_zones_sharing_the_line_equal_the_reference(seed: int, max_cells: int) -> None:
    """Controls and bands built on the very same line vertices (as agreements build
    them): the zones decided together still equal contains_xy, on and off the line."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(0.0, 10.0, 40)
    xs = 5 + np.cumsum(rng.normal(0, 0.15, len(ys)))
    line = np.column_stack([xs, ys])
    west = shapely.Polygon([*line, (0, 10), (0, 0)])
    east = shapely.Polygon([*line, (12, 10), (12, 0)])
    bands = {}
    for w in (0.3, 0.8):
        bands[f"band-W-{w}"] = shapely.Polygon([*line, *(line[::-1] - (w, 0))])
        bands[f"band-E-{w}"] = shapely.Polygon([*line, *(line[::-1] + (w, 0))])
    feats = [
        feature("line", "contact_line", shapely.LineString(line)),
        feature("c-W", "control", west, "W"),
        feature("c-E", "control", east, "E"),
        *(feature(k, "withdrawal_band", g) for k, g in bands.items()),
    ]
    index = ZoneIndex.from_features(feats, Projector(5, 5), max_cells=max_cells)
    assert all(g.is_valid for g in (west, east, *bands.values()))
    mid = (line[1:] + line[:-1]) / 2
    near = line[rng.integers(0, len(line), 3000)] + rng.normal(0, 0.05, (3000, 2))
    p = np.concatenate([line, mid, near, rng.uniform(0, 12, (2000, 2))])
    c = index.classify(p[:, 0], p[:, 1])
    for j, zid in enumerate(index.zone_ids):
        np.testing.assert_array_equal(
            c.zones[:, j], shapely.contains_xy(bands[zid], p[:, 0], p[:, 1])
        )
    in_w = shapely.contains_xy(west, p[:, 0], p[:, 1])
    in_e = shapely.contains_xy(east, p[:, 0], p[:, 1])
    expect = np.where(in_w, index.parties.index("W"), np.where(in_e, index.parties.index("E"), -1))
    np.testing.assert_array_equal(c.party, expect)
    assert (c.party[: len(line)] == -1).all()  # the vertices are on the line: no side
    if max_cells > 64:
        assert len(index._layers().raster.follow_zone) > 0  # the shared-edge path was taken


def test_empty_input_and_minimal_indexes() -> None:
    only_line = ZoneIndex.from_features([FEATURES[0]])
    c = only_line.classify(np.zeros(0), np.zeros(0))
    assert c.sector.shape == c.party.shape == c.dist_km.shape == (0,)
    assert c.zones.shape == (0, 0)
    c = only_line.classify([35.0, 36.0], [47.0, 47.0])
    assert c.sector.tolist() == [-1, -1] and c.party.tolist() == [-1, -1]
    assert c.dist_km[0] == pytest.approx(0.0, abs=1e-9) and 70 < c.dist_km[1] < 80
    only_sector = ZoneIndex.from_features([FEATURES[3]])
    c = only_sector.classify([35.0], [47.5])
    assert c.sector.tolist() == [0] and np.isinf(c.dist_km).all()
    with pytest.raises(InputError, match="differ in length"):
        only_sector.classify([1.0, 2.0], [1.0])
    with pytest.raises(InputError, match="at least one zone"):
        ZoneIndex.from_features([])


@pytest.mark.parametrize("max_cells", [16, 1 << 12, 1 << 20])
def test_holes_and_multipolygons(max_cells: int) -> None:
    ring = shapely.Polygon([(0, 0), (6, 0), (6, 6), (0, 6)], [[(2, 2), (4, 2), (4, 4), (2, 4)]])
    multi = shapely.MultiPolygon([shapely.box(7, 0, 8, 1), shapely.box(9, 0, 10, 1)])
    feats = [
        feature("ring", "exclusion", ring),
        feature("pair", "buffer", multi),
        feature("S1", "sector", multi),
        feature("c", "control", ring, "A"),
    ]
    index = ZoneIndex.from_features(feats, max_cells=max_cells)
    rng = np.random.default_rng(5)
    p = np.concatenate(
        [rng.uniform(-1, 11, (4000, 2)), [(3, 3), (2, 3), (1, 1), (7.5, 0.5), (8.5, 0.5), (8, 0.5)]]
    )
    c = index.classify(p[:, 0], p[:, 1])
    np.testing.assert_array_equal(
        c.zones[:, index.zone_ids.index("ring")], shapely.contains_xy(ring, p[:, 0], p[:, 1])
    )
    np.testing.assert_array_equal(
        c.zones[:, index.zone_ids.index("pair")], shapely.contains_xy(multi, p[:, 0], p[:, 1])
    )
    np.testing.assert_array_equal(c.sector == 0, shapely.contains_xy(multi, p[:, 0], p[:, 1]))
    np.testing.assert_array_equal(c.party == 0, shapely.contains_xy(ring, p[:, 0], p[:, 1]))
    assert c.party[-6:].tolist() == [-1, -1, 0, -1, -1, -1]  # hole, hole's edge, inside, ...
    assert c.sector[-6:].tolist() == [-1, -1, -1, 0, -1, -1]
