"""The agreement format: loading, derived geometry, the JSON round trip, the examples."""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import shape
from test_agreement_helpers import write_tiny

from truceline.compliance.agreement import Agreement, Party, Rule, Zone, load_agreement_file
from truceline.compliance.agreement.geometry import Metric
from truceline.domain.vocab import WeaponClass

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _km2(a: Agreement, geom: shapely.Geometry) -> float:
    return float(Metric.around(a.contact_line).fwd(geom).area) / 1e6


def test_tiny_agreement_compiles_zones(tmp_path: Path) -> None:
    a = load_agreement_file(write_tiny(tmp_path / "tiny"))
    assert (a.id, a.version, a.valid_from, a.valid_to) == ("tiny", 1, 1577836800, None)
    assert a.party_ids == ("A", "B")
    ids = [z.id for z in a.zones]
    assert ids[:4] == ["contact-line", "control-A", "control-B", "buffer"]
    assert {"band-A-tank", "band-B-tank", "band-B-mlrs"} <= set(ids)
    assert "band-A-mlrs" not in ids  # the MLRS band was given for B only
    # A's control area is west of the line (its point), B's east; they tile the region
    ca, cb = a.zone("control-A").geometry, a.zone("control-B").geometry
    assert ca.contains(shapely.Point(36.5, 47.5)) and cb.contains(shapely.Point(37.5, 47.2))
    region = shapely.box(36.0, 46.9, 38.0, 48.1)
    assert abs(shapely.union_all([ca, cb]).area - region.area) < 1e-6 * region.area
    assert _km2(a, shapely.intersection(ca, cb)) < 0.01
    # a band is the party's side within band_km of the line
    band = a.zone("band-B-tank")
    assert band.party == "B" and band.weapon_class == "tank" and band.band_km == 15
    assert band.geometry.within(cb.buffer(1e-9))
    width_km = _km2(a, band.geometry) / (
        Metric.around(a.contact_line).fwd(shapely.intersection(a.contact_line, region)).length
        / 1000
    )
    assert 13.0 < width_km < 16.0
    # the buffer is centred on the line: about half on each side
    buf = a.zone("buffer").geometry
    assert abs(_km2(a, buf.intersection(ca)) - _km2(a, buf.intersection(cb))) < 0.1 * _km2(a, buf)
    assert a.zone("buffer").bars == frozenset({"fire"})
    # the plant circle has a 10 km radius
    assert abs(_km2(a, a.zone("plant").geometry) - 314.16) < 1.0
    assert a.zone("plant").bars == frozenset({"military"})


def test_sectors_tile_the_corridor_in_line_order(tmp_path: Path) -> None:
    a = load_agreement_file(write_tiny(tmp_path / "tiny"))
    secs = a.zones_of("sector")
    assert [z.id for z in secs] == [f"S{i:02d}" for i in range(1, len(secs) + 1)]
    assert len(secs) == 4  # ~155 km of line, cut every ~40 km
    total = sum(_km2(a, z.geometry) for z in secs)
    assert abs(_km2(a, shapely.union_all([z.geometry for z in secs])) - total) < 0.01 * total
    # sector order follows the line from its first vertex (south) to its last (north)
    lats = [z.geometry.centroid.y for z in secs]
    assert lats == sorted(lats)


def test_rules_are_parsed_and_normalised(tmp_path: Path) -> None:
    a = load_agreement_file(write_tiny(tmp_path / "tiny"))
    assert [r.id for r in a.rules] == ["bands", "plant-zone", "share"]
    assert a.rules_of("sharing")[0].params["shares"] == {"A": 0.5, "B": 0.5}


def test_json_round_trip_of_a_compiled_agreement(tmp_path: Path) -> None:
    a = load_agreement_file(write_tiny(tmp_path / "tiny"))
    again = Agreement.from_json(json.loads(json.dumps(a.to_json())))
    assert again == a
    assert again.to_json() == a.to_json()


