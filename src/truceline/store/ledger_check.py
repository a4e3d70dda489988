"""What ``verify-store`` reads from the ledger's tables and every ledgered table, streamed.

The check itself is pure (``truceline.ledger.storecheck``); this is its port onto a
database connection.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, select

from truceline.ledger.note import Verifier
from truceline.ledger.storecheck import HeadRow
from truceline.ledger.storerows import LedgeredRow
from truceline.store.ledger import as_bytes, cosignature_lines, entries, heads, keys, nodes
from truceline.store.schema import ledger_entries, metadata

__all__ = ["LedgerView"]


class LedgerView:
    """The reads of ``ledger.storecheck.verify_store`` on one connection (streamed)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def entries(self) -> Iterator[tuple[int, str, str, bytes, bytes, int]]:
        return entries(self.conn)

    def cosignatures(self, head_id: int) -> list[tuple[str, str]]:
        return cosignature_lines(self.conn, head_id)

    def nodes(self) -> Iterator[tuple[int, int, bytes]]:
        return nodes(self.conn)

    def verifiers(self) -> dict[str, Verifier]:
        return {k.key_id: Verifier(k.name, 0x01, k.public_key) for k in keys(self.conn)}

    def heads(self) -> list[HeadRow]:
        return [
            HeadRow(h.id, h.size, h.root_hash, h.issued_at, h.key_id, h.checkpoint)
            for h in heads(self.conn)
        ]

    def tables(self) -> list[str]:
        return [t.name for t in metadata.sorted_tables if "ledger_index" in t.c]

    def rows(self, table: str) -> Iterator[LedgeredRow]:
        t, e = metadata.tables[table], ledger_entries.c
        pk = list(t.primary_key.columns)[0].name
        q = select(t, e.data.label("_data"), e.kind.label("_kind"), e.ref.label("_ref"))
        q = q.outerjoin(ledger_entries, e.idx == t.c.ledger_index)
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

    def histories(self, table: str) -> dict[str, list[tuple[int, bytes]]]:
        """For a table whose rows later entries of other kinds update (a source and its
        ``source_update`` entries): the data of every entry of those kinds, by ref."""
        t, e = metadata.tables[table], ledger_entries.c
        join = t.join(ledger_entries, e.idx == t.c.ledger_index)
        kinds = [k for (k,) in self.conn.execute(select(e.kind).distinct().select_from(join))]
        if len(kinds) < 2:
            return {}
        out: dict[str, list[tuple[int, bytes]]] = {}
        q = select(e.idx, e.ref, e.data).where(e.kind.in_(kinds)).order_by(e.idx)
        for idx, ref, data in self.conn.execute(q):
            out.setdefault(str(ref), []).append((int(idx), as_bytes(data)))
        return out
