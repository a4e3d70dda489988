"""Ceasefire violations counted as monitoring missions count them.

A *violation* here is a fire incident (explosion, projectile, burst or shot) that
fusion kept, whatever its status except ``rejected``; its *rounds* are the fused
count of explosions, projectiles, bursts or shots it stands for (an incident of
ten mortar explosions is one violation and ten rounds). Counts are given per kind,
per reporting sector and per attributed party, each beside the previous period's
figure and the change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from truceline.domain.vocab import FIRE_KINDS

__all__ = ["DEFINITIONS", "Tally", "compare", "tally", "violations"]

#: violation kinds in the order reports list them
VIOLATION_KINDS = ("explosion", "projectile", "burst", "shot")

DEFINITIONS = {
    "violation": "a fire incident (explosion, projectile, burst or shot) not rejected",
    "rounds": "the explosions, projectiles, bursts or shots a violation stands for",
    "previous": "the same figure for the period just before",
}


@dataclass(frozen=True, slots=True)
class Tally:
    """Violations and rounds, overall and by kind, sector and party."""

    events: int
    rounds: int
    by_kind: dict[str, tuple[int, int]]
    by_sector: dict[str, tuple[int, int]]
    by_party: dict[str, tuple[int, int]]


def violations(incidents: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The incidents that count as ceasefire violations."""
    return [i for i in incidents if i["kind"] in FIRE_KINDS and i["status"] != "rejected"]


def _by(rows: list[Mapping[str, Any]], key: str, none: str) -> dict[str, tuple[int, int]]:
    events: Counter[str] = Counter()
    rounds: Counter[str] = Counter()
    for r in rows:
        k = r.get(key) or none
        events[k] += 1
        rounds[k] += int(r["count"])
    return {k: (events[k], rounds[k]) for k in sorted(events)}


def tally(incidents: Iterable[Mapping[str, Any]]) -> Tally:
    """Count the violations among ``incidents``."""
    v = violations(incidents)
    return Tally(
        events=len(v),
        rounds=sum(int(i["count"]) for i in v),
        by_kind=_by(v, "kind", "(none)"),
        by_sector=_by(v, "sector", "(none)"),
        by_party=_by(v, "actor", "(not attributed)"),
    )


def _row(key: str, now: tuple[int, int], before: tuple[int, int]) -> dict[str, Any]:
    return {
        "key": key,
        "events": now[0],
        "rounds": now[1],
        "previous_events": before[0],
        "previous_rounds": before[1],
        "change_events": now[0] - before[0],
        "change_rounds": now[1] - before[1],
    }


def _rows(
    now: dict[str, tuple[int, int]], before: dict[str, tuple[int, int]], order: Iterable[str] = ()
) -> list[dict[str, Any]]:
    keys = [k for k in order if k in now or k in before]
    keys += sorted((set(now) | set(before)) - set(keys))
    return [_row(k, now.get(k, (0, 0)), before.get(k, (0, 0))) for k in keys]


def compare(now: Tally, before: Tally) -> dict[str, Any]:
    """The period's violations beside the previous period's, with the change."""
    return {
        "total": _row("total", (now.events, now.rounds), (before.events, before.rounds)),
        "by_kind": _rows(now.by_kind, before.by_kind, VIOLATION_KINDS),
        "by_sector": _rows(now.by_sector, before.by_sector),
        "by_party": _rows(now.by_party, before.by_party),
        "definitions": DEFINITIONS,
    }
