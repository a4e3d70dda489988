"""Agreements as the faces show them: a plain-data view of a stored agreement, the
check of an agreement file, the build from a control map, and whether any
agreement is loaded. The faces call these instead of reaching into
``compliance.agreement``."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from truceline.service.workspace import Workspace

__all__ = [
    "AgreementCheck",
    "BuiltAgreement",
    "agreement_view",
    "build_agreement",
    "has_agreement",
    "validate_agreement_file",
]


def has_agreement(ws: Workspace) -> bool:
    """True when the workspace holds at least one agreement version."""
    from truceline.service.agreements import agreement_versions
    from truceline.store.db import store_errors

    with store_errors("reading agreements"), ws.engine.connect() as conn:
        return bool(agreement_versions(conn))


def _iso(t: int | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")  # fmt: skip


def agreement_view(ws: Workspace, agreement_id: str | None = None) -> dict[str, Any]:
    """The agreement (as ``find_agreement`` picks it) as plain data: parties, zones
    with their areas and lengths in km (measured in a projection around the contact
    line), rules with their full text and parameters."""
    from truceline.compliance.agreement.geometry import Metric
    from truceline.service.agreements import find_agreement

    a = find_agreement(ws, agreement_id)
    metric = Metric.around(a.contact_line if not a.contact_line.is_empty else a.zones[0].geometry)
    zones = []
    for z in a.zones:
        g = metric.fwd(z.geometry)
        zones.append({
            "id": z.id, "kind": z.kind, "party": z.party, "weapon_class": z.weapon_class,
            "band_km": z.band_km, "bars": sorted(z.bars),
            "area_km2": round(g.area / 1e6, 3) if g.area else None,
            "length_km": round(g.length / 1000, 3) if g.geom_type.endswith("LineString")
            else None,
        })  # fmt: skip
    return {
        "id": a.id,
        "version": a.version,
        "title": a.title,
        "valid_from": _iso(a.valid_from),
        "valid_to": _iso(a.valid_to),
        "parties": [{"id": p.id, "name": p.name} for p in a.parties],
        "zones": zones,
        "rules": [
            {"id": r.id, "kind": r.kind, "params": r.params, "text": r.text} for r in a.rules
        ],  # fmt: skip
    }


@dataclass(frozen=True, slots=True)
class AgreementCheck:
    id: str
    version: int
    parties: int
    zones_by_kind: dict[str, int]
    rules: int


def validate_agreement_file(path: Path) -> AgreementCheck:
    """Read and compile an agreement file without storing it (errors name file, key,
    reason)."""
    from truceline.compliance.agreement import load_agreement_file

    a = load_agreement_file(path)
    kinds = Counter(z.kind for z in a.zones)
    return AgreementCheck(a.id, a.version, len(a.parties), dict(kinds), len(a.rules))


@dataclass(frozen=True, slots=True)
class BuiltAgreement:
    path: Path
    control_date: str
    line_km: float
    pieces: int
    held_km2: float
    zones: int


def build_agreement(
    control: Path,
    day: dt.date,
    out: Path,
    country: Path | None = None,
    template: Path | None = None,
    tolerance_km: float = 3.0,
) -> BuiltAgreement:
    """Write an agreement directory to ``out`` derived from a territorial-control map."""
    from truceline.compliance.agreement.build import build_from_control

    b = build_from_control(control, day, out, country, template, tolerance_km)
    return BuiltAgreement(
        b.path, b.control_date, b.line_km, b.pieces, b.held_km2, len(b.agreement.zones)
    )
