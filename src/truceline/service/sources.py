"""The source registry: who reports, how they are graded, what they could observe."""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import Connection, select

from truceline.domain.vocab import SourceType
from truceline.ledger import log
from truceline.store.schema import source_grades, sources

__all__ = ["ensure_sources"]

#: reliability given to a source first seen in a file: "F", cannot be judged
UNGRADED = "F"


def ensure_sources(conn: Connection, found: Iterable[tuple[str, str | None]]) -> list[str]:
    """Register each ``(source_id, source_type)`` not yet known; returns the new ids.

    A source first seen in submitted data is graded ``F`` (cannot be judged) and is its
    own independence group until an analyst says otherwise.
    """
    wanted = dict(found)
    if not wanted:
        return []
    known = set(conn.execute(select(sources.c.id).where(sources.c.id.in_(list(wanted)))).scalars())
    new = sorted(set(wanted) - known)
    if not new:
        return []
    now = int(time.time())
    rows = [
        {
            "id": s,
            "type": wanted[s] or SourceType.OSINT.value,
            "name": s,
            "party": None,
            "independence_group": s,
            "signature_policy": "optional",
            "public_key": None,
            "created_at": now,
        }
        for s in new
    ]
    idx = log.append(
        conn,
        "source",
        [(str(r["id"]), {k: v for k, v in r.items() if v is not None}) for r in rows],
    )
    for r, i in zip(rows, idx, strict=True):
        r["ledger_index"] = i
    conn.execute(sources.insert(), rows)
    gidx = log.append(
        conn,
        "source_grade",
        [
            (
                s,
                {
                    "source_id": s,
                    "reliability": UNGRADED,
                    "valid_from": now,
                    "actor": "intake",
                    "reason": "first seen in submitted data",
                },
            )
            for s in new
        ],
    )
    conn.execute(
        source_grades.insert(),
        [
            {
                "source_id": s,
                "reliability": UNGRADED,
                "valid_from": now,
                "actor": "intake",
                "reason": "first seen in submitted data",
                "ledger_index": i,
            }
            for s, i in zip(new, gidx, strict=True)
        ],
    )
    return new
