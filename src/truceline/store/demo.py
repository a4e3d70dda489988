"""What the demo sums up: incidents by status and findings by rule."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from truceline.store.incidents import count_by_status
from truceline.store.schema import findings

__all__ = ["tallies"]


def tallies(conn: Connection) -> tuple[dict[str, int], dict[str, int]]:
    """Incidents not merged away by status, and findings by rule, each sorted by name."""
    st = count_by_status(conn)
    q = select(findings.c.rule_id, func.count()).group_by(findings.c.rule_id)
    fr = {str(r): int(n) for r, n in conn.execute(q)}
    return dict(sorted(st.items())), dict(sorted(fr.items()))
