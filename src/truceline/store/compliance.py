"""The reads of a compliance check: incidents as columns, and what their observations say.

Plain functions over a ``Connection``: :func:`incident_rows` gives the unmerged,
unrejected incidents of a span, :func:`observation_facts` what each incident's
observations add (a foreign state, a role, the direction of fire, how many came
from sources other than the parties, what an inspection counted), :func:`ledger_leaves`
the ledger indices of each incident's observations (a finding's evidence).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from truceline.domain.vocab import IncidentStatus, SourceType
from truceline.store.schema import incident_observations, incidents, observations, sources

__all__ = ["ObservationFacts", "incident_rows", "ledger_leaves", "observation_facts"]

_CHUNK = 500


def incident_rows(conn: Connection, columns: Sequence[str], t0: int, t1: int) -> list[Any]:
    """Rows (tuples of ``columns``) of the incidents with ``t0 <= t < t1``, by id."""
    q = select(*[incidents.c[c] for c in columns]).where(
        incidents.c.t >= t0,
        incidents.c.t < t1,
        incidents.c.merged_into.is_(None),
        incidents.c.status != IncidentStatus.REJECTED,
    )
    return list(conn.execute(q.order_by(incidents.c.id)).all())


@dataclass
class ObservationFacts:
    """What the observations of one incident say beyond the fused columns."""

    state: str | None = None
    role: str | None = None
    nonparty: int = 0
    fire: Counter[str] = field(default_factory=Counter)
    azimuths: list[float] = field(default_factory=list)
    inspected: dict[str, int] = field(default_factory=dict)  # per weapon class, the most counted

    def inspected_json(self) -> str | None:
        """An inspection's counts per weapon class as JSON (None if no inspection)."""
        return json.dumps(self.inspected, sort_keys=True) if self.inspected else None

    def direction(self) -> str | None:
        """``outgoing``, ``incoming`` (most reported first), with the mean azimuth of fire."""
        words = [w for w, _ in self.fire.most_common()]
        if self.azimuths:
            words.append(f"azimuth {sum(self.azimuths) / len(self.azimuths):.0f} deg")
        return ", ".join(words) or None


def observation_facts(conn: Connection, incident_ids: Sequence[int]) -> dict[int, ObservationFacts]:
    """Per incident: the facts its observations state (``attrs``) and their sources' kind."""
    out: dict[int, ObservationFacts] = {}
    ids = list(incident_ids)
    o = observations
    for i in range(0, len(ids), _CHUNK):
        q = (
            select(incident_observations.c.incident_id, o.c.attrs, sources.c.type, sources.c.party)
            .join(o, o.c.id == incident_observations.c.observation_id)
            .join(sources, sources.c.id == o.c.source_id)
            .where(incident_observations.c.incident_id.in_(ids[i : i + _CHUNK]))
        )
        for iid, attrs, stype, sparty in conn.execute(q):
            facts = out.setdefault(int(iid), ObservationFacts())
            if stype != SourceType.PARTY and sparty is None:
                facts.nonparty += 1
            _read_attrs(facts, attrs)
    return out


def _read_attrs(facts: ObservationFacts, attrs: str | None) -> None:
    try:
        doc = json.loads(attrs) if attrs else {}
    except ValueError:
        return
    if not isinstance(doc, dict):
        return
    if doc.get("state") and facts.state is None:
        facts.state = str(doc["state"])
    if doc.get("role") and facts.role is None:
        facts.role = str(doc["role"])
    if doc.get("fire") in ("outgoing", "incoming"):
        facts.fire[str(doc["fire"])] += 1
    counted = doc.get("inspected")
    if isinstance(counted, dict):  # checked at intake: weapon class -> whole number
        for cls, n in counted.items():
            if isinstance(n, int) and not isinstance(n, bool):
                facts.inspected[str(cls)] = max(n, facts.inspected.get(str(cls), n))
    az = doc.get("fire_azimuth_deg")
    if isinstance(az, int | float) and not isinstance(az, bool) and 0 <= az <= 360:
        facts.azimuths.append(float(az))


def ledger_leaves(conn: Connection, incident_ids: Sequence[int]) -> dict[int, set[int]]:
    """Per incident, the ledger indices of its observations."""
    ids = sorted(set(incident_ids))
    leaves: dict[int, set[int]] = {}
    for k in range(0, len(ids), _CHUNK):
        q = (
            select(incident_observations.c.incident_id, observations.c.ledger_index)
            .join(observations, observations.c.id == incident_observations.c.observation_id)
            .where(incident_observations.c.incident_id.in_(ids[k : k + _CHUNK]))
        )
        for iid, leaf in conn.execute(q):
            if leaf is not None:
                leaves.setdefault(int(iid), set()).add(int(leaf))
    return leaves
