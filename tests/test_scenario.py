"""The built-in scenario: deterministic, realistic in the ways the demo relies on."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Polygon, box

from truceline.compliance.agreement.model import Agreement, Party, Zone
from truceline.domain.errors import InputError
from truceline.domain.observations import OBSERVATION_SCHEMA
from truceline.domain.vocab import FIRE_KINDS, ObservationKind, WeaponClass
from truceline.scenario import describe, generate, play, scenario_sources

START = date(2015, 3, 1)


def small_agreement() -> Agreement:
    """A hand-drawn two-party agreement: a wavy north-south line near 38.5 E,
    A holding the west and B the east, bands, a 2 km buffer and four sectors."""
    ys = np.linspace(47.0, 49.0, 41)
    xs = 38.5 + 0.08 * np.sin(ys * 7.0)
    line = LineString(np.column_stack([xs, ys]))
    west = Polygon([(36.0, 47.0), *zip(xs, ys, strict=True), (36.0, 49.0)])
    east = Polygon([(41.0, 47.0), *zip(xs, ys, strict=True), (41.0, 49.0)])
    zones = [Zone("line", "contact_line", None, None, None, line)]
    zones += [Zone("ctl-A", "control", "A", None, None, west)]
    zones += [Zone("ctl-B", "control", "B", None, None, east)]
    deg = 1.0 / 75.0  # ~1 km at 48 N, good enough for a test fixture
    for party, area in (("A", west), ("B", east)):
        for wc, km in (("artillery_ge100", 25.0), ("tank", 15.0), ("mlrs", 35.0)):
            band = line.buffer(km * deg).intersection(area)
            zones.append(Zone(f"band-{party}-{wc}", "withdrawal_band", party, wc, km, band))
    zones.append(Zone("buffer", "buffer", None, None, None, line.buffer(2 * deg)))
    for i in range(4):
        zones.append(
            Zone(
                f"S{i + 1}",
                "sector",
                None,
                None,
                None,
                box(37.5, 47 + i * 0.5, 39.5, 47.5 + i * 0.5),
            )
        )
    return Agreement(
        id="test-line",
        version=1,
        title="test",
        valid_from=int(datetime(2015, 2, 15, tzinfo=UTC).timestamp()),
        valid_to=None,
        parties=(Party("A", "Side A"), Party("B", "Side B")),
        zones=tuple(zones),
        rules=(),
    )


@pytest.fixture(scope="module")
def agreement() -> Agreement:
    return small_agreement()


@pytest.fixture(scope="module")
def table(agreement: Agreement) -> pa.Table:
    return generate(agreement, seed=7, start=START, days=21)


def test_same_seed_same_table_other_seed_other_table(agreement: Agreement, table: pa.Table) -> None:
    again = generate(agreement, seed=7, start=START, days=21)
    assert table.schema == OBSERVATION_SCHEMA
    assert table.equals(again)
    other = generate(agreement, seed=8, start=START, days=21)
    assert not table.equals(other)


def test_counts_are_realistic_and_client_ids_unique(table: pa.Table) -> None:
    assert 200 <= table.num_rows <= 5000
    keys = pc.binary_join_element_wise(table["source_id"], table["client_id"], "|")
    assert len(pc.unique(keys)) == table.num_rows
    t = table["t"].to_numpy()
    t0 = datetime(2015, 3, 1, tzinfo=UTC).timestamp()
    assert t.min() >= t0 - 86400 and t.max() <= t0 + 22 * 86400


def test_escalation_sector_has_more_fire_in_its_window(agreement: Agreement) -> None:
    info = describe(agreement, seed=7, start=START, days=21)
    tab = generate(agreement, seed=7, start=START, days=21)
    sec = {z.id: z.geometry for z in agreement.zones if z.kind == "sector"}
    fire = tab.filter(pc.is_in(tab["kind"], pa.array([k.value for k in FIRE_KINDS])))
    fire = fire.filter(pc.equal(fire["source_type"], "camera"))  # point reports
    inside = shapely.contains_xy(
        shapely.union_all([sec[s] for s in info.escalation_sectors]),
        fire["lon"].to_numpy(),
        fire["lat"].to_numpy(),
    )
    t = fire["t"].to_numpy()
    w0, w1 = info.escalation_start.timestamp(), info.escalation_end.timestamp()
    t_start = datetime(2015, 3, 1, tzinfo=UTC).timestamp()
    during = inside & (t >= w0) & (t < w1)
    before = inside & (t >= t_start) & (t < w0)
    rate_during = during.sum() / (w1 - w0)
    rate_before = before.sum() / (w0 - t_start)
    assert rate_during > 3 * rate_before


def test_heavy_weapons_in_bands_on_both_sides(agreement: Agreement, table: pa.Table) -> None:
    seen = table.filter(pc.equal(table["kind"], ObservationKind.WEAPON_SIGHTING.value))
    assert seen.num_rows > 0
    assert set(seen["source_type"].to_pylist()) <= {"monitor", "uav"}
    lon, lat = seen["lon"].to_numpy(), seen["lat"].to_numpy()
    wc = np.asarray(seen["weapon_class"].to_pylist())
    sides = set()
    for z in agreement.zones:
        if z.kind == "withdrawal_band":
            hit = shapely.contains_xy(z.geometry.buffer(0.01), lon, lat) & (wc == z.weapon_class)
            if hit.any():
                sides.add(z.party)
    assert sides == {"A", "B"}


def test_bearings_and_party_allegations(table: pa.Table) -> None:
    ac = table.filter(pc.equal(table["source_type"], "acoustic"))
    assert ac.num_rows > 0
    assert ac["lon"].null_count == ac.num_rows  # a bearing, not a point
    assert ac["bearing_deg"].null_count == 0 and ac["obs_lon"].null_count == 0
    b = ac["bearing_deg"].to_numpy()
    assert ((b >= 0) & (b < 360)).all()
    party = table.filter(pc.equal(table["source_type"], "party"))
    rows = party.to_pylist()
    assert {r["actor"] for r in rows if r["kind"] != "denial"} == {"A", "B"}
    # an allegation names the other side, never the alleging party
    assert all(
        r["actor"] != r["source_id"].removeprefix("party-") for r in rows if r["kind"] != "denial"
    )
    assert any(r["kind"] == "denial" for r in rows)
    events = [json.loads(a)["scenario_event"] for a in table["attrs"].to_pylist() if a]
    assert len(events) > table.num_rows // 2


def test_bearings_point_at_the_event(table: pa.Table) -> None:
    """A camera's point and an acoustic bearing of the same event agree within a few sd."""
    from pyproj import Geod

    rows = table.to_pylist()
    cam = {
        json.loads(r["attrs"])["scenario_event"]: r for r in rows if r["source_type"] == "camera"
    }
    g = Geod(ellps="WGS84")
    off = []
    for r in rows:
        if r["source_type"] == "acoustic":
            c = cam.get(json.loads(r["attrs"])["scenario_event"])
            if c is not None:
                az, _, d = g.inv(r["obs_lon"], r["obs_lat"], c["lon"], c["lat"])
                if d > 3000:
                    off.append(abs((az - r["bearing_deg"] + 180) % 360 - 180))
    assert len(off) > 20
    assert np.median(off) < 8.0


