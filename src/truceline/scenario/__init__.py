"""A built-in, deterministic ceasefire scenario along an agreement's contact line.

:func:`generate` plays a few weeks of a ceasefire on an agreement's geometry and
returns what the sources would have reported, as one table with the normalised
observation schema (:data:`~truceline.domain.observations.OBSERVATION_SCHEMA`):

- sources: observation posts with two cameras each (one independence group per
  post), acoustic arrays that report **bearings** only, monitor patrols (by day),
  UAV imagery analysis, each party's allegation channel, a wire agency whose
  stories two outlets repeat (one group for the three), an independent channel;
- a quiet period, then an **escalation episode** in one or two sectors: more fire,
  heavier weapons, mostly at night, rising and falling;
- **heavy weapons inside withdrawal bands** on every party's side, seen by patrols
  and UAVs; fire inside the buffer zone; party allegations that blame the other
  side, a few denials, a few claims with nothing behind them; coarse open sources.

Everything is drawn from a seeded :class:`numpy.random.Generator`: the same seed
gives the same table. ``attrs`` carries ``{"scenario_event": i}`` (the true event
behind a report; sightings are numbered -1, -2, ...) so fusion can be scored.
:func:`scenario_sources` lists the sources with their types, groups and grades.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from truceline.domain.errors import InputError
from truceline.scenario.claims import observe_open_sources, observe_parties
from truceline.scenario.coverage import CoverageSpec, denials_of, draw_outages, fields_of_view
from truceline.scenario.events import Episode, draw_episode, draw_fire, draw_sightings
from truceline.scenario.observe import to_table
from truceline.scenario.roster import SourceSpec, build_roster
from truceline.scenario.sensors import (
    observe_acoustic,
    observe_cameras,
    observe_patrols,
    observe_uav,
)
from truceline.scenario.theatre import build_theatre

__all__ = [
    "CoverageSpec",
    "DEFAULT_DAYS",
    "DEFAULT_SEED",
    "ScenarioInfo",
    "SourceSpec",
    "default_start",
    "describe",
    "generate",
    "play",
    "scenario_sources",
]

DEFAULT_SEED = 2015
DEFAULT_DAYS = 21


@dataclass(frozen=True, slots=True)
class ScenarioInfo:
    """The scenario's ground truth in brief: where and when the escalation was."""

    start: date
    days: int
    escalation_sectors: tuple[str, ...]
    escalation_start: datetime
    escalation_end: datetime
    n_fire_events: int
    n_band_sightings: int
    coverage: tuple[CoverageSpec, ...] = ()  # fields of view, outages, denials


def default_start(agreement: Any) -> date:
    """Two weeks after the agreement came into force."""
    return datetime.fromtimestamp(int(agreement.valid_from), UTC).date() + timedelta(days=14)


def _rngs(seed: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]


def _t0(start: date) -> int:
    return int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())


def _check(days: int) -> None:
    if days < 3:
        raise InputError(f"scenario: days must be at least 3, got {days}")


def scenario_sources(agreement: Any, seed: int = DEFAULT_SEED) -> list[SourceSpec]:
    """The sources the scenario uses, with type, independence group and reliability."""
    th = build_theatre(agreement)
    return list(build_roster(th, _rngs(seed)[0]).all())


def generate(
    agreement: Any,
    seed: int = DEFAULT_SEED,
    start: date | None = None,
    days: int = DEFAULT_DAYS,
) -> pa.Table:
    """The observations of ``days`` of the scenario from ``start`` on ``agreement``."""
    _check(days)
    return _play(agreement, seed, start, days)[0]


def describe(
    agreement: Any, seed: int = DEFAULT_SEED, start: date | None = None, days: int = DEFAULT_DAYS
) -> ScenarioInfo:
    """The ground truth of the scenario :func:`generate` plays with the same arguments."""
    _check(days)
    return _play(agreement, seed, start, days)[1]


def play(
    agreement: Any, seed: int = DEFAULT_SEED, start: date | None = None, days: int = DEFAULT_DAYS
) -> tuple[pa.Table, ScenarioInfo]:
    """Both :func:`generate`'s table and :func:`describe`'s ground truth, drawn once."""
    _check(days)
    return _play(agreement, seed, start, days)


def _play(
    agreement: Any, seed: int, start: date | None, days: int
) -> tuple[pa.Table, ScenarioInfo]:
    th = build_theatre(agreement)
    r_roster, r_truth, r_sense, r_claims, r_cover = _rngs(seed)
    ro = build_roster(th, r_roster)
    day0 = start or default_start(agreement)
    t0 = _t0(day0)
    ep: Episode = draw_episode(th, r_truth, days)
    fire = draw_fire(th, r_truth, t0, days, ep, ro.hotspots)
    seen = draw_sightings(th, r_truth, t0, days)
    outages = draw_outages(ro, r_cover, t0, days)
    down: dict[str, list[tuple[int, int]]] = {}
    for o in outages:
        down.setdefault(o.source_id, []).append((o.t_start, o.t_end))
    blocks = [
        *observe_cameras(th, r_sense, ro, fire, down),
        *observe_acoustic(th, r_sense, ro, fire),
        *observe_patrols(th, r_sense, ro, fire, seen, t0, days),
        *observe_uav(th, r_sense, ro, seen),
        *observe_parties(th, r_claims, ro, fire, t0, days),
        *observe_open_sources(th, r_claims, ro, fire),
    ]
    table = to_table(blocks)
    info = ScenarioInfo(
        start=day0,
        days=days,
        escalation_sectors=tuple(th.sectors[s][0] for s in ep.sectors),
        escalation_start=datetime.fromtimestamp(t0 + ep.start_h * 3600, UTC),
        escalation_end=datetime.fromtimestamp(t0 + ep.end_h * 3600, UTC),
        n_fire_events=len(fire),
        n_band_sightings=len(seen),
        coverage=(*fields_of_view(th, ro, t0, days), *outages, *denials_of(th, table)),
    )
    return table, info