def test_zones_geojson_has_the_bench_shape(tmp_path: Path) -> None:
    a = load_agreement_file(write_tiny(tmp_path / "tiny"))
    fc = a.zones_geojson()
    assert fc["type"] == "FeatureCollection"
    props = [f["properties"] for f in fc["features"]]
    assert all(set(p) == {"id", "kind", "party", "weapon_class", "band_km"} for p in props)
    line = next(p for p in props if p["kind"] == "contact_line")
    assert line == {
        "id": "contact-line",
        "kind": "contact_line",
        "party": "",
        "weapon_class": "",
        "band_km": None,
    }
    f0 = fc["features"][0]
    assert shape(f0["geometry"]).equals(a.contact_line)


# -- property: the JSON form round-trips -------------------------------------------------

_coord = st.tuples(
    st.floats(-180, 180, allow_nan=False, allow_infinity=False),
    st.floats(-90, 90, allow_nan=False, allow_infinity=False),
)
_geom = st.one_of(
    _coord.map(shapely.Point),
    st.lists(_coord, min_size=2, max_size=6, unique=True).map(shapely.LineString),
    st.tuples(_coord, st.floats(0.001, 1.0)).map(lambda c: shapely.Point(c[0]).buffer(c[1], 2)),
)
_name = st.text(min_size=1, max_size=12)
_json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
_params = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(_json_scalar, st.lists(_json_scalar, max_size=4)),
    max_size=4,
)
_zone = st.builds(
    Zone,
    id=_name,
    kind=st.sampled_from(["contact_line", "sector", "withdrawal_band", "exclusion"]),
    party=st.one_of(st.none(), st.sampled_from(["A", "B"])),
    weapon_class=st.one_of(st.none(), st.sampled_from([w.value for w in WeaponClass])),
    band_km=st.one_of(st.none(), st.floats(0.1, 500)),
    geometry=_geom,
    bars=st.frozensets(st.sampled_from(["military", "flight", "fire"])),
)
_agreement = st.builds(
    Agreement,
    id=_name,
    version=st.integers(1, 1000),
    title=st.text(max_size=30),
    valid_from=st.integers(0, 2**40),
    valid_to=st.one_of(st.none(), st.integers(0, 2**40)),
    parties=st.lists(st.builds(Party, _name, _name), max_size=3).map(tuple),
    zones=st.lists(_zone, max_size=4).map(tuple),
    rules=st.lists(st.builds(Rule, _name, _name, st.text(max_size=20), _params), max_size=3).map(
        tuple
    ),
    fusion=st.dictionaries(st.text(min_size=1, max_size=8), _json_scalar, max_size=3),
    sources=st.text(max_size=30),
)


@settings(max_examples=100, deadline=None)
@given(_agreement)
def test_json_form_round_trips(a: Agreement) -> None:
    j = a.to_json()
    back = Agreement.from_json(json.loads(json.dumps(j)))
    assert back.to_json() == j
    assert back == a
    assert hash(back) == hash(a) and {a, back} == {a}


# -- the shipped examples -------------------------------------------------------------------


def test_minsk_2015_example() -> None:
    a = load_agreement_file(EXAMPLES / "minsk-2015")
    assert a.id == "minsk-2015" and a.valid_to is not None and "Package of Measures" in a.sources
    assert len(a.contact_line.coords) >= 40
    bands = {(z.party, z.weapon_class): z.band_km for z in a.zones_of("withdrawal_band")}
    assert bands[("A", "artillery_ge100")] == 25 and bands[("B", "mlrs")] == 35
    assert bands[("A", "mlrs_long_tbm")] == 70 and bands[("B", "tank")] == 15
    assert bands[("A", "mortar_artillery_lt100")] == 15
    zone = a.zone("security-zone")
    assert zone.kind == "buffer" and zone.bars == {"fire", "flight"}
    km = Metric.around(a.contact_line).fwd(a.contact_line).length / 1000
    assert 250 < km < 400  # Russian border to the Sea of Azov
    assert len(a.zones_of("sector")) >= 5
    # Donetsk is on B's side, Kramatorsk and Mariupol on A's
    assert a.zone("control-B").geometry.contains(shapely.Point(37.80, 48.01))
    assert a.zone("control-A").geometry.contains(shapely.Point(37.56, 47.13))
    kinds = {r.kind for r in a.rules}
    assert kinds == {"withdrawal_band", "buffer_fire", "exclusion"}


