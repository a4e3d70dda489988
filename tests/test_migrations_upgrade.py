"""Upgrading a database written at the first schema revision, with data in it.

Revision 0001 already holds the ledger (``ledger_entries``), so the test starts
there: a source and three observations, each with its ledger entry, written with
plain SQL in 0001's table shapes (no live code writes them). Upgrading to head
must keep every row, derive the Merkle node cache of 0002 from the old leaves and
move it into the tiles of 0008 (``verify-store`` clean), and leave a workspace
that opens. A ledger of several tiles written at 0007 (a row per node) moves into
tiles and back; one whose node rows were edited is refused, and left as it was. A downgrade of one
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

from truceline.domain.errors import IntegrityError, WorkspaceError
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
        tiles = conn.execute(text("SELECT level, idx, hashes FROM ledger_tiles")).all()
    assert uids == [o["uid"] for o in OBSERVATIONS]
    assert [(lv, i, len(h)) for lv, i, h in tiles] == [(0, 0, 4 * 32)]  # the 4 leaf hashes
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


NODES_SCHEMA = "0007_register_changes"  # the last revision with a row per tree node


def _ledger_at_nodes_schema(engine: Engine, n: int) -> list[bytes]:
    """``n`` entries written at 0001, their node rows derived by upgrading to 0007."""
    command.upgrade(_config(engine), FIRST)
    datas = [entry_data("note", str(i), {"i": i}) for i in range(n)]
    with engine.begin() as conn:
        for i, d in enumerate(datas):
            entry = {"idx": i, "kind": "note", "ref": str(i), "data": d, "at": 0}
            _insert(conn, "ledger_entries", {**entry, "leaf_hash": leaf_hash(d)})
    command.upgrade(_config(engine), NODES_SCHEMA)
    return datas


def _node_rows(engine: Engine) -> list[tuple[int, int, bytes]]:
    with engine.connect() as conn:
        q = text("SELECT level, idx, hash FROM ledger_nodes ORDER BY level, idx")
        return [(int(lv), int(i), bytes(h)) for lv, i, h in conn.execute(q)]


def test_node_rows_move_into_tiles_and_back(db_url: str) -> None:
    from truceline.ledger.merkle import MemoryTree, tile_widths
    from truceline.store import ledger as store

    engine = open_engine(db_url)
    try:
        datas = _ledger_at_nodes_schema(engine, 600)
        before = _node_rows(engine)
        tree = MemoryTree.from_data(datas)
        assert len(before) == 600 - 4  # every perfect node of level >= 1: n - popcount(n)
        migrate(engine)
        with engine.begin() as conn:
            tiles = list(store.tiles(conn))
            assert tiles == [(lv, i, tree.tile(lv, i)) for lv, i, _ in tile_widths(600)]
            assert [(lv, i, len(h) // 32) for lv, i, h in tiles] == [
                (0, 0, 256), (0, 1, 256), (0, 2, 88), (1, 0, 2)
            ]  # fmt: skip
            assert store.root(conn, 600) == tree.root()
            store.append(conn, "note", [("600", {"i": 600})])  # the tiles cover every entry
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger_entries WHERE idx = 600"))
            store.rebuild_tiles(conn)
        command.downgrade(_config(engine), NODES_SCHEMA)
        assert _node_rows(engine) == before
    finally:
        engine.dispose()


def test_edited_node_rows_are_refused_not_migrated(db_url: str) -> None:
    engine = open_engine(db_url)
    try:
        _ledger_at_nodes_schema(engine, 40)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE ledger_nodes SET hash = :h WHERE level = 3 AND idx = 2"),
                {"h": bytes(32)},
            )
        before = _node_rows(engine)
        with pytest.raises(IntegrityError, match="node rows at level 3 are not the tree"):
            migrate(engine)
        assert not schema_current(engine)
        assert _node_rows(engine) == before  # the evidence is kept
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == (
                NODES_SCHEMA
            )
    finally:
        engine.dispose()


def _entries(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        q = text("SELECT idx, kind, ref, data, leaf_hash, at FROM ledger_entries ORDER BY idx")
        return [tuple(r) for r in conn.execute(q)]


def _entries_index(engine: Engine) -> list[str]:
    """SQLite's own indexes on ledger_entries (a BIGINT primary key needs one; the rowid
    does not)."""
    with engine.connect() as conn:
        q = text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger_entries'"
        )
        return [str(n) for (n,) in conn.execute(q)]


def test_ledger_index_becomes_the_rowid_on_sqlite(first_revision: Engine, db_url: str) -> None:
    engine = first_revision
    command.upgrade(_config(engine), "0008_ledger_tiles")
    before = _entries(engine)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        assert _entries_index(engine) == ["sqlite_autoindex_ledger_entries_1"]
    migrate(engine)
    assert _entries(engine) == before and len(before) == 4
    if sqlite:
        assert _entries_index(engine) == []
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT rowid, idx FROM ledger_entries")).all()
        assert [r for r, _ in rows] == [i for _, i in rows] == [0, 1, 2, 3]
    command.downgrade(_config(engine), "0008_ledger_tiles")
    assert _entries(engine) == before
    if sqlite:
        assert _entries_index(engine) == ["sqlite_autoindex_ledger_entries_1"]
