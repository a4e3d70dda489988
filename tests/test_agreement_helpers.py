"""A small hand-made agreement directory for the agreement tests."""

from __future__ import annotations

import json
from pathlib import Path

LINE = [[37.0, 46.8], [37.05, 47.3], [36.95, 47.7], [37.0, 48.2]]
REGION = [[36.0, 46.9], [38.0, 46.9], [38.0, 48.1], [36.0, 48.1], [36.0, 46.9]]

TOML = """
[agreement]
id = "tiny"
title = "A tiny agreement for tests"
version = 1
valid_from = 2020-01-01
sources = "made up for the tests"

[[parties]]
id = "A"
name = "West"
point = [36.5, 47.5]

[[parties]]
id = "B"
name = "East"
side = "right"

[geometry]
contact_line = "line.geojson"
region = "region.geojson"

[buffer]
width_km = 10

[sectors]
length_km = 40

[[withdrawal]]
weapon_class = "tank"
band_km = 15

[[withdrawal]]
weapon_class = "mlrs"
band_km = 35
party = "B"

[[exclusion]]
id = "plant"
center = [37.5, 47.5]
radius_km = 10
bars = ["military"]

[[rules]]
id = "bands"
kind = "withdrawal_band"
text = "no tanks near the line"
params = { weapon_classes = ["tank"] }

[[rules]]
id = "plant-zone"
kind = "exclusion"
text = "nothing military near the plant"
params = { zone = "plant" }

[[rules]]
id = "share"
kind = "sharing"
text = "half each"
params = { plant = "plant", shares = { A = 0.5, B = 0.5 }, tolerance = 0.05, period = "month" }
"""


def feature_collection(geometry: dict[str, object]) -> dict[str, object]:
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": geometry}],
    }


def write_tiny(d: Path, toml: str = TOML) -> Path:
    """Write the tiny agreement into ``d``; returns the TOML path."""
    d.mkdir(parents=True, exist_ok=True)
    line = feature_collection({"type": "LineString", "coordinates": LINE})
    region = feature_collection({"type": "Polygon", "coordinates": [REGION]})
    (d / "line.geojson").write_text(json.dumps(line))
    (d / "region.geojson").write_text(json.dumps(region))
    path = d / "agreement.toml"
    path.write_text(toml)
    return path
