"""Upgrading a database written at the first schema revision, with data in it.

Revision 0001 already holds the ledger (``ledger_entries``), so the test starts
there: a source and three observations, each with its ledger entry, written with
plain SQL in 0001's table shapes (no live code writes them). Upgrading to head
must keep every row, derive the Merkle node cache of 0002 from the old leaves
(``verify-store`` clean) and leave a workspace that opens. A downgrade of one
step works and the code then refuses the workspace until it is migrated again; a
database at a revision the code does not know is refused, and left as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from truceline.domain.errors import WorkspaceError
from truceline.ledger.log import entry_data, leaf_hash
from truceline.service.ledger import verify_store
from truceline.service.workspace import open_workspace
from truceline.store.db import migrate, open_engine, schema_current

FIRST = "0001"
SOURCE = {
    "id": "upg-radar-1",
    "type": "radar",
    "name": "Upgrade radar",
    "party": None,
    "independence_group": "upg",
    "created_at": 1_700_000_000,
}
OBSERVATIONS = [
    {
        "uid": f"{i:064x}",
        "source_id": "upg-radar-1",
        "t": 1_700_000_000 + 60 * i,
        "t_unc_s": 30.0,
        "lon": 30.5 + i / 100,
        "lat": 50.4,
        "radius_m": 250.0,
        "kind": "explosion",
        "count": 1,
        "credibility": 2,
        "received_at": 1_700_000_100 + i,
    }
    for i in range(1, 4)
]


def _config(engine: Engine) -> Config:
    """The Alembic configuration ``store.db.migrate`` builds, for one engine."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("truceline.store") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def _insert(conn: Connection, table: str, row: dict[str, object]) -> None:
    cols = ", ".join(row)
    marks = ", ".join(f":{c}" for c in row)
    conn.execute(text(f"INSERT INTO {table} ({cols}) VALUES ({marks})"), row)


def _fill_first_revision(engine: Engine) -> None:
    """A source and its observations as revision 0001 stored them, each ledgered."""
    items = [("source", SOURCE["id"], "sources", SOURCE)]
    items += [("observation", o["uid"], "observations", o) for o in OBSERVATIONS]
    with engine.begin() as conn:
        for idx, (kind, ref, table, record) in enumerate(items):
            data = entry_data(kind, str(ref), record)
            _insert(conn, table, {**record, "ledger_index": idx})
            entry = {"idx": idx, "kind": kind, "ref": ref, "data": data}
            _insert(conn, "ledger_entries", {**entry, "leaf_hash": leaf_hash(data), "at": 1})


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("sources", "observations", "ledger_entries")
        }


@pytest.fixture
def first_revision(db_url: str) -> Iterator[Engine]:
    """A store at revision 0001 holding a source and three observations."""
    engine = open_engine(db_url)
    command.upgrade(_config(engine), FIRST)
    assert not schema_current(engine)
    _fill_first_revision(engine)
    yield engine
    engine.dispose()


def test_upgrade_from_first_revision_keeps_rows_and_ledger(
    first_revision: Engine, db_url: str, tmp_path: Path
) -> None:
    engine = first_revision
    migrate(engine)
    assert schema_current(engine)
    assert _counts(engine) == {"sources": 1, "observations": 3, "ledger_entries": 4}
    with engine.connect() as conn:
        uids = conn.execute(text("SELECT uid FROM observations ORDER BY t")).scalars().all()
        nodes = int(conn.execute(text("SELECT count(*) FROM ledger_nodes")).scalar_one())
    assert uids == [o["uid"] for o in OBSERVATIONS]
    assert nodes == 3  # two level-1 nodes and one level-2 node over four leaves
    ws = open_workspace(db_url, cwd=tmp_path)
    try:
        report = verify_store(ws)
        assert report.ok, report
    finally:
        ws.engine.dispose()


def test_downgrade_one_step_then_refused_until_migrated(
    first_revision: Engine, db_url: str, tmp_path: Path
) -> None:
    engine = first_revision
    migrate(engine)
    command.downgrade(_config(engine), "-1")
    assert not schema_current(engine)
    with pytest.raises(WorkspaceError, match="truceline init"):
        open_workspace(db_url, cwd=tmp_path)
    assert _counts(engine) == {"sources": 1, "observations": 3, "ledger_entries": 4}
    migrate(engine)
    assert schema_current(engine)
    ws = open_workspace(db_url, cwd=tmp_path)
    try:
        assert verify_store(ws).ok
    finally:
        ws.engine.dispose()


def test_database_from_a_newer_version_is_refused_and_untouched(
    first_revision: Engine, db_url: str, tmp_path: Path
) -> None:
    engine = first_revision
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(WorkspaceError, match="unknown or no schema"):
        open_workspace(db_url, cwd=tmp_path)
    with pytest.raises(WorkspaceError, match="'9999'.*a newer truceline wrote it"):
        migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "9999"
    assert _counts(engine) == {"sources": 1, "observations": 3, "ledger_entries": 4}