def test_reference_2025_example_encodes_every_kind_of_term() -> None:
    a = load_agreement_file(EXAMPLES / "reference-2025")
    assert {r.kind for r in a.rules} == {
        "ceasefire",
        "withdrawal_band",
        "buffer_fire",
        "exclusion",
        "demilitarised_zone",
        "freedom_of_movement",
        "holdings_observed",
        "ceiling",
        "prohibition",
        "notification_duty",
        "sharing",
        "declaration_duty",
        "storage_inventory",
        "outside_storage",
    }
    npp = a.zone("npp-zaporizhzhia")
    assert npp.bars == {"military"} and npp.geometry.contains(shapely.Point(34.5863, 47.5119))
    assert abs(_km2(a, npp.geometry) - 2827.4) < 10  # pi * 30^2
    army = next(r for r in a.rules if r.id == "army-ceiling")
    assert army.params == {
        "subject": "personnel",
        "item": "army",
        "party": "A",
        "max": 800000,
        "unit": "persons",
    }
    share = a.rules_of("sharing")[0].params
    assert share["shares"] == {"A": 0.5, "B": 0.5} and share["plant"] == "npp-zaporizhzhia"
    nato = a.rules_of("prohibition")[0].params
    assert len(nato["states"]) == 32 and "USA" in nato["states"] and "US" not in nato["states"]
    area = a.zone("donetsk-west")
    assert area.kind == "withdrawal_area"
    assert area.geometry.contains(shapely.Point(37.56, 48.72))  # Kramatorsk
    phases = a.rules_of("demilitarised_zone")[0].params["phases"]
    assert [(p["from"], p["bars"]) for p in phases] == [
        ("2026-02-01", ["heavy_weapons"]),
        ("2026-03-01", ["military"]),
    ]
    # the region is Ukraine within its borders; the theatre adds the Russian border regions
    for town in ((30.52, 50.45), (24.03, 49.84), (30.73, 46.48), (34.80, 50.91)):
        assert a.zone("control-A").geometry.contains(shapely.Point(town))  # Kyiv .. Sumy
    for town in ((36.19, 51.73), (36.59, 50.60), (39.72, 47.23)):  # Kursk, Belgorod, Rostov
        assert a.theatre.contains(shapely.Point(town))
        assert not a.zone("control-B").geometry.contains(shapely.Point(town))
    assert not a.theatre.contains(shapely.Point(27.57, 53.90))  # Minsk, Belarus
    # the line reaches from the Russian border to the Black Sea: Kherson is A's, Donetsk B's
    assert a.zone("control-A").geometry.contains(shapely.Point(32.60, 46.64))
    assert a.zone("control-B").geometry.contains(shapely.Point(37.80, 48.01))
    assert len(a.contact_line.coords) >= 40


def test_withdrawal_line_zone_and_rule(tmp_path: Path) -> None:
    from test_agreement_helpers import TOML, feature_collection

    toml = TOML + (
        '\n[[withdrawal_line]]\nid = "pullback"\nfile = "pullback.geojson"\n'
        '\n[[rules]]\nid = "pull-back"\nkind = "withdrawal_area"\n'
        'text = "A withdraws behind the line by June"\n'
        'params = { zone = "pullback", party = "A", by = 2020-06-01 }\n'
    )
    path = write_tiny(tmp_path / "t", toml)
    geom = {"type": "LineString", "coordinates": [[36.6, 46.8], [36.6, 48.2]]}
    (path.parent / "pullback.geojson").write_text(json.dumps(feature_collection(geom)))
    a = load_agreement_file(path)
    assert a.zone("pullback").kind == "withdrawal_line"
    assert a.zone("pullback").geometry.geom_type == "LineString"
    assert a.rules[-1].params == {"zone": "pullback", "party": "A", "by": "2020-06-01"}
