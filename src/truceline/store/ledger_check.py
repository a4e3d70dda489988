"""What ``verify-store`` reads from the ledger's tables and every ledgered table, streamed.

The check itself is pure (``truceline.ledger.storecheck``); this is its port onto a
database connection.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select

from truceline.ledger.backing import SUPERSEDED_BY
from truceline.ledger.note import Verifier
from truceline.ledger.storecheck import HeadRow
from truceline.ledger.storerows import LedgeredRow
from truceline.store.ledger import as_bytes, cosignature_lines, entries, heads, keys, tiles
from truceline.store.schema import (
    incident_observations,
    incidents,
    ledger_entries,
    metadata,
    notification_answers,
)

__all__ = ["LedgerView"]


class LedgerView:
    """The reads of ``ledger.storecheck.verify_store`` on one connection (streamed)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def entries(self) -> Iterator[tuple[int, str, str, bytes, bytes, int]]:
        return entries(self.conn)

    def cosignatures(self, head_id: int) -> list[tuple[str, str]]:
        return cosignature_lines(self.conn, head_id)

    def tiles(self) -> Iterator[tuple[int, int, bytes]]:
        return tiles(self.conn)

    def verifiers(self) -> dict[str, Verifier]:
        return {k.key_id: Verifier(k.name, 0x01, k.public_key) for k in keys(self.conn)}

    def heads(self) -> list[HeadRow]:
        return [
            HeadRow(h.id, h.size, h.root_hash, h.issued_at, h.key_id, h.checkpoint)
            for h in heads(self.conn)
        ]

    def tables(self) -> list[str]:
        return [t.name for t in metadata.sorted_tables if "ledger_index" in t.c]

    def rows(
        self, table: str, start: int | None = None, end: int | None = None
    ) -> Iterator[LedgeredRow]:
        """Every row of ``table`` with the entry it points to (or the rows pointing to
        entries [start, end))."""
        t, e = metadata.tables[table], ledger_entries.c
        pk = list(t.primary_key.columns)[0].name
        q = select(t, e.data.label("_data"), e.kind.label("_kind"), e.ref.label("_ref"))
        q = q.outerjoin(ledger_entries, e.idx == t.c.ledger_index)
        if start is not None:
            q = q.where(t.c.ledger_index >= start)
        if end is not None:
            q = q.where(t.c.ledger_index < end)
        names = [c.name for c in t.c if c.name != "ledger_index"]
        for row in self.conn.execute(q.execution_options(yield_per=20_000)):
            m = row._mapping
            li, data = m["ledger_index"], m["_data"]
            yield LedgeredRow(
                m[pk],
                {n: m[n] for n in names},
                None if li is None else int(li),
                None if m["_kind"] is None else str(m["_kind"]),
                None if m["_ref"] is None else str(m["_ref"]),
                None if data is None else as_bytes(data),
            )

    def window_rows(self, start: int, end: int) -> Iterator[tuple[str, LedgeredRow]]:
        """``(table, row)`` of every row pointing to an entry in [start, end)."""
        for t in self.tables():
            for row in self.rows(t, start, end):
                yield t, row

    def escalations(self) -> dict[tuple[Any, Any, Any], Any]:
        """``escalated_at`` of the escalated answers, by (notification, version, party)."""
        a = notification_answers.c
        q = select(a.notification_id, a.version, a.party, a.escalated_at)
        rows = self.conn.execute(q.where(a.escalated_at.is_not(None)))
        return {(int(n), int(v), str(p)): int(at) for n, v, p, at in rows}

    def entry_data(self, index: int) -> bytes | None:
        """The data of entry ``index`` (None when there is none)."""
        e = ledger_entries.c
        data = self.conn.execute(select(e.data).where(e.idx == index)).scalar()
        return None if data is None else as_bytes(data)

    def histories(self, table: str) -> dict[str, list[tuple[int, bytes]]]:
        """For a table whose rows later entries of other kinds update (a source and its
        ``source_update`` entries): the data of every entry of those kinds, by ref."""
        t, e = metadata.tables[table], ledger_entries.c
        join = t.join(ledger_entries, e.idx == t.c.ledger_index)
        pointed = {k for (k,) in self.conn.execute(select(e.kind).distinct().select_from(join))}
        # with every row updated, no row points to the entries the updates fold over
        kinds = pointed | {k for k, later in SUPERSEDED_BY.items() if later in pointed}
        if len(kinds) < 2:
            return {}
        out: dict[str, list[tuple[int, bytes]]] = {}
        q = select(e.idx, e.ref, e.data).where(e.kind.in_(kinds)).order_by(e.idx)
        for idx, ref, data in self.conn.execute(q):
            out.setdefault(str(ref), []).append((int(idx), as_bytes(data)))
        return out

    def incident_rows(self, ids: Sequence[int] | None = None) -> Iterator[Mapping[str, Any]]:
        """Every row of ``incidents`` (or of those ``ids``), as a mapping."""
        q = select(incidents)
        for part in _parts(ids):
            sel = q if part is None else q.where(incidents.c.id.in_(part))
            for row in self.conn.execute(sel.execution_options(yield_per=20_000)):
                yield dict(row._mapping)

    def memberships(
        self, ids: Sequence[int] | None = None, observations: Sequence[int] = ()
    ) -> Iterator[tuple[int, int]]:
        """``(observation_id, incident_id)`` of every membership (or of the incidents
        ``ids`` and the ``observations``)."""
        io = incident_observations.c
        q = select(io.observation_id, io.incident_id)
        if ids is None:
            for o, i in self.conn.execute(q.execution_options(yield_per=50_000)):
                yield int(o), int(i)
            return
        seen: set[int] = set()
        for col, wanted in ((io.incident_id, ids), (io.observation_id, observations)):
            for part in _parts(wanted):
                for o, i in self.conn.execute(q.where(col.in_(part or []))):
                    if int(o) not in seen:
                        seen.add(int(o))
                        yield int(o), int(i)


_CHUNK = 5_000


def _parts(ids: Sequence[int] | None) -> Iterator[list[int] | None]:
    if ids is None:
        yield None
        return
    for k in range(0, len(ids), _CHUNK):
        yield list(ids[k : k + _CHUNK])
