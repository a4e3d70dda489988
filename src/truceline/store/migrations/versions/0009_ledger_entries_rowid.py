"""ledger: on SQLite, ledger_entries.idx is the table's rowid (INTEGER PRIMARY KEY)

Revision ID: 0009_ledger_entries_rowid
Revises: 0008_ledger_tiles
Create Date: 2026-11-30 20:40:00

A BIGINT primary key is not SQLite's rowid: every entry was stored twice over, in
the table under a hidden rowid and in a separate index on idx, and every append and
every lookup by index went through both. As INTEGER PRIMARY KEY the index is the
rowid (as ``observations.id`` already is). SQLite cannot change a primary key in
place, so the table is copied; PostgreSQL keeps BIGINT and is not touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_ledger_entries_rowid"
down_revision = "0008_ledger_tiles"
branch_labels = None
depends_on = None


def _idx_type(to: sa.types.TypeEngine[int], was: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("ledger_entries", recreate="always") as batch:
        batch.alter_column(
            "idx", existing_type=was, type_=to, existing_nullable=False, autoincrement=False
        )


def upgrade() -> None:
    _idx_type(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    _idx_type(sa.BigInteger(), sa.Integer())
