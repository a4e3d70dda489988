"""Migration 0011 replaces the index on observations (source_id, client_id) with one on
(source_id, id), keeping every row; its downgrade puts the old index back."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

from truceline.store.db import open_engine

BEFORE, AFTER = "0010_notification_bbox", "0011_observations_source_index"
SOURCE = {
    "id": "mig-radar-1", "type": "radar", "name": "Radar", "group": "mig",
    "created_at": 1_700_000_000,
}  # fmt: skip
ROWS = [
    {
        "id": i, "uid": f"{i:064x}", "source_id": "mig-radar-1", "client_id": f"c{i}",
        "t": 1_700_000_000 + i, "t_unc_s": 30.0, "kind": "explosion", "count": 1,
        "credibility": 3, "received_at": 1_700_000_100,
    }
    for i in (1, 2, 3)
]  # fmt: skip


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("truceline.store") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def _indexes(engine: Engine) -> dict[str, list[str | None]]:
    with engine.connect() as conn:
        return {
            str(ix["name"]): list(ix["column_names"])
            for ix in inspect(conn).get_indexes("observations")
        }


def _rows(engine: Engine) -> list[dict[str, object]]:
    cols = ", ".join(ROWS[0])
    with engine.connect() as conn:
        got = conn.execute(text(f"SELECT {cols} FROM observations ORDER BY id")).mappings()
        return [dict(r) for r in got]


def test_source_index_replaced_and_restored(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        command.upgrade(_config(engine), BEFORE)
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO sources (id, type, name, independence_group, created_at) "
                     "VALUES (:id, :type, :name, :group, :created_at)"),
                SOURCE,
            )  # fmt: skip
            cols, marks = ", ".join(ROWS[0]), ", ".join(f":{c}" for c in ROWS[0])
            conn.execute(text(f"INSERT INTO observations ({cols}) VALUES ({marks})"), ROWS)
        command.upgrade(_config(engine), AFTER)
        indexes = _indexes(engine)
        assert indexes["ix_observations_source_id_id"] == ["source_id", "id"]
        assert "ix_observations_source_id_client_id" not in indexes
        assert _rows(engine) == ROWS
        command.downgrade(_config(engine), BEFORE)
        indexes = _indexes(engine)
        assert indexes["ix_observations_source_id_client_id"] == ["source_id", "client_id"]
        assert "ix_observations_source_id_id" not in indexes
        assert _rows(engine) == ROWS
    finally:
        engine.dispose()
