"""observations: the index on (source_id, client_id) becomes one on (source_id, id)

Revision ID: 0011_observations_source_index
Revises: 0010_notification_bbox
Create Date: 2026-11-30 23:00:00

Nothing looks observations up by client id (a record's idempotency key is its
``uid``, which has its own unique index); the one reader of this index asks for a
source's observations newest first (``store.source_observations``), which an index
on (source_id, id) serves in order. It is also the cheaper index to keep: a client
id lands anywhere in a source's range, so a bulk insert dirtied pages all over the
index, while a new id goes at the end of its source's range.
"""

from __future__ import annotations

from alembic import op

revision = "0011_observations_source_index"
down_revision = "0010_notification_bbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.drop_index("ix_observations_source_id_client_id")
        batch.create_index("ix_observations_source_id_id", ["source_id", "id"])


def downgrade() -> None:
    with op.batch_alter_table("observations") as batch:
        batch.drop_index("ix_observations_source_id_id")
        batch.create_index("ix_observations_source_id_client_id", ["source_id", "client_id"])
