"""Loading an agreement: one TOML file plus GeoJSON files (paths relative to the TOML).

``load_agreement_file(path)`` reads, validates and compiles it into an
:class:`~truceline.compliance.agreement.model.Agreement`, deriving the control
areas, buffer zone, withdrawal bands, exclusion circles and reporting sectors.
Any problem raises ``AgreementError`` naming the file, the key or feature, and
the reason. The format is described in ``examples/README.md``.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from truceline.compliance.agreement import geometry as geo
from truceline.compliance.agreement.geojson import read_features
from truceline.compliance.agreement.limits import DEFAULT_LIMITS, AgreementLimits, nesting
from truceline.compliance.agreement.model import (
    BARS,
    Agreement,
    BreachCondition,
    Party,
    Quality,
    Rule,
    Zone,
)
from truceline.compliance.agreement.storage import storage_sites
from truceline.compliance.rules.params import RuleContext
from truceline.compliance.rules.registry import validate_params
from truceline.domain.errors import AgreementError
from truceline.domain.vocab import WeaponClass

__all__ = ["AGREEMENT_FILE", "agreement_path", "load_agreement_file", "parse_agreement"]

AGREEMENT_FILE = "agreement.toml"
_TOP = {"agreement", "parties", "geometry", "buffer", "sectors", "withdrawal", "exclusion"}
_TOP |= {"withdrawal_area", "withdrawal_line", "rules", "fusion", "quality", "major_breach"}
_TOP |= {"storage_site"}
_LINES = ("LineString", "MultiLineString")
_AREAS = ("Polygon", "MultiPolygon")


def agreement_path(path: Path) -> Path:
    """The TOML file: ``path`` itself, or ``agreement.toml`` inside a directory."""
    return path / AGREEMENT_FILE if path.is_dir() else path


def load_agreement_file(path: Path | str, limits: AgreementLimits = DEFAULT_LIMITS) -> Agreement:
    """Read, validate and compile the agreement at ``path`` (a TOML file or its directory),
    within ``limits``."""
    file = agreement_path(Path(path))
    if not file.is_file():
        raise AgreementError(f"{file}: agreement file not found")
    if (size := file.stat().st_size) > limits.max_toml_bytes:
        raise AgreementError(
            f"{file}: {size} bytes, more than the {limits.max_toml_bytes} accepted (max_toml_bytes)"
        )
    deep = AgreementError(
        f"{file}: values nested more than {limits.max_toml_depth} deep (max_toml_depth)"
    )
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise AgreementError(f"{file}: not readable: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise AgreementError(f"{file}: TOML syntax: {exc}") from exc
    except RecursionError:
        raise deep from None
    if nesting(doc, limits.max_toml_depth) > limits.max_toml_depth:
        raise deep
    try:
        return parse_agreement(doc, file, limits)
    except shapely.errors.ShapelyError as exc:  # a backstop: the caps should come first
        raise AgreementError(f"{file}: geometry: {exc}") from None


class _Doc:
    """The TOML document with the file name, for error messages."""

    def __init__(self, doc: dict[str, Any], file: Path, limits: AgreementLimits) -> None:
        self.doc, self.file, self.limits = doc, file, limits

    def fail(self, key: str, reason: str) -> AgreementError:
        return AgreementError(f"{self.file}: {key}: {reason}")

    def table(self, t: Any, key: str, required: set[str], optional: set[str]) -> dict[str, Any]:
        if not isinstance(t, dict):
            raise self.fail(key, f"expected a table, got {type(t).__name__}")
        for k in t:
            if k not in required and k not in optional:
                raise self.fail(f"{key}.{k}", "unknown key")
        for k in sorted(required):
            if k not in t:
                raise self.fail(f"{key}.{k}", "missing")
        return t

    def tables(self, name: str) -> list[dict[str, Any]]:
        v = self.doc.get(name, [])
        if not isinstance(v, list):
            raise self.fail(name, "expected an array of tables ([[...]])")
        return v

    def number(self, v: Any, key: str, positive: bool = True) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or (positive and v <= 0):
            raise self.fail(key, f"expected a number > 0, got {v!r}")
        if not math.isfinite(v):
            raise self.fail(key, f"expected a finite number, got {v!r}")
        return float(v)

    def km(self, v: Any, key: str, positive: bool = True) -> float:
        """A distance in km, at most ``limits.max_km``."""
        km = self.number(v, key, positive)
        if km > self.limits.max_km:
            most = self.limits.max_km
            raise self.fail(key, f"{km:g} km is more than the {most:g} accepted (max_km)")
        return km

    def text(self, v: Any, key: str) -> str:
        if not isinstance(v, str) or not v.strip():
            raise self.fail(key, f"expected a non-empty string, got {v!r}")
        return v

    def epoch(self, v: Any, key: str) -> int:
        if isinstance(v, dt.datetime):
            if v.tzinfo is None:
                raise self.fail(key, "a date-time needs a UTC offset (or give a date)")
            return int(v.timestamp())
        if isinstance(v, dt.date):
            return int(dt.datetime(v.year, v.month, v.day, tzinfo=dt.UTC).timestamp())
        raise self.fail(key, f"expected a date (YYYY-MM-DD), got {v!r}")

    def lonlat(self, v: Any, key: str) -> tuple[float, float]:
        ok = isinstance(v, list) and len(v) == 2
        ok = ok and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
        if not ok or not (-180 <= v[0] <= 180 and -90 <= v[1] <= 90):
            raise self.fail(key, f"expected [lon, lat] in degrees, got {v!r}")
        return float(v[0]), float(v[1])

    def bars(self, v: Any, key: str) -> frozenset[str]:
        if not isinstance(v, list) or not v or any(b not in BARS for b in v):
            raise self.fail(key, f"expected a non-empty list drawn from {list(BARS)}, got {v!r}")
        return frozenset(v)

    def geojson(self, v: Any, key: str, types: tuple[str, ...]) -> list[BaseGeometry]:
        path = self.file.parent / self.text(v, key)
        return [f.geometry for f in read_features(path, key, types, self.limits)]

    def footprint(self, t: dict[str, Any], key: str) -> tuple[BaseGeometry, float | None]:
        """An area given as ``file`` (Polygon GeoJSON) or ``center`` + ``radius_km``, and
        its radius in km (None for a file)."""
        if "file" in t:
            return shapely.union_all(self.geojson(t["file"], f"{key}.file", _AREAS)), None
        if "center" in t and "radius_km" in t:
            lon, lat = self.lonlat(t["center"], f"{key}.center")
            radius = self.km(t["radius_km"], f"{key}.radius_km")
            return geo.circle(lon, lat, radius), radius
        raise self.fail(key, "give either file, or center and radius_km")


def parse_agreement(
    doc: dict[str, Any], file: Path, limits: AgreementLimits = DEFAULT_LIMITS
) -> Agreement:
    """Compile a parsed TOML document (``file`` locates its GeoJSON files and names errors)."""
    d = _Doc(doc, file, limits)
    for k in doc:
        if k not in _TOP:
            raise d.fail(k, f"unknown table (known: {', '.join(sorted(_TOP))})")
    required = {"id", "title", "version", "valid_from", "sources"}
    head = d.table(doc.get("agreement"), "agreement", required, {"valid_to"})
    version = head["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise d.fail("agreement.version", f"expected an integer >= 1, got {version!r}")
    valid_from = d.epoch(head["valid_from"], "agreement.valid_from")
    valid_to = None if "valid_to" not in head else d.epoch(head["valid_to"], "agreement.valid_to")
    if valid_to is not None and valid_to <= valid_from:
        raise d.fail("agreement.valid_to", "must be after valid_from")
    parties, sides = _parties(d)
    zones = _zones(d, parties, sides)
    sites, site_zones = storage_sites(d, {p.id for p in parties}, {z.id for z in zones})
    zones += site_zones
    rules = _rules(d, zones, {p.id for p in parties})
    fusion = doc.get("fusion", {})
    if not isinstance(fusion, dict):
        raise d.fail("fusion", "expected a table")
    for key in ("distance_m", "window_s"):  # the fusion parameters (see service.fusion)
        if key in fusion:
            d.number(fusion[key], f"fusion.{key}")
    return Agreement(
        quality=_quality(d),
        major_breach=_major_breach(d, {r.id for r in rules}),
        id=d.text(head["id"], "agreement.id"),
        version=version,
        title=d.text(head["title"], "agreement.title"),
        valid_from=valid_from,
        valid_to=valid_to,
        parties=tuple(parties),
        zones=tuple(zones),
        rules=tuple(rules),
        fusion=dict(fusion),
        sources=d.text(head["sources"], "agreement.sources"),
        storage_sites=sites,
    )


def _quality(d: _Doc) -> Quality:
    q = d.table(
        d.doc.get("quality", {}), "quality", set(), {"min_confidence", "party_claims_alone"}
    )
    out = Quality()
    if "min_confidence" in q:
        v = d.number(q["min_confidence"], "quality.min_confidence", positive=False)
        if v > 1:
            raise d.fail("quality.min_confidence", f"expected a confidence from 0 to 1, got {v!r}")
        out = replace(out, min_confidence=float(v))
    if "party_claims_alone" in q:
        if not isinstance(q["party_claims_alone"], bool):
            raise d.fail(
                "quality.party_claims_alone",
                f"expected true or false, got {q['party_claims_alone']!r}",
            )
        out = replace(out, party_claims_alone=q["party_claims_alone"])
    return out


def _major_breach(d: _Doc, rule_ids: set[str]) -> tuple[BreachCondition, ...]:
    out: list[BreachCondition] = []
    for i, c in enumerate(d.tables("major_breach"), start=1):
        key = f"major_breach[{i}]"
        d.table(c, key, {"id", "text", "rules"}, {"count", "days", "depth_km"})
        rules = c["rules"]
        if not isinstance(rules, list) or not rules or any(r not in rule_ids for r in rules):
            raise d.fail(f"{key}.rules", f"expected a non-empty list of rule ids, got {rules!r}")
        count = c.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise d.fail(f"{key}.count", f"expected an integer >= 1, got {count!r}")
        days = d.number(c.get("days", 1), f"{key}.days")
        depth = d.km(c.get("depth_km", 0), f"{key}.depth_km", positive=False)
        out.append(BreachCondition(d.text(c["id"], f"{key}.id"), d.text(c["text"], f"{key}.text"),
                                   tuple(rules), count, days, depth))  # fmt: skip
    if len({c.id for c in out}) < len(out):
        raise d.fail("major_breach", "condition ids must be distinct")
    return tuple(out)


def _parties(d: _Doc) -> tuple[list[Party], dict[str, Any]]:
    raw = d.tables("parties")
    if not raw:
        raise d.fail("parties", "an agreement needs at least one party ([[parties]])")
    parties: list[Party] = []
    sides: dict[str, Any] = {}
    for i, p in enumerate(raw, start=1):
        key = f"parties[{i}]"
        d.table(p, key, {"id", "name"}, {"side", "point"})
        pid = d.text(p["id"], f"{key}.id")
        if pid in {q.id for q in parties}:
            raise d.fail(f"{key}.id", f"party {pid!r} given twice")
        parties.append(Party(pid, d.text(p["name"], f"{key}.name")))
        if "side" in p:
            if p["side"] not in ("left", "right"):
                raise d.fail(f"{key}.side", f"expected 'left' or 'right', got {p['side']!r}")
            sides[pid] = 1 if p["side"] == "left" else -1
        elif "point" in p:
            sides[pid] = d.lonlat(p["point"], f"{key}.point")
    return parties, sides


def _zones(d: _Doc, parties: list[Party], sides: dict[str, Any]) -> list[Zone]:
    g = d.table(
        d.doc.get("geometry"), "geometry", {"contact_line"}, {"region", "control", "theatre"}
    )
    line = shapely.union_all(d.geojson(g["contact_line"], "geometry.contact_line", _LINES))
    line = shapely.line_merge(line) if line.geom_type == "MultiLineString" else line
    metric = geo.Metric.around(line)
    zones = [Zone("contact-line", "contact_line", None, None, None, line)]
    control = _control(d, g, line, sides, {p.id for p in parties}, metric)
    zones += [Zone(f"control-{p}", "control", p, None, None, a) for p, a in control.items()]
    region = shapely.union_all(list(control.values())) if control else None
    zones += _buffer(d, line, region, metric)
    zones += _bands(d, line, control, metric)
    zones += _exclusions(d)
    for kind, types in (("withdrawal_area", _AREAS), ("withdrawal_line", _LINES)):
        for i, w in enumerate(d.tables(kind), start=1):
            key = f"{kind}[{i}]"
            d.table(w, key, {"id", "file"}, {"party"})
            geom = shapely.union_all(d.geojson(w["file"], f"{key}.file", types))
            zones.append(Zone(d.text(w["id"], f"{key}.id"), kind, w.get("party"), None, None, geom))
    zones += _sectors(d, line, region, metric)
    if "theatre" in g:
        theatre = shapely.union_all(d.geojson(g["theatre"], "geometry.theatre", _AREAS))
        if region is not None:
            theatre = shapely.union_all([theatre, region])
        zones.append(Zone("theatre", "theatre", None, None, None, theatre))
    seen: set[str] = set()
    for z in zones:
        if z.id in seen:
            raise d.fail("zones", f"zone id {z.id!r} used twice")
        if z.party is not None and z.party not in {p.id for p in parties}:
            raise d.fail(f"zone {z.id}", f"unknown party {z.party!r}")
        seen.add(z.id)
    return zones


def _control(
    d: _Doc,
    g: dict[str, Any],
    line: BaseGeometry,
    sides: dict[str, Any],
    party_ids: set[str],
    metric: geo.Metric,
) -> dict[str, BaseGeometry]:
    if "control" in g:
        path = d.file.parent / d.text(g["control"], "geometry.control")
        feats = read_features(path, "geometry.control", _AREAS, d.limits)
        out: dict[str, list[BaseGeometry]] = {}
        for f in feats:
            party = f.properties.get("party")
            if party not in party_ids:
                raise AgreementError(
                    f"{path}: feature {f.number}: property party: unknown party {party!r} "
                    f"(geometry.control of {d.file})"
                )
            out.setdefault(str(party), []).append(f.geometry)
        areas = {p: shapely.union_all(gs) for p, gs in sorted(out.items())}
        _refuse_overlaps(areas, f"{path} (geometry.control of {d.file})")
        return areas
    if "region" not in g:
        return {}
    region = shapely.union_all(d.geojson(g["region"], "geometry.region", _AREAS))
    if not sides:
        raise d.fail("parties", "with geometry.region, give each party a side or a point")
    line_m = metric.fwd(line)
    side_of: dict[str, int] = {}
    for pid, s in sides.items():
        if isinstance(s, tuple):
            if not region.covers(shapely.Point(s)):
                raise d.fail(f"party {pid}.point", f"{list(s)} lies outside geometry.region")
            s = geo.side_of(line_m, metric.fwd(shapely.Point(s)))
            if s == 0:
                raise d.fail(f"party {pid}.point", "lies on the contact line")
        if (other := next((q for q, t in side_of.items() if t == s), None)) is not None:
            raise d.fail(
                f"party {pid}",
                f"on the same side of the contact line as party {other!r}: each side is one "
                "party's control area",
            )
        side_of[pid] = int(s)
    try:
        return geo.control_areas(region, line, side_of, metric)
    except ValueError as exc:
        raise d.fail("geometry.region", str(exc)) from None


def _refuse_overlaps(areas: dict[str, BaseGeometry], where: str) -> None:
    """Ground held by two parties would be placed on neither fairly: refuse it (a shared
    edge, or a sliver below a millionth of the smaller area, is no overlap)."""
    items = list(areas.items())
    for i, (p, a) in enumerate(items):
        for q, b in items[i + 1 :]:
            shared = shapely.intersection(a, b).area
            if shared > 1e-6 * min(a.area, b.area):
                raise AgreementError(
                    f"{where}: the control areas of {p!r} and {q!r} overlap "
                    f"({shared:.4g} square degrees): ground is held by one party"
                )


def _buffer(
    d: _Doc, line: BaseGeometry, region: BaseGeometry | None, metric: geo.Metric
) -> list[Zone]:
    if "buffer" not in d.doc:
        return []
    b = d.table(d.doc["buffer"], "buffer", {"width_km"}, {"id", "bars"})
    width = d.km(b["width_km"], "buffer.width_km")
    bars = d.bars(b.get("bars", ["fire"]), "buffer.bars")
    geom = geo.buffer_zone(line, width, region, metric)
    return [Zone(str(b.get("id", "buffer")), "buffer", None, None, width / 2.0, geom, bars)]


def _bands(
    d: _Doc, line: BaseGeometry, control: dict[str, BaseGeometry], metric: geo.Metric
) -> list[Zone]:
    out = []
    near: dict[float, BaseGeometry] = {}
    known = [w.value for w in WeaponClass]
    for i, w in enumerate(d.tables("withdrawal"), start=1):
        key = f"withdrawal[{i}]"
        d.table(w, key, {"weapon_class", "band_km"}, {"party"})
        if w["weapon_class"] not in known:
            raise d.fail(
                f"{key}.weapon_class",
                f"unknown weapon class {w['weapon_class']!r} (known: {', '.join(known)})",
            )
        km = d.km(w["band_km"], f"{key}.band_km")
        if not control:
            raise d.fail(key, "withdrawal bands need control areas (geometry.region or control)")
        parties = [w["party"]] if "party" in w else list(control)
        for p in parties:
            if p not in control:
                raise d.fail(f"{key}.party", f"no control area for party {p!r}")
            if km not in near:
                near[km] = geo.near_line(line, km, metric)
            geom = geo.band(line, control[p], km, metric, near[km])
            out.append(
                Zone(
                    f"band-{p}-{w['weapon_class']}",
                    "withdrawal_band",
                    p,
                    str(w["weapon_class"]),
                    km,
                    geom,
                )
            )
    return out


def _exclusions(d: _Doc) -> list[Zone]:
    out = []
    for i, e in enumerate(d.tables("exclusion"), start=1):
        key = f"exclusion[{i}]"
        d.table(e, key, {"id", "bars"}, {"center", "radius_km", "file"})
        bars = d.bars(e["bars"], f"{key}.bars")
        geom, radius = d.footprint(e, key)
        out.append(Zone(d.text(e["id"], f"{key}.id"), "exclusion", None, None, radius, geom, bars))
    return out


def _sectors(
    d: _Doc, line: BaseGeometry, region: BaseGeometry | None, metric: geo.Metric
) -> list[Zone]:
    if "sectors" not in d.doc:
        return []
    s = d.table(d.doc["sectors"], "sectors", set(), {"length_km", "half_width_km", "file"})
    if "file" in s:
        path = d.file.parent / d.text(s["file"], "sectors.file")
        feats = read_features(path, "sectors.file", _AREAS, d.limits)
        ids = [str(f.properties.get("id") or f"S{f.number:02d}") for f in feats]
        return [
            Zone(i, "sector", None, None, None, f.geometry) for i, f in zip(ids, feats, strict=True)
        ]
    if "length_km" not in s:
        raise d.fail("sectors", "give length_km (sectors cut along the line) or file")
    length = d.km(s["length_km"], "sectors.length_km")
    widest = max([float(w.get("band_km", 0)) for w in d.tables("withdrawal")] + [10.0])
    half = d.km(s.get("half_width_km", widest), "sectors.half_width_km")
    line_km = metric.fwd(line).length / 1000.0
    if line_km / length > d.limits.max_sectors:
        raise d.fail(
            "sectors.length_km",
            f"{length:g} km would cut the {line_km:.0f} km contact line into more than "
            f"{d.limits.max_sectors} sectors, the most accepted (max_sectors)",
        )
    cells = geo.sectors(line, length, half, region, metric)
    width = max(2, len(str(len(cells))))
    return [
        Zone(f"S{i:0{width}d}", "sector", None, None, None, c) for i, c in enumerate(cells, start=1)
    ]


def _rules(d: _Doc, zones: list[Zone], party_ids: set[str]) -> list[Rule]:
    ctx = RuleContext({z.id: z for z in zones}, party_ids)
    bands = {z.weapon_class for z in zones if z.kind == "withdrawal_band"}
    out: list[Rule] = []
    for i, r in enumerate(d.tables("rules"), start=1):
        key = f"rules[{i}]"
        d.table(r, key, {"id", "kind", "text"}, {"params"})
        rid = d.text(r["id"], f"{key}.id")
        key = f"rule {rid!r}"
        if rid in {x.id for x in out}:
            raise d.fail(key, "rule id used twice")
        try:
            params = validate_params(str(r["kind"]), r.get("params", {}), ctx)
        except LookupError as exc:
            field, reason = exc.args
            raise d.fail(f"{key} {field}", reason) from None
        if r["kind"] == "withdrawal_band":
            missing = [w for w in params["weapon_classes"] if w not in bands]
            if missing:
                raise d.fail(
                    f"{key} params.weapon_classes",
                    f"no [[withdrawal]] band for {', '.join(missing)}",
                )
        out.append(Rule(rid, str(r["kind"]), d.text(r["text"], f"{key}.text"), params))
    return out
