"""ledger: perfect-subtree node cache of the Merkle tree

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 05:00:00

Frozen: it derives the nodes of a ledger written before this revision with its
own copy of RFC 9162 node hashing, not with live code.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_nodes = sa.table(
    "ledger_nodes",
    sa.column("level", sa.Integer()),
    sa.column("idx", sa.BigInteger()),
    sa.column("hash", sa.LargeBinary()),
)
_entries = sa.table("ledger_entries", sa.column("idx", sa.BigInteger()), sa.column("leaf_hash"))


def _perfect_nodes(leaves: list[bytes]) -> list[dict[str, object]]:
    """Every perfect subtree hash of level >= 1: SHA-256(0x01 || left || right)."""
    rows: list[dict[str, object]] = []
    level, k = leaves, 0
    while len(level) >= 2:
        level = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        k += 1
        rows.extend({"level": k, "idx": i, "hash": h} for i, h in enumerate(level))
    return rows


def upgrade() -> None:
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_nodes")),
    )
    # a ledger written before this revision: derive its nodes from the leaf hashes
    conn = op.get_bind()
    q = sa.select(_entries.c.leaf_hash).order_by(_entries.c.idx)
    leaves = [bytes(h) for (h,) in conn.execute(q)]
    rows = _perfect_nodes(leaves)
    if rows:
        conn.execute(sa.insert(_nodes), rows)


def downgrade() -> None:
    op.drop_table("ledger_nodes")
