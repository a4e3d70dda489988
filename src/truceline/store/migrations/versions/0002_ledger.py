"""ledger: perfect-subtree node cache of the Merkle tree

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_nodes")),
    )
    # a ledger written before this revision: derive its nodes from the leaf hashes
    from truceline.ledger.nodes import rebuild_nodes

    rebuild_nodes(op.get_bind())


def downgrade() -> None:
    op.drop_table("ledger_nodes")
