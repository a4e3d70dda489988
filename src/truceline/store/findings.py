"""Findings and their status changes: every query of the findings aggregate.

Plain functions over a ``Connection``; rows come back as plain dicts (the ``findings``
columns, ``evidence`` as stored JSON text), the service turns them into records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from truceline.domain.vocab import FindingStatus
from truceline.store.schema import finding_changes, findings, incidents

__all__ = [
    "changes_of",
    "evidence_incidents",
    "finding_by_id",
    "findings_by_key",
    "insert_change",
    "insert_findings",
    "open_in_span",
    "select_findings",
    "set_finding_status",
    "update_findings",
]

_CHUNK = 500


def findings_by_key(conn: Connection, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored findings with these keys, by key."""
    keys = list(keys)
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(keys), _CHUNK):
        q = select(findings).where(findings.c.key.in_(keys[i : i + _CHUNK]))
        out.update({m["key"]: dict(m) for m in conn.execute(q).mappings()})
    return out


def insert_findings(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(findings.insert(), list(rows))


def update_findings(conn: Connection, rows: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Overwrite findings ``(id, columns)``; the key never changes."""
    if rows:
        stmt = update(findings).where(findings.c.id == bindparam("fid"))
        conn.execute(
            stmt, [{**{k: v for k, v in r.items() if k != "key"}, "fid": fid} for fid, r in rows]
        )


def open_in_span(
    conn: Connection, agreement_id: str, kinds: Sequence[str], t0: int, t1: int
) -> list[tuple[int, str]]:
    """(id, key) of the open findings of ``kinds`` whose period lies inside [t0, t1)."""
    f = findings.c
    q = select(f.id, f.key).where(
        f.agreement_id == agreement_id,
        f.status == FindingStatus.OPEN, f.rule_kind.in_(sorted(kinds)),
        f.period_start >= t0, f.period_end <= t1,
    )  # fmt: skip
    return [(int(i), str(k)) for i, k in conn.execute(q)]


def insert_change(conn: Connection, row: dict[str, Any]) -> None:
    """One status change (finding_id, from_status, to_status, actor, at, reason, ledger_index)."""
    conn.execute(finding_changes.insert().values(**row))


def set_finding_status(conn: Connection, finding_id: int, status: str) -> None:
    conn.execute(update(findings).where(findings.c.id == finding_id).values(status=status))


def select_findings(
    conn: Connection,
    *,
    status: str | None = None,
    rule_id: str | None = None,
    party: str | None = None,
    t_from: int | None = None,
    t_to: int | None = None,
    limit: int | None = None,
    ids: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Findings, oldest period first, filtered as asked."""
    q = select(findings).order_by(findings.c.period_start, findings.c.id)
    for col, val in (
        (findings.c.status, status),
        (findings.c.rule_id, rule_id),
        (findings.c.party, party),
    ):
        if val is not None:
            q = q.where(col == val)
    if t_from is not None:
        q = q.where(findings.c.period_end > t_from)
    if t_to is not None:
        q = q.where(findings.c.period_start < t_to)
    if ids is not None:
        q = q.where(findings.c.id.in_(list(ids)))
    if limit is not None:
        q = q.limit(limit)
    return [dict(m) for m in conn.execute(q).mappings()]


def finding_by_id(conn: Connection, finding_id: int) -> dict[str, Any] | None:
    m = conn.execute(select(findings).where(findings.c.id == finding_id)).mappings().first()
    return None if m is None else dict(m)


def changes_of(conn: Connection, finding_id: int) -> list[dict[str, Any]]:
    """The status changes of a finding, oldest first."""
    q = select(finding_changes).where(finding_changes.c.finding_id == finding_id)
    return [dict(c) for c in conn.execute(q.order_by(finding_changes.c.id)).mappings()]


def evidence_incidents(conn: Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The incidents findings rest on (id, lon, lat, radius_m, status, kind, count)."""
    ids = sorted(set(ids))
    c = incidents.c
    cols = (c.id, c.lon, c.lat, c.radius_m, c.status, c.kind, c.count)
    out: list[dict[str, Any]] = []
    for k in range(0, len(ids), _CHUNK):
        q = select(*cols).where(c.id.in_(ids[k : k + _CHUNK]))
        out.extend(dict(m) for m in conn.execute(q).mappings())
    return out
