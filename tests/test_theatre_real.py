"""The reference theatre against the public boundaries in ``../shared/data/real/``.

The shipped ``examples/reference-2025`` region and theatre are drawn by hand (errors of
10-20 km); these tests measure them against the Minregion ADM0/ADM1 outlines of
Ukraine (read from the shared folder, never copied here) and public city coordinates:
Ukraine within its borders is covered to at least 97 % of its area (every oblast to at
least 80 %: the coarse coast and mountain borders), the region does not reach far
beyond the border, and the oblast centres and the main cities of the adjoining
Russian border regions lie inside the theatre, Moscow, Minsk and Chisinau outside.
``agreement build --country`` builds the parties' areas from the ADM0 outline itself
and keeps the template's border regions.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from truceline.compliance.agreement import Agreement, build_from_control, load_agreement_file

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "reference-2025"
#: the main cities of Ukraine, and of the adjoining Russian regions (public coordinates)
UKRAINE_CITIES = {
    "Kyiv": (30.52, 50.45), "Kharkiv": (36.23, 50.00), "Odesa": (30.73, 46.48),
    "Dnipro": (35.05, 48.46), "Donetsk": (37.80, 48.01), "Zaporizhzhia": (35.14, 47.84),
    "Lviv": (24.03, 49.84), "Kryvyi Rih": (33.39, 47.91), "Mykolaiv": (31.99, 46.97),
    "Mariupol": (37.54, 47.10), "Luhansk": (39.31, 48.57), "Sevastopol": (33.53, 44.60),
    "Simferopol": (34.10, 44.95), "Kherson": (32.62, 46.64), "Chernihiv": (31.29, 51.49),
    "Sumy": (34.80, 50.91), "Uzhhorod": (22.30, 48.62), "Chernivtsi": (25.94, 48.29),
}  # fmt: skip
RUSSIAN_BORDER_CITIES = {
    "Bryansk": (34.36, 53.24), "Kursk": (36.19, 51.73), "Belgorod": (36.59, 50.60),
    "Voronezh": (39.20, 51.67), "Rostov-on-Don": (39.72, 47.24), "Taganrog": (38.90, 47.21),
    "Krasnodar": (38.98, 45.04), "Shakhty": (40.21, 47.71),
}  # fmt: skip
OUTSIDE = {"Moscow": (37.62, 55.76), "Minsk": (27.56, 53.90), "Chisinau": (28.86, 47.01)}
_EQUAL_AREA = pyproj.Transformer.from_crs(
    4326, "+proj=laea +lat_0=48.5 +lon_0=32 +units=m", always_xy=True
)


def _km2(g: BaseGeometry) -> float:
    def fwd(c: np.ndarray) -> np.ndarray:
        return np.column_stack(_EQUAL_AREA.transform(c[:, 0], c[:, 1]))

    return float(shapely.transform(g, fwd).area) / 1e6


def _outline(path: Path) -> BaseGeometry:
    return shapely.union_all(
        [shape(f["geometry"]) for f in json.loads(path.read_text())["features"]]
    )


def _covers(a: Agreement, adm0: BaseGeometry, adm1: list[dict[str, object]]) -> None:
    theatre = a.theatre
    held = shapely.union_all([z.geometry for z in a.zones_of("control")])
    assert _km2(adm0.intersection(theatre)) / _km2(adm0) >= 0.97
    assert _km2(adm0.intersection(held)) / _km2(adm0) >= 0.97
    for f in adm1:
        g = shape(f["geometry"])  # type: ignore[arg-type]
        assert _km2(g.intersection(theatre)) / _km2(g) >= 0.80, f["properties"]
    for name, (lon, lat) in {**UKRAINE_CITIES, **RUSSIAN_BORDER_CITIES}.items():
        assert theatre.contains(shapely.Point(lon, lat)), name
    for name, (lon, lat) in OUTSIDE.items():
        assert not theatre.contains(shapely.Point(lon, lat)), name


@pytest.fixture(scope="module")
def adm(real_data: Path) -> tuple[BaseGeometry, list[dict[str, object]]]:
    adm1 = json.loads((real_data / "ukraine_adm1_oblasts.geojson").read_text())["features"]
    return _outline(real_data / "ukraine_adm0.geojson"), adm1


def test_the_shipped_theatre_covers_ukraine_and_the_border_regions(
    adm: tuple[BaseGeometry, list[dict[str, object]]],
) -> None:
    adm0, adm1 = adm
    a = load_agreement_file(EXAMPLE)
    _covers(a, adm0, adm1)
    held = shapely.union_all([z.geometry for z in a.zones_of("control")])
    # the hand-drawn region stays near the border: at most 3 % of it outside Ukraine
    assert _km2(held.difference(adm0)) / _km2(held) <= 0.03


def test_build_makes_the_parties_areas_from_the_real_outline_and_keeps_the_border_regions(
    adm: tuple[BaseGeometry, list[dict[str, object]]], real_data: Path, tmp_path: Path
) -> None:
    adm0, adm1 = adm
    b = build_from_control(
        real_data / "deepstate_occupied_2026-01-01.geojson",
        dt.date(2026, 1, 1),
        tmp_path / "built",
        country=real_data / "ukraine_adm0.geojson",
        template=EXAMPLE / "agreement.toml",
    )
    _covers(b.agreement, adm0, adm1)
    held = shapely.union_all([z.geometry for z in b.agreement.zones_of("control")])
    assert _km2(held.symmetric_difference(adm0)) / _km2(adm0) < 0.001  # the outline itself
    assert [s.id for s in b.agreement.storage_sites] == [
        s.id for s in load_agreement_file(EXAMPLE).storage_sites
    ]
    # the boundaries are read from the shared folder at run time, never written beside it
    assert not list(EXAMPLE.glob("*adm*"))
