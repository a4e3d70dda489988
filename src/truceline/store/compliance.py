"""The reads of a compliance check: incidents as columns, and what their observations say.

Plain functions over a ``Connection``, each read in bulk as columns (no row objects
where the database can avoid them): :func:`incident_columns` gives the unmerged,
unrejected incidents of a span, :func:`member_columns` the observations of a range
of incidents with their ledger index (a finding's evidence), :func:`party_members`
those of them whose source is a party; :func:`said_columns` those whose ``attrs``
mention a fact a rule reads (a foreign state, a role, the direction or azimuth of
fire, an inspection's counts), with those ``attrs``: the test is a substring
``"key"`` in SQL, as at intake, where the JSON was written with these ASCII keys
unescaped.

Columns come back as one string per column, floats exactly
(:mod:`truceline.store.column_reads`).

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
from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from truceline.domain.vocab import IncidentStatus, SourceType
from truceline.store.bulk import fetch_table
from truceline.store.column_reads import read_columns
from truceline.store.schema import incident_observations, incidents, observations, sources

__all__ = ["FACT_KEYS", "incident_columns", "member_columns", "party_members", "said_columns"]

#: the ``attrs`` keys whose values a rule reads
FACT_KEYS = ("state", "role", "fire", "fire_azimuth_deg", "inspected")


def incident_columns(
    conn: Connection, columns: Mapping[str, pa.DataType], t0: int, t1: int
) -> pa.Table:
    """The ``columns`` (name -> Arrow type, ``id`` among them) of the unmerged, unrejected
    incidents with ``t0 <= t < t1``, by id."""
    c = incidents.c
    where = [c.merged_into.is_(None), c.status != IncidentStatus.REJECTED]
    lo, hi = _ends(conn, c.t)
    if lo is not None and not (t0 <= lo and hi < t1):
        where += [c.t >= t0, c.t < t1]
    q = select(*[c[n] for n in columns]).where(*where)
    got = read_columns(conn, q, list(columns.values()), key="id")
    order = _order(np.asarray(got["id"], dtype=np.int64))
    if order is not None:
        got = {n: col.take(pa.array(order)) for n, col in got.items()}
    return pa.table(got)


def _ends(conn: Connection, col: ColumnElement[Any]) -> tuple[Any, Any]:
    """The least and greatest of an indexed column, each from its index (SQLite reads a
    single ``min`` or ``max`` from the index, but scans it for both in one query)."""
    lo = select(func.min(col)).scalar_subquery()
    hi = select(func.max(col)).scalar_subquery()
    lo_hi = conn.execute(select(lo, hi)).one()
    return lo_hi[0], lo_hi[1]


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


def _members_of(conn: Connection, first_id: int, last_id: int) -> list[ColumnElement[bool]]:
    """The condition on memberships of the incidents ``first_id`` to ``last_id``: none
    when they are all there is (a planner without statistics, after a day's bulk load,
    takes a range for a few rows and then joins a million by index)."""
    lo, hi = _ends(conn, incident_observations.c.incident_id)
    if lo is None or (first_id <= lo and hi <= last_id):
        return []
    return [incident_observations.c.incident_id.between(first_id, last_id)]


def member_columns(conn: Connection, first_id: int, last_id: int) -> dict[str, pa.Array]:
    """The observations of the incidents with ids from ``first_id`` to ``last_id``, in
    no order: ``incident_id`` and ``ledger_index``."""
    o, io = observations, incident_observations
    q = (
        select(io.c.incident_id, o.c.ledger_index)
        .select_from(io)
        .join(o, o.c.id == io.c.observation_id)
        .where(*_members_of(conn, first_id, last_id))
    )
    return read_columns(conn, q, [pa.int64(), pa.int64()])


def party_members(conn: Connection, first_id: int, last_id: int) -> pa.Array:
    """The incident of each observation from a party or a party's channel among the
    observations of the incidents with ids from ``first_id`` to ``last_id``, in no order
    (found through the source index: parties send few of a day's observations)."""
    o, io = observations, incident_observations
    q = (
        select(io.c.incident_id)
        .select_from(o)
        .join(io, io.c.observation_id == o.c.id)
        .where(o.c.source_id.in_(_party_ids(conn)), *_members_of(conn, first_id, last_id))
    )
    return read_columns(conn, q, [pa.int64()])["incident_id"]


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
            *_members_of(conn, first_id, last_id),
        )
    )
    return fetch_table(conn, q, [pa.int64(), pa.int64(), pa.string()])
