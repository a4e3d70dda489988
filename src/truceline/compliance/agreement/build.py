"""Building an agreement's geometry from a territorial-control GeoJSON (e.g. DeepStateMap).

The area one party holds on a date is the union of the features whose ``status``
is one of the held statuses (default: ``occupied`` and ``occupied_before_2022``)
on that date (the latest date on or before it in a multi-date file). The contact
line is that area's boundary where it runs inside the country: the parts within
``tolerance_km`` of the country outline (state border, coast) are removed and the
longest connected pieces kept. The result is an agreement directory (TOML +
GeoJSON) whose control areas are the held area (``holder``) and the rest of the
country (``other``); the template supplies the terms.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
import tomli_w
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from truceline.compliance.agreement.geojson import read_features
from truceline.compliance.agreement.geometry import Metric
from truceline.compliance.agreement.loader import load_agreement_file
from truceline.compliance.agreement.model import Agreement
from truceline.domain.errors import AgreementError

__all__ = ["HELD_STATUSES", "Built", "build_from_control", "contact_line_of", "held_area"]

HELD_STATUSES = ("occupied", "occupied_before_2022")
_AREAS = ("Polygon", "MultiPolygon")

DEFAULT_TEMPLATE: dict[str, Any] = {
    "agreement": {"title": "Ceasefire on the line of contact of {date}", "version": 1},
    "parties": [
        {"id": "A", "name": "The party holding the rest of the country"},
        {"id": "B", "name": "The party holding the area of the control file"},
    ],
    "buffer": {"width_km": 30, "bars": ["fire", "flight"]},
    "sectors": {"length_km": 50},
    "withdrawal": [
        {"weapon_class": "artillery_ge100", "band_km": 25},
        {"weapon_class": "mlrs", "band_km": 35},
        {"weapon_class": "mlrs_long_tbm", "band_km": 70},
        {"weapon_class": "tank", "band_km": 15},
        {"weapon_class": "mortar_artillery_lt100", "band_km": 15},
    ],
    "rules": [
        {
            "id": "buffer-fire",
            "kind": "buffer_fire",
            "text": "No fire inside the buffer zone.",
            "params": {"zone": "buffer"},
        },
        {
            "id": "heavy-weapons",
            "kind": "withdrawal_band",
            "text": "Heavy weapons withdrawn from the line by equal distances per weapon class.",
            "params": {
                "weapon_classes": [
                    "artillery_ge100",
                    "mlrs",
                    "mlrs_long_tbm",
                    "tank",
                    "mortar_artillery_lt100",
                ]
            },
        },
    ],
}


@dataclass(frozen=True)
class Built:
    path: Path  # the agreement.toml written
    agreement: Agreement
    control_date: str
    line_km: float
    pieces: int
    held_km2: float


def held_area(
    path: Path, date: dt.date, statuses: tuple[str, ...] = HELD_STATUSES
) -> tuple[BaseGeometry, str]:
    """The union of the held features on ``date`` (or the latest date before it)."""
    feats = read_features(path, "--control", _AREAS)
    dated = [(str(f.properties.get("date", "")), f) for f in feats]
    dates = sorted({d for d, _ in dated if d and d <= date.isoformat()})
    if not dates:
        raise AgreementError(f"{path}: no feature dated on or before {date.isoformat()}")
    day = dates[-1]
    held = [f.geometry for d, f in dated if d == day and f.properties.get("status") in statuses]
    if not held:
        raise AgreementError(f"{path}: no feature of status {', '.join(statuses)} on {day}")
    return shapely.make_valid(shapely.union_all(held)), day


def contact_line_of(
    held: BaseGeometry,
    country: BaseGeometry | None,
    metric: Metric,
    tolerance_km: float = 3.0,
    min_piece_km: float = 25.0,
    min_fraction: float = 0.1,
) -> BaseGeometry:
    """The boundary of ``held`` inside ``country`` (away from its outline by more than
    ``tolerance_km``): the longest connected pieces, those shorter than ``min_piece_km``
    or than ``min_fraction`` of the longest dropped. Slivers between touching polygons
    of the control file (e.g. two statuses) are closed first."""
    boundary_m = _tidy(metric.fwd(held)).boundary
    if country is not None:
        inner = metric.fwd(country).buffer(-tolerance_km * 1000.0)
        boundary_m = shapely.intersection(boundary_m, inner)
    merged = shapely.line_merge(shapely.union_all(boundary_m))
    parts = sorted(getattr(merged, "geoms", [merged]), key=lambda p: -p.length)
    if not parts or parts[0].length < min_piece_km * 1000.0:
        raise AgreementError("the held area has no boundary inside the country")
    keep = max(min_piece_km * 1000.0, min_fraction * parts[0].length)
    parts = [p for p in parts if p.length >= keep]
    return metric.inv(shapely.MultiLineString(parts) if len(parts) > 1 else parts[0])


def _tidy(held_m: BaseGeometry, close_m: float = 250.0, min_hole_km2: float = 5.0) -> BaseGeometry:
    """Close slivers narrower than ~2 ``close_m`` and drop holes under ``min_hole_km2``."""
    closed = held_m.buffer(close_m, quad_segs=4).buffer(-close_m, quad_segs=4)
    polys = []
    for p in getattr(closed, "geoms", [closed]):
        holes = [r for r in p.interiors if shapely.Polygon(r).area >= min_hole_km2 * 1e6]
        polys.append(shapely.Polygon(p.exterior, holes))
    return shapely.union_all(polys)


def build_from_control(
    control: Path,
    date: dt.date,
    out: Path,
    country: Path | None = None,
    template: Path | None = None,
    tolerance_km: float = 3.0,
    min_piece_km: float = 25.0,
) -> Built:
    """Write an agreement directory to ``out`` from a control file, and load it back."""
    held, day = held_area(control, date)
    outline = None
    if country is not None:
        outline = shapely.union_all(
            [f.geometry for f in read_features(country, "--country", _AREAS)]
        )
        held = shapely.intersection(held, outline)
    metric = Metric.around(held)
    line = contact_line_of(held, outline, metric, tolerance_km, min_piece_km)
    rest = (
        shapely.difference(outline, held)
        if outline is not None
        else shapely.difference(shapely.box(*held.buffer(1.5).bounds), held)
    )
    doc = _template(template, date, control, country, day)
    out.mkdir(parents=True, exist_ok=True)
    _write_geojson(out / "contact_line.geojson", [({"name": f"contact line {day}"}, line)])
    parties = [str(p["id"]) for p in doc["parties"]]
    _write_geojson(
        out / "control.geojson",
        [({"party": parties[0]}, rest), ({"party": parties[1]}, held)],
    )
    theatre = doc.get("geometry", {}).get("theatre")  # the template's border regions stay
    doc["geometry"] = {"contact_line": "contact_line.geojson", "control": "control.geojson"}
    if isinstance(theatre, str):
        doc["geometry"]["theatre"] = theatre
    path = out / "agreement.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    agreement = load_agreement_file(path)
    (out / "zones.geojson").write_text(json.dumps(agreement.zones_geojson()), encoding="utf-8")
    return Built(
        path,
        agreement,
        day,
        metric.fwd(line).length / 1000.0,
        len(getattr(line, "geoms", [line])),
        metric.fwd(held).area / 1e6,
    )


def _template(
    template: Path | None, date: dt.date, control: Path, country: Path | None, day: str
) -> dict[str, Any]:
    if template is None:
        doc = json.loads(json.dumps(DEFAULT_TEMPLATE))
    else:
        try:
            doc = tomllib.loads(template.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise AgreementError(f"{template}: not a readable TOML template: {exc}") from exc
        _absolute_files(doc, template.parent)
    if len(doc.get("parties", [])) != 2:
        raise AgreementError(f"{template}: parties: a built agreement needs exactly two parties")
    head = doc.setdefault("agreement", {})
    head.setdefault("id", f"built-{date.isoformat()}")
    head["title"] = str(head.get("title", "Ceasefire on the line of {date}")).format(date=day)
    head.setdefault("version", 1)
    head.setdefault("valid_from", date)
    note = (
        f"Geometry built by `truceline agreement build` from {control.name} (features dated "
        f"{day}, statuses {', '.join(HELD_STATUSES)} = the area held by party "
        f"{doc['parties'][1]['id']})"
        + (f" and the country outline {country.name}" if country else "")
        + ". The contact line is the held area's boundary inside the country."
    )
    head["sources"] = (str(head.get("sources", "")).strip() + "\n" + note).strip()
    for p in doc["parties"]:
        p.pop("point", None)
        p.pop("side", None)
    return dict(doc)


def _absolute_files(doc: dict[str, Any], base: Path) -> None:
    """Make the template's own GeoJSON references (exclusion zones, withdrawal areas and
    lines, storage sites, sector files, the theatre) absolute, so that they still resolve
    from the output directory."""
    entries = [
        e
        for k in ("exclusion", "withdrawal_area", "withdrawal_line", "storage_site")
        for e in doc.get(k, [])
        if isinstance(e, dict)
    ]
    if isinstance(doc.get("sectors"), dict):
        entries.append(doc["sectors"])
    for e in entries:
        if isinstance(e.get("file"), str):
            e["file"] = str((base / e["file"]).resolve())
    geometry = doc.get("geometry")
    if isinstance(geometry, dict) and isinstance(geometry.get("theatre"), str):
        geometry["theatre"] = str((base / geometry["theatre"]).resolve())


def _write_geojson(path: Path, items: list[tuple[dict[str, Any], BaseGeometry]]) -> None:
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": mapping(geom)}
            for props, geom in items
        ],
    }
    path.write_text(json.dumps(fc), encoding="utf-8")
