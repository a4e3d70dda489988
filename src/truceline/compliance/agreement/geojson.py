"""Reading the GeoJSON files an agreement refers to, with errors that name the feature."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from truceline.compliance.agreement.limits import DEFAULT_LIMITS, AgreementLimits
from truceline.domain.errors import AgreementError

__all__ = ["Feature", "check_geometry", "read_features"]

#: the opening of a GeoJSON position (``[`` then a number): counted on the raw text, an
#: upper bound of the vertices (NaN and Infinity are refused), so that a huge file is
#: refused before it is parsed
_POSITION = re.compile(r"\[\s*-?[0-9]")


@dataclass(frozen=True, slots=True)
class Feature:
    number: int  # 1-based feature number in its file
    geometry: BaseGeometry
    properties: dict[str, Any]


def check_geometry(geom: BaseGeometry, where: str, types: Collection[str]) -> BaseGeometry:
    """``geom`` if it is non-empty, valid, of one of ``types`` and in lon/lat range."""
    if geom.is_empty:
        raise AgreementError(f"{where}: empty geometry")
    if geom.geom_type not in types:
        raise AgreementError(f"{where}: a {geom.geom_type}, expected {' or '.join(types)}")
    if not shapely.is_valid(geom):
        raise AgreementError(f"{where}: invalid geometry: {shapely.is_valid_reason(geom)}")
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise AgreementError(f"{where}: coordinates outside lon/lat range (WGS84 expected)")
    return geom


def read_features(
    path: Path, key: str, types: Collection[str], limits: AgreementLimits = DEFAULT_LIMITS
) -> list[Feature]:
    """The features of a GeoJSON file (a FeatureCollection, a Feature or a bare geometry),
    refused whole beyond ``limits`` (bytes, vertices) before any geometry is built."""
    if not path.is_file():
        raise AgreementError(f"{path}: GeoJSON file named by {key} not found")
    size = path.stat().st_size
    if size > limits.max_geojson_bytes:
        raise AgreementError(
            f"{path}: {key}: {size} bytes, more than the {limits.max_geojson_bytes} accepted "
            "(max_geojson_bytes)"
        )
    try:
        text = path.read_text(encoding="utf-8")
        if (n := len(_POSITION.findall(text))) > limits.max_vertices:  # before parsing
            raise AgreementError(
                f"{path}: {key}: {n} vertices, more than the {limits.max_vertices} accepted in "
                "one file (max_vertices): simplify the geometry"
            )
        doc = json.loads(text, parse_constant=_no_constant)
    except (OSError, ValueError) as exc:  # UnicodeDecodeError, JSONDecodeError, NaN
        raise AgreementError(f"{path}: not readable as JSON: {exc}") from exc
    except RecursionError:
        raise AgreementError(f"{path}: not readable as JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise AgreementError(f"{path}: expected a GeoJSON object")
    if doc.get("type") == "FeatureCollection":
        raw = doc.get("features")
        if not isinstance(raw, list):
            raise AgreementError(f"{path}: FeatureCollection without a features list")
    elif doc.get("type") == "Feature":
        raw = [doc]
    else:
        raw = [{"type": "Feature", "properties": {}, "geometry": doc}]
    if not raw:
        raise AgreementError(f"{path}: no features")
    out = []
    for i, f in enumerate(raw, start=1):
        where = f"{path}: feature {i}"
        if not isinstance(f, dict) or not isinstance(f.get("geometry"), dict):
            raise AgreementError(f"{where}: no geometry")
        try:
            geom = shape(f["geometry"])
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            raise AgreementError(f"{where}: unreadable geometry: {exc}") from exc
        except shapely.errors.ShapelyError as exc:
            raise AgreementError(f"{where}: unreadable geometry: {exc}") from exc
        props = f.get("properties") or {}
        out.append(Feature(i, check_geometry(geom, where, types), dict(props)))
    return out


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")
