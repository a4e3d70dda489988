"""Migration 0010 drops a notification's bounding box columns (written, never read)
and keeps the row; its downgrade puts them back, computed from the footprint."""

from __future__ import annotations

import json
from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

from truceline.store.db import open_engine

BEFORE, AFTER = "0009_ledger_entries_rowid", "0010_notification_bbox"
FOOTPRINT = {
    "type": "Polygon",
    "coordinates": [[[37.5, 47.25], [38.0, 47.0], [38.25, 47.5], [37.5, 47.75], [37.5, 47.25]]],
}
ROW = {
    "id": 7, "party": "A", "activity": "exercise", "status": "active", "version": 1,
    "footprint": json.dumps(FOOTPRINT), "minx": 37.5, "miny": 47.0, "maxx": 38.25,
    "maxy": 47.75, "t_start": 1_700_000_000, "t_end": 1_700_086_400, "alt_min": 0.0,
    "alt_max": 500.0, "personnel": 1200, "details": "{}", "filed_at": 1_699_990_000,
    "updated_at": 1_699_990_000,
}  # fmt: skip
BOX = ("minx", "miny", "maxx", "maxy")


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("truceline.store") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def _columns(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("notifications")}


def test_box_columns_dropped_and_restored_from_the_footprint(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        command.upgrade(_config(engine), BEFORE)
        with engine.begin() as conn:
            cols, marks = ", ".join(ROW), ", ".join(f":{c}" for c in ROW)
            conn.execute(text(f"INSERT INTO notifications ({cols}) VALUES ({marks})"), ROW)
        command.upgrade(_config(engine), AFTER)
        assert not _columns(engine) & set(BOX)
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT * FROM notifications")).mappings().one()
        assert dict(kept) == {k: v for k, v in ROW.items() if k not in BOX}
        command.downgrade(_config(engine), BEFORE)
        assert _columns(engine) >= set(BOX)
        with engine.connect() as conn:
            back = conn.execute(text("SELECT * FROM notifications")).mappings().one()
        assert dict(back) == ROW
    finally:
        engine.dispose()
