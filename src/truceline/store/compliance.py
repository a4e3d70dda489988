"""The reads of a compliance check: incidents as columns, and what their observations say.

Plain functions over a ``Connection``, each one query read in bulk as Arrow columns
(no row objects): :func:`incident_columns` gives the unmerged, unrejected incidents
of a span, :func:`member_columns` the observations of a range of incidents: their
ledger index (a finding's evidence), whether their source is not a party, and their
``attrs`` where these mention a fact a rule reads (a foreign state, a role, the
direction or azimuth of fire, an inspection's counts). Only those ``attrs`` are sent
back: the test is a substring ``"key"`` in SQL, as at intake, where the JSON was
written with these ASCII keys unescaped.

Both reads walk tables in key order where they can: a span that holds every incident
is read without the time index (a scan is cheaper than a million index lookups), and
the observations are found by a range of incident ids, not by joining the incidents.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, and_, case, func, literal, or_, select

from truceline.domain.vocab import IncidentStatus, SourceType
from truceline.store.bulk import fetch_table
from truceline.store.schema import incident_observations, incidents, observations, sources

__all__ = ["FACT_KEYS", "incident_columns", "member_columns"]

#: the ``attrs`` keys whose values a rule reads
FACT_KEYS = ("state", "role", "fire", "fire_azimuth_deg", "inspected")


def incident_columns(
    conn: Connection, columns: Mapping[str, pa.DataType], t0: int, t1: int
) -> pa.Table:
    """The ``columns`` (name -> Arrow type, ``id`` among them) of the unmerged, unrejected
    incidents with ``t0 <= t < t1``, by id."""
    c = incidents.c
    q = select(*[c[name] for name in columns]).where(
        c.merged_into.is_(None), c.status != IncidentStatus.REJECTED
    )
    lo, hi = conn.execute(select(func.min(c.t), func.max(c.t))).one()
    if lo is not None and not (t0 <= lo and hi < t1):
        q = q.where(c.t >= t0, c.t < t1)
    table = fetch_table(conn, q, list(columns.values()))
    ids = pc.cast(table.column("id"), pa.int64())
    in_order = len(ids) < 2 or pc.all(pc.greater(ids[1:], ids[:-1])).as_py()
    return table if in_order else table.sort_by("id")  # a table scan gives them in order


def member_columns(conn: Connection, first_id: int, last_id: int) -> pa.Table:
    """The observations of the incidents with ids from ``first_id`` to ``last_id``, in
    no order: ``incident_id``, ``ledger_index``, ``nonparty`` (1 when the source is
    neither a party nor a party's channel), and ``observation_id`` and ``attrs`` only
    where the ``attrs`` mention one of :data:`FACT_KEYS` (else null: nothing to send)."""
    o, io = observations, incident_observations
    party = select(sources.c.id).where(
        or_(sources.c.type == SourceType.PARTY, sources.c.party.is_not(None))
    )
    party_ids = sorted(str(s) for s in conn.execute(party).scalars())
    mentions = or_(*[o.c.attrs.contains(f'"{k}"', autoescape=True) for k in FACT_KEYS])
    said = and_(o.c.attrs.is_not(None), mentions)  # most have none: no substring tests
    q = (
        select(
            io.c.incident_id,
            o.c.ledger_index,
            case((o.c.source_id.in_(party_ids), literal(0)), else_=literal(1)).label("nonparty"),
            case((said, io.c.observation_id), else_=None).label("observation_id"),
            case((said, o.c.attrs), else_=None).label("attrs"),
        )
        .select_from(io)
        .join(o, o.c.id == io.c.observation_id)
        .where(io.c.incident_id.between(first_id, last_id))
    )
    return fetch_table(conn, q, [pa.int64(), pa.int64(), pa.int64(), pa.int64(), pa.string()])
