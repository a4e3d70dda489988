"""The agreement's zone rules as they bear on a notified volume: an activity the zone
bars (a flight over the buffer zone, an exercise inside an exclusion zone), and a
notification duty not met (a large exercise notified fewer days ahead than the duty
says). The service builds ``Restriction``/``NoticeDuty`` from the agreement in force;
this module only judges."""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry

from truceline.deconfliction.overlap import area_m2
from truceline.deconfliction.volumes import Volume

__all__ = ["ACTIVITY_BARS", "NoticeDuty", "Restriction", "ZoneBreach", "zone_breaches"]

#: which of a zone's bars (``fire``, ``flight``, ``military``) each activity falls under
ACTIVITY_BARS: dict[str, frozenset[str]] = {
    "flight": frozenset({"flight", "military"}),
    "exercise": frozenset({"military"}),
    "rotation": frozenset({"military"}),
    "convoy": frozenset({"military"}),
}


@dataclass(frozen=True, slots=True)
class Restriction:
    """A zone and what a rule of the agreement bars inside it."""

    rule_id: str
    zone_id: str
    geometry: BaseGeometry  # lon/lat
    bars: frozenset[str]


@dataclass(frozen=True, slots=True)
class NoticeDuty:
    """Activities of more than ``threshold`` personnel are notified ``days_ahead`` ahead."""

    rule_id: str
    activities: frozenset[str]
    threshold: int
    days_ahead: float
    parties: frozenset[str]  # empty: every party


@dataclass(frozen=True, slots=True)
class ZoneBreach:
    rule_id: str
    zone_id: str | None
    reason: str
    area_m2: float  # the part of the footprint inside the zone (0 for a duty)


def zone_breaches(
    vol: Volume,
    party: str,
    personnel: int | None,
    filed_at: int,
    restrictions: tuple[Restriction, ...],
    duties: tuple[NoticeDuty, ...],
) -> list[ZoneBreach]:
    """Every zone rule the volume would break."""
    out: list[ZoneBreach] = []
    falls_under = ACTIVITY_BARS.get(vol.activity, frozenset())
    for r in restrictions:
        barred = falls_under & r.bars
        if barred and vol.geometry.intersects(r.geometry):
            inside = area_m2(vol.geometry.intersection(r.geometry))
            what = ", ".join(sorted(barred))
            out.append(
                ZoneBreach(
                    r.rule_id, r.zone_id, f"{vol.activity} inside {r.zone_id} (bars {what})", inside
                )
            )
    for d in duties:
        if vol.activity not in d.activities or (d.parties and party not in d.parties):
            continue
        if personnel is None or personnel < d.threshold:
            continue
        ahead = (vol.t_start - filed_at) / 86400.0
        if ahead < d.days_ahead:
            out.append(
                ZoneBreach(
                    d.rule_id,
                    None,
                    f"{vol.activity} of {personnel} (threshold {d.threshold}) notified "
                    f"{ahead:.1f} days ahead; the duty is {d.days_ahead:g}",
                    0.0,
                )
            )
    return out
