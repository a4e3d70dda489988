"""deconfliction register: versions indexed by ledger index, so a process's live index
catches up with the changes filed since it last looked

Revision ID: 0007_register_changes
Revises: 0006_user_source
Create Date: 2026-11-30 17:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0007_register_changes"
down_revision = "0006_user_source"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_notification_versions_ledger_index"),
        "notification_versions",
        ["ledger_index"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_versions_ledger_index"), table_name="notification_versions")
