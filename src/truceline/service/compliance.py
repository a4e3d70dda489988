"""``check``: judge incidents and declarations under the agreement version in force.

For each agreement version, the incidents of its time span are read once as
columns, classified against its zones in one call, and every rule runs on
those arrays; the periods of declaration terms are judged under the version
in force at the start of the period. Findings are then merged into the store
(see ``compliance.findings`` for idempotency) in one transaction.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import shapely

from truceline.compliance.agreement.model import Agreement
from truceline.compliance.members import Members, member_facts
from truceline.compliance.rules import (
    Context,
    Declaration,
    Finding,
    Incidents,
    Notifications,
    evaluate,
)
from truceline.compliance.rules.base import INCIDENT_COLUMNS
from truceline.compliance.rules.registry import INCIDENT_RULE_KINDS
from truceline.compliance.zoneview import zone_view
from truceline.domain.errors import InputError
from truceline.service.agreements import agreement_versions
from truceline.service.declarations import load_declarations
from truceline.service.findings import retire_stale, store_findings, supersede_answered
from truceline.service.workspace import Workspace
from truceline.store.compliance import (
    incident_columns,
    member_columns,
    party_members,
    said_columns,
)
from truceline.store.db import Connection, store_errors
from truceline.store.notifications import list_notifications

__all__ = [
    "CheckResult",
    "agreement_versions",
    "check",
    "judge",
    "load_incidents",
    "notifications",
]

_END = 2**62


@dataclass
class CheckResult:
    new: list[Finding] = field(default_factory=list)
    updated: list[Finding] = field(default_factory=list)
    unchanged: int = 0
    retired: list[int] = field(default_factory=list)  # finding ids dismissed as stale
    incidents: int = 0
    versions: int = 0
    timings: dict[str, float] = field(default_factory=dict)  # seconds: read, rules, store
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of the same

    def by_rule(self) -> list[tuple[str, str, int, int]]:
        """(rule id, kind, new, updated) per rule, in rule order."""
        kinds = {f.rule_id: f.rule_kind for f in [*self.new, *self.updated]}
        new = Counter(f.rule_id for f in self.new)
        upd = Counter(f.rule_id for f in self.updated)
        return [(r, kinds[r], new[r], upd[r]) for r in sorted(kinds)]


_FACTS = ("state", "role", "nonparty", "direction", "inspected")


def load_incidents(conn: Connection, t0: int, t1: int) -> tuple[Incidents, Members]:
    """Unmerged incidents with ``t0 <= t < t1`` as columns, with what their observations
    add (a foreign state and role, the direction of fire, the non-party observations, an
    inspection's counts), and their observations' ledger leaves."""
    cols = {c: t for c, t in INCIDENT_COLUMNS.items() if c not in _FACTS}
    table = incident_columns(conn, cols, t0, t1)
    ids = np.asarray(table.column("id"), dtype=np.int64)
    first, last = (int(ids[0]), int(ids[-1])) if len(ids) else (0, -1)  # none: an empty range
    obs = member_columns(conn, first, last)
    member = np.asarray(obs["incident_id"], dtype=np.int64)
    party = np.asarray(party_members(conn, first, last), dtype=np.int64)
    facts = member_facts(ids, member, party, said_columns(conn, first, last))
    for name, col in facts.items():
        table = table.append_column(name, col)
    return Incidents(table), Members(member, obs["ledger_index"])


def notifications(conn: Connection) -> Notifications:
    """The active notifications of the deconfliction register (cancelled ones cover
    nothing; an amended one keeps the time of its first filing)."""
    rows = list_notifications(conn, status="active")
    return Notifications(
        party=tuple(n.party for n in rows),
        activity=tuple(n.activity for n in rows),
        t_start=tuple(n.t_start for n in rows),
        t_end=tuple(n.t_end for n in rows),
        filed_at=tuple(n.filed_at for n in rows),
        footprint=tuple(shapely.from_geojson([n.footprint for n in rows]).tolist()),
    )


def judge(
    a: Agreement,
    inc: Incidents,
    decls: list[Declaration],
    notes: Notifications,
    t0: int,
    t1: int,
    now: int | None = None,
) -> list[Finding]:
    """Pure: every rule of version ``a`` over incidents and declarations of [t0, t1);
    declaration duties fall due up to ``now`` (default ``t1``)."""
    view = zone_view(a, inc.lon, inc.lat)
    return evaluate(Context(a, inc, view, tuple(decls), notes, t0, t1, now))


def _with_leaves(found: list[Finding], members: Members) -> list[Finding]:
    """Add the ledger indices of each finding's incidents' observations to its evidence."""
    return [f if not f.incidents else replace(f, ledger=_leaves(f, members)) for f in found]


def _leaves(f: Finding, members: Members) -> tuple[int, ...]:
    leaves = members.leaf_array(f.incidents)  # sorted, once each
    if f.ledger:
        leaves = np.union1d(leaves, np.asarray(f.ledger, dtype=np.int64))
    return tuple(leaves.tolist())


def check(
    ws: Workspace, t_from: int | None = None, t_to: int | None = None, now: int | None = None
) -> CheckResult:
    """Check everything in [t_from, t_to) (default: all, up to now) and store the findings."""
    if t_from is not None and t_to is not None and t_to <= t_from:
        iso = [datetime.fromtimestamp(t, UTC).isoformat() for t in (t_to, t_from)]
        raise InputError(f"--to {iso[0]} must be after --from {iso[1]}")
    now = int(time.time()) if now is None else now
    end = min(now, t_to if t_to is not None else _END)
    start = 0 if t_from is None else t_from
    result = CheckResult()
    clock = _Clock()
    with store_errors("checking compliance"), ws.engine.begin() as conn:
        versions = agreement_versions(conn)
        decls = load_declarations(conn)
        notes = notifications(conn)
        found: list[Finding] = []
        spans: list[tuple[str, int, int, int]] = []
        for a in versions:
            t0 = max(start, int(a.valid_from))
            t1 = min(end, _END if a.valid_to is None else int(a.valid_to))
            if t0 >= t1:
                continue
            inc, members = load_incidents(conn, t0, t1)
            clock.lap("read")
            result.incidents += len(inc)
            result.versions += 1
            spans.append((str(a.id), int(a.version), t0, t1))
            found.extend(_with_leaves(judge(a, inc, decls, notes, t0, t1, end), members))
            clock.lap("rules")
        merged = store_findings(conn, found, now)
        result.retired = retire_stale(conn, spans, INCIDENT_RULE_KINDS, {f.key for f in found}, now)
        result.retired += supersede_answered(conn, _answered(versions, decls), now)
        clock.lap("store")
    result.timings, result.cpu = clock.wall, clock.cpu
    by_key = {f.key: f for f in found}
    result.new = [by_key[r["key"]] for r in merged.new]
    result.updated = [by_key[r["key"]] for _, r in merged.changed]
    result.unchanged = merged.unchanged
    return result


class _Clock:
    """Wall and CPU seconds spent per phase, each lap ending where the last one did."""

    def __init__(self) -> None:
        self.wall = {"read": 0.0, "rules": 0.0, "store": 0.0}
        self.cpu = dict(self.wall)
        self._at = (time.perf_counter(), time.process_time())

    def lap(self, phase: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.wall[phase] += now[0] - self._at[0]
        self.cpu[phase] += now[1] - self._at[1]
        self._at = now


def _answered(versions: Sequence[Agreement], decls: Sequence[Declaration]) -> set[str]:
    """Keys of the "did not declare" findings that the declarations on record answer."""
    from truceline.compliance.rules.base import finding_key
    from truceline.compliance.rules.declared import answered_missing

    return {
        finding_key(str(a.id), str(r.id), anchor)
        for a in versions
        for r in a.rules_of("declaration_duty")
        for anchor in answered_missing(r, decls)
    }