def test_sources_carry_groups_types_and_grades(agreement: Agreement, table: pa.Table) -> None:
    specs = {s.id: s for s in scenario_sources(agreement, seed=7)}
    assert set(table["source_id"].to_pylist()) <= set(specs)
    cams = [s for s in specs.values() if s.type == "camera"]
    assert cams and all(s.group == s.id.rsplit("-cam", 1)[0] for s in cams)
    assert specs["outlet-1"].group == specs["wire-agency"].group == specs["outlet-2"].group
    assert specs["party-A"].party == "A" and specs["party-A"].reliability in "ABCDEF"


def test_too_short_a_run_is_refused(agreement: Agreement) -> None:
    with pytest.raises(InputError, match="days"):
        generate(agreement, seed=1, days=1)


def test_on_the_shipped_minsk_agreement() -> None:
    from truceline.compliance.agreement import load_agreement_file
    from truceline.service.demo import default_agreement_path

    minsk = load_agreement_file(default_agreement_path())
    tab, info = play(minsk, seed=2015)
    assert 300 <= tab.num_rows <= 5000
    assert info.start.isoformat() == "2015-03-01" and len(info.escalation_sectors) in (1, 2)
    seen = tab.filter(pc.equal(tab["kind"], "weapon_sighting"))
    lon, lat = seen["lon"].to_numpy(), seen["lat"].to_numpy()
    held = {
        z.party
        for z in minsk.zones_of("control")
        if shapely.contains_xy(z.geometry, lon, lat).any()
    }
    assert held == {"A", "B"}


def test_coverage_declared_and_outages_keep_cameras_silent(agreement: Agreement) -> None:
    tab, info = play(agreement, seed=7, start=START, days=21)
    kinds = {c.kind for c in info.coverage}
    assert kinds == {"observed", "outage", "denied"}
    rows = tab.to_pylist()
    for c in info.coverage:
        if c.kind == "outage":
            during = [
                r for r in rows if r["source_id"] == c.source_id and c.t_start <= r["t"] < c.t_end
            ]
            assert during == []
        else:
            assert c.geometry is not None and c.geometry.geom_type == "Polygon"
    denied = [c for c in info.coverage if c.kind == "denied"]
    restrictions = [r for r in rows if r["kind"] == "restriction"]
    assert len(denied) == len(restrictions) > 0


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), days=st.integers(3, 10))
def test_every_record_is_well_formed(seed: int, days: int) -> None:
    tab = generate(small_agreement(), seed=seed, start=START, days=days)
    rows = tab.to_pylist()
    kinds = {k.value for k in ObservationKind}
    classes = {w.value for w in WeaponClass}
    for r in rows:
        point = r["lon"] is not None and r["lat"] is not None and r["radius_m"] is not None
        bearing = r["obs_lon"] is not None and r["bearing_deg"] is not None
        assert point != bearing, r  # a point or a bearing, never both nor neither
        assert r["kind"] in kinds and (r["weapon_class"] is None or r["weapon_class"] in classes)
        assert r["count"] >= 1 and 1 <= r["credibility"] <= 6 and r["t_unc_s"] > 0
        if point:
            assert 36 < r["lon"] < 41 and 46 < r["lat"] < 50 and r["radius_m"] > 0
        else:
            assert 0 <= r["bearing_deg"] < 360 and r["bearing_sd_deg"] > 0
