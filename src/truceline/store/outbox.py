"""A field device's outbox: a small SQLite file beside its key, holding every signed
observation made on the device until the mission's server has acknowledged it.

A record is written once, when made (its client id unique), and marked sent only
after the server answered for it; a sync that breaks off leaves the rest unsent, so
the next sync resends exactly those (the server de-duplicates by client id)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from truceline.domain.errors import Conflict, NotFound, StoreError
from truceline.store.db import store_errors

__all__ = ["Outbox", "open_outbox"]

_meta = MetaData()
device = Table(
    "device",
    _meta,
    Column("source_id", String(100), primary_key=True),
    Column("source_type", String(20), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
outbox = Table(
    "outbox",
    _meta,
    Column("seq", Integer, primary_key=True),
    Column("client_id", String(200), nullable=False, unique=True),
    Column("record", Text, nullable=False),  # JSON of the signed observation as sent
    Column("made_at", BigInteger, nullable=False),
    Column("sent_at", BigInteger),
    Column("outcome", String(20)),  # stored | duplicate | refused
    Column("reason", Text),
)


class Outbox:
    """The outbox of one device folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = create_engine(f"sqlite:///{path}", future=True)

    @contextmanager
    def _tx(self, doing: str) -> Iterator[Connection]:
        with store_errors(doing), self.engine.begin() as conn:
            yield conn

    def create(self, source_id: str, source_type: str) -> None:
        _meta.create_all(self.engine)
        with self._tx("creating the outbox") as conn:
            if conn.execute(select(func.count()).select_from(device)).scalar_one():
                raise Conflict(f"{self.path}: this device is already set up")
            conn.execute(
                device.insert().values(
                    source_id=source_id, source_type=source_type, created_at=int(time.time())
                )
            )

    def device(self) -> tuple[str, str]:
        """(source id, source type) of the device."""
        try:
            with self._tx("reading the device") as conn:
                row = conn.execute(select(device.c.source_id, device.c.source_type)).first()
        except StoreError as exc:
            raise NotFound(
                f"{self.path}: no field device here (run `truceline field init`)"
            ) from exc
        if row is None:
            raise NotFound(f"{self.path}: no field device here (run `truceline field init`)")
        return str(row[0]), str(row[1])

    def add(self, records: Sequence[dict[str, Any]]) -> int:
        """Keep signed records until sent; a client id already kept is refused."""
        now = int(time.time())
        rows = [
            {"client_id": r["client_id"], "record": json.dumps(r), "made_at": now} for r in records
        ]
        try:
            with self._tx("keeping records in the outbox") as conn:
                conn.execute(outbox.insert(), rows)
        except SAIntegrityError as exc:
            raise Conflict("a record with that client id is already in the outbox") from exc
        return len(rows)

    def pending(self, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """The oldest unsent records, at most ``limit``."""
        with self._tx("reading the outbox") as conn:
            rows = conn.execute(
                select(outbox.c.seq, outbox.c.record)
                .where(outbox.c.sent_at.is_(None))
                .order_by(outbox.c.seq)
                .limit(limit)
            ).all()
        return [(int(s), json.loads(r)) for s, r in rows]

    def mark_sent(self, outcomes: Sequence[tuple[int, str, str | None]]) -> None:
        """Record the server's answer for each sent record: (seq, outcome, reason)."""
        now = int(time.time())
        with self._tx("marking records sent") as conn:
            for seq, outcome, reason in outcomes:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.seq == seq)
                    .values(sent_at=now, outcome=outcome, reason=reason)
                )

    def counts(self) -> dict[str, int]:
        """Records by state: pending, stored, duplicate, refused."""
        with self._tx("counting the outbox") as conn:
            rows = conn.execute(
                select(func.coalesce(outbox.c.outcome, "pending"), func.count()).group_by(
                    func.coalesce(outbox.c.outcome, "pending")
                )
            ).all()
        return {str(k): int(n) for k, n in rows}


def open_outbox(folder: Path) -> Outbox:
    return Outbox(folder / "outbox.db")
