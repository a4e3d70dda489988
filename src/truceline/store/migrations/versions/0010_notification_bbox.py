"""deconfliction register: a notification's bounding box columns (minx, miny, maxx,
maxy) dropped: they were written but never read (the live index computes the box
from the footprint)

Revision ID: 0010_notification_bbox
Revises: 0009_ledger_entries_rowid
Create Date: 2026-11-30 20:50:00
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010_notification_bbox"
down_revision = "0009_ledger_entries_rowid"
branch_labels = None
depends_on = None

_BOX = ("minx", "miny", "maxx", "maxy")


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        for name in _BOX:
            batch.drop_column(name)


def _points(coords: Any) -> Iterator[tuple[float, float]]:
    if coords and isinstance(coords[0], int | float):
        yield float(coords[0]), float(coords[1])
    else:
        for c in coords:
            yield from _points(c)


def _box(footprint: str) -> tuple[float, float, float, float]:
    """The bounding box of a GeoJSON geometry's coordinates."""
    g = json.loads(footprint)
    parts = g.get("geometries", [g])
    xy = [p for part in parts for p in _points(part["coordinates"])]
    xs, ys = [p[0] for p in xy], [p[1] for p in xy]
    return min(xs), min(ys), max(xs), max(ys)


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        for name in _BOX:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, footprint FROM notifications")).all()
    for nid, footprint in rows:
        box = dict(zip(_BOX, _box(footprint), strict=True))
        conn.execute(
            sa.text(
                "UPDATE notifications SET minx = :minx, miny = :miny, maxx = :maxx, "
                "maxy = :maxy WHERE id = :id"
            ),
            {**box, "id": nid},
        )
    with op.batch_alter_table("notifications") as batch:
        for name in _BOX:
            batch.alter_column(name, existing_type=sa.Float(), nullable=False)
