"""What the scenario's sources could and could not see: fields of view of the fixed
posts (observed), cameras out of service for a day or more (outage), and patrols
turned back at a checkpoint (denied). The camera outages are drawn before the
cameras observe, so a camera that is down reports nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from shapely.geometry.base import BaseGeometry

from truceline.scenario.roster import Roster
from truceline.scenario.theatre import Theatre

__all__ = ["CoverageSpec", "denials_of", "draw_outages", "fields_of_view"]

#: how far a post's camera and an acoustic array are sure to see or hear an explosion
#: or a launch (metres): what they declare as observed; they report some beyond it
CAMERA_RANGE_M = 4_000.0
ACOUSTIC_RANGE_M = 8_000.0
#: a patrol turned back cannot see this far around the checkpoint for the rest of its day
DENIED_RADIUS_M = 10_000.0


@dataclass(frozen=True, slots=True)
class CoverageSpec:
    """One coverage declaration (``truceline.service.coverage.add_coverage``'s arguments)."""

    source_id: str
    kind: str  # observed | outage | denied
    t_start: int
    t_end: int
    geometry: BaseGeometry | None  # lon/lat
    note: str


def draw_outages(ro: Roster, rng: np.random.Generator, t0: int, days: int) -> list[CoverageSpec]:
    """Two cameras go dark, each for one to three days."""
    k = min(2, len(ro.cameras))
    pick = rng.choice(len(ro.cameras), size=k, replace=False)
    out = []
    for i in pick:
        start = t0 + int(rng.integers(0, max(1, days - 1))) * 86400 + int(rng.integers(0, 86400))
        end = min(t0 + days * 86400, start + int(rng.integers(1, 4)) * 86400)
        cam = ro.cameras[int(i)]
        out.append(CoverageSpec(cam.id, "outage", start, end, None, "camera out of service"))
    return sorted(out, key=lambda c: (c.t_start, c.source_id))


def _circle(th: Theatre, x: float, y: float, r: float) -> BaseGeometry:
    def to_ll(xy: Any) -> Any:
        lon, lat = th.to_lonlat(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(shapely.Point(x, y).buffer(r, quad_segs=16), to_ll)


def fields_of_view(th: Theatre, ro: Roster, t0: int, days: int) -> list[CoverageSpec]:
    """Each fixed post watches a disc around it for the whole run."""
    t1 = t0 + days * 86400
    specs = [
        CoverageSpec(
            s.id, "observed", t0, t1, _circle(th, s.x, s.y, CAMERA_RANGE_M), "camera field of view"
        )
        for s in ro.cameras
    ]
    specs += [
        CoverageSpec(
            s.id, "observed", t0, t1, _circle(th, s.x, s.y, ACOUSTIC_RANGE_M), "acoustic range"
        )
        for s in ro.acoustic
    ]
    return specs


def denials_of(th: Theatre, table: pa.Table) -> list[CoverageSpec]:
    """A patrol stopped at a checkpoint could not see around it until 14:00 UTC."""
    rows = table.filter(pc.equal(table["kind"], "restriction")).to_pylist()
    fwd = th.from_lonlat
    out = []
    for r in rows:
        x, y = fwd(np.array([r["lon"]]), np.array([r["lat"]]))
        end = int(r["t"]) - int(r["t"]) % 86400 + 14 * 3600
        out.append(
            CoverageSpec(
                r["source_id"],
                "denied",
                int(r["t"]),
                max(end, int(r["t"]) + 3600),
                _circle(th, float(x[0]), float(y[0]), DENIED_RADIUS_M),
                "patrol denied passage at a checkpoint",
            )
        )
    return out
