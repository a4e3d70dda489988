"""The reads of a compliance check: incidents as columns, and what their observations say.

Plain functions over a ``Connection``, each read in bulk as columns (no row objects
where the database can avoid them): :func:`incident_columns` gives the unmerged,
unrejected incidents of a span, :func:`member_columns` the observations of a range
of incidents: their ledger index (a finding's evidence) and whether their source is
not a party; :func:`said_columns` those whose ``attrs`` mention a fact a rule reads
(a foreign state, a role, the direction or azimuth of fire, an inspection's counts),
with those ``attrs``: the test is a substring ``"key"`` in SQL, as at intake, where
the JSON was written with these ASCII keys unescaped.

Integer and text columns come back as one string per column
(:mod:`truceline.store.column_reads`); floats come back value by value, exactly,
into a record array.

The reads walk tables in key order where they can: a span that holds every incident
is read without the time index (a scan is cheaper than a million index lookups), and
the observations are found by a range of incident ids, not by joining the incidents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, or_, select

from truceline.domain.errors import StoreError
from truceline.domain.vocab import IncidentStatus, SourceType
from truceline.store.bulk import fetch_table
from truceline.store.column_reads import fetch_records, fetch_text_columns
from truceline.store.schema import incident_observations, incidents, observations, sources

__all__ = ["FACT_KEYS", "incident_columns", "member_columns", "said_columns"]

#: the ``attrs`` keys whose values a rule reads
FACT_KEYS = ("state", "role", "fire", "fire_azimuth_deg", "inspected")


def incident_columns(
    conn: Connection, columns: Mapping[str, pa.DataType], t0: int, t1: int
) -> pa.Table:
    """The ``columns`` (name -> Arrow type, ``id`` among them) of the unmerged, unrejected
    incidents with ``t0 <= t < t1``, by id."""
    c = incidents.c
    where = [c.merged_into.is_(None), c.status != IncidentStatus.REJECTED]
    lo, hi = conn.execute(select(func.min(c.t), func.max(c.t))).one()
    if lo is not None and not (t0 <= lo and hi < t1):
        where += [c.t >= t0, c.t < t1]
    floats = [n for n, t in columns.items() if pa.types.is_floating(t)]
    nullable = [n for n in floats if c[n].nullable]
    texts = [n for n in columns if n not in floats]
    q = select(*[c[n] for n in texts], *[_is_null(c[n]).label(f"{n} null") for n in nullable])
    types = [columns[n] for n in texts] + [pa.int64()] * len(nullable)
    got = fetch_text_columns(conn, q.where(*where), types)
    ids = np.asarray(got["id"], dtype=np.int64)
    order = _order(ids)
    if order is not None:
        got = {n: col.take(pa.array(order)) for n, col in got.items()}
        ids = ids[order]
    dtype = np.dtype([("id", np.int64), *[(n, np.float64) for n in floats]])
    q = select(c.id, *[func.coalesce(c[n], 0.0) if n in nullable else c[n] for n in floats])
    exact = fetch_records(conn, q.where(*where), dtype)
    by_id = _order(exact["id"])
    if by_id is not None:
        exact = exact[by_id]
    if not np.array_equal(exact["id"], ids):
        raise StoreError("the incidents changed while a check read them")
    for n in floats:
        null = np.asarray(got[f"{n} null"], dtype=bool) if n in nullable else None
        got[n] = pa.array(exact[n], columns[n], mask=null)
    return pa.table({n: got[n] for n in columns})


def _is_null(col: ColumnElement[Any]) -> ColumnElement[int]:
    return case((col.is_(None), literal(1)), else_=literal(0))


def _order(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.intp] | None:
    """The permutation that sorts ``ids``, None if they are (a table scan in key order)."""
    if len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1])):
        return None
    return np.argsort(ids, kind="stable")


def _party_ids(conn: Connection) -> list[str]:
    party = select(sources.c.id).where(
        or_(sources.c.type == SourceType.PARTY, sources.c.party.is_not(None))
    )
    return sorted(str(s) for s in conn.execute(party).scalars())


def member_columns(conn: Connection, first_id: int, last_id: int) -> dict[str, pa.Array]:
    """The observations of the incidents with ids from ``first_id`` to ``last_id``, in
    no order: ``incident_id``, ``ledger_index`` and ``nonparty`` (1 when the source is
    neither a party nor a party's channel)."""
    o, io = observations, incident_observations
    q = (
        select(
            io.c.incident_id,
            o.c.ledger_index,
            case((o.c.source_id.in_(_party_ids(conn)), literal(0)), else_=literal(1)).label(
                "nonparty"
            ),
        )
        .select_from(io)
        .join(o, o.c.id == io.c.observation_id)
        .where(io.c.incident_id.between(first_id, last_id))
    )
    return fetch_text_columns(conn, q, [pa.int64(), pa.int64(), pa.int64()])


def said_columns(conn: Connection, first_id: int, last_id: int) -> pa.Table:
    """The observations of the incidents with ids from ``first_id`` to ``last_id`` whose
    ``attrs`` mention one of :data:`FACT_KEYS`, in no order: ``incident_id``,
    ``observation_id`` and ``attrs``."""
    o, io = observations, incident_observations
    mentions = or_(*[o.c.attrs.contains(f'"{k}"', autoescape=True) for k in FACT_KEYS])
    q = (
        select(io.c.incident_id, io.c.observation_id, o.c.attrs)
        .select_from(o)
        .join(io, io.c.observation_id == o.c.id)
        .where(
            and_(o.c.attrs.is_not(None), mentions),  # most have none: no substring tests
            io.c.incident_id.between(first_id, last_id),
        )
    )
    return fetch_table(conn, q, [pa.int64(), pa.int64(), pa.string()])
