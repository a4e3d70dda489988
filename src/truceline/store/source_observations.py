"""The raw observations one source submitted, newest first (what its own user may read)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, select

from truceline.store.schema import observations

__all__ = ["RAW_COLUMNS", "count_source_observations", "source_observations"]

#: the columns of a raw submission as its sender may read it back
RAW_COLUMNS = (
    "id client_id t t_unc_s lon lat radius_m obs_lon obs_lat bearing_deg bearing_sd_deg "
    "range_min_m range_max_m kind weapon_class count credibility actor corrects description "
    "attrs received_at ledger_index"
).split()


def source_observations(
    conn: Connection, source_id: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Observations of ``source_id`` by the order they were stored, newest first."""
    o = observations.c
    q = (
        select(*(o[c] for c in RAW_COLUMNS))
        .where(o.source_id == source_id)
        .order_by(o.id.desc())
        .limit(limit)
        .offset(offset)
    )
    out = []
    for row in conn.execute(q).mappings():
        d = dict(row)
        d["attrs"] = json.loads(d["attrs"]) if d["attrs"] else None
        out.append(d)
    return out


def count_source_observations(conn: Connection, source_id: str) -> int:
    q = select(func.count()).select_from(observations).where(observations.c.source_id == source_id)
    return int(conn.execute(q).scalar_one())
