"""deconfliction register: notifications with their versions, conflicts, answers, hotline

Revision ID: 0004_deconfliction
Revises: 0003_api_users
Create Date: 2026-11-30 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_deconfliction"
down_revision = "0003_api_users"
branch_labels = None
depends_on = None


def _volume() -> list[sa.Column[object]]:
    return [
        sa.Column("t_start", sa.BigInteger(), nullable=False),
        sa.Column("t_end", sa.BigInteger(), nullable=False),
        sa.Column("alt_min", sa.Float(), nullable=False),
        sa.Column("alt_max", sa.Float(), nullable=False),
        sa.Column("personnel", sa.Integer(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
    ]


def _fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["notification_id"],
        ["notifications.id"],
        name=op.f(f"fk_{table}_notification_id_notifications"),
    )


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=40), nullable=False),
        sa.Column("activity", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("footprint", sa.Text(), nullable=False),
        sa.Column("minx", sa.Float(), nullable=False),
        sa.Column("miny", sa.Float(), nullable=False),
        sa.Column("maxx", sa.Float(), nullable=False),
        sa.Column("maxy", sa.Float(), nullable=False),
        *_volume(),
        sa.Column("filed_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        op.f("ix_notifications_status_t_start_t_end"),
        "notifications",
        ["status", "t_start", "t_end"],
        unique=False,
    )
    op.create_table(
        "notification_versions",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("activity", sa.String(length=40), nullable=False),
        sa.Column("footprint", sa.Text(), nullable=False),
        *_volume(),
        sa.Column("cited", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        _fk("notification_versions"),
        sa.PrimaryKeyConstraint(
            "notification_id", "version", name=op.f("pk_notification_versions")
        ),
    )
    op.create_table(
        "notification_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=True),
        sa.Column("other_version", sa.Integer(), nullable=True),
        sa.Column("other_party", sa.String(length=40), nullable=True),
        sa.Column("rule_id", sa.String(length=100), nullable=True),
        sa.Column("zone_id", sa.String(length=100), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=True),
        sa.Column("alt_m", sa.Float(), nullable=True),
        sa.Column("found_at", sa.BigInteger(), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        _fk("notification_conflicts"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_conflicts")),
    )
    op.create_index(
        op.f("ix_notification_conflicts_notification_id"),
        "notification_conflicts",
        ["notification_id"],
        unique=False,
    )
    op.create_table(
        "notification_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=40), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("answer", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.BigInteger(), nullable=True),
        sa.Column("escalated_at", sa.BigInteger(), nullable=True),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        _fk("notification_answers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_answers")),
        sa.UniqueConstraint(
            "notification_id",
            "version",
            "party",
            name=op.f("uq_notification_answers_notification_id_version_party"),
        ),
    )
    op.create_index(
        op.f("ix_notification_answers_answer_due_at"),
        "notification_answers",
        ["answer", "due_at"],
        unique=False,
    )
    op.create_table(
        "hotline_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("caller", sa.String(length=100), nullable=False),
        sa.Column("party", sa.String(length=40), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("ledger_index", sa.BigInteger(), nullable=True),
        _fk("hotline_calls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotline_calls")),
    )


def downgrade() -> None:
    op.drop_table("hotline_calls")
    op.drop_index(op.f("ix_notification_answers_answer_due_at"), "notification_answers")
    op.drop_table("notification_answers")
    op.drop_index(op.f("ix_notification_conflicts_notification_id"), "notification_conflicts")
    op.drop_table("notification_conflicts")
    op.drop_table("notification_versions")
    op.drop_index(op.f("ix_notifications_status_t_start_t_end"), "notifications")
    op.drop_table("notifications")
