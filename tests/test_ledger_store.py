"""The ledger on a real store (SQLite file and PostgreSQL): appends, node cache, proofs, heads."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import sqlalchemy as sa

from truceline.domain.errors import InputError, IntegrityError, NotFound
from truceline.ledger.canonical import canonical_bytes
from truceline.ledger.log import entry_data, leaf_hash
from truceline.ledger.merkle import MemoryTree, tile_widths, verify_consistency, verify_inclusion
from truceline.ledger.note import Verifier, parse_checkpoint, verify_note
from truceline.service import ledger as svc
from truceline.service.workspace import Workspace
from truceline.store import ledger as store
from truceline.store.schema import ledger_entries, ledger_tiles


def _calls(ws: Workspace, k: int, tag: str = "c") -> None:
    """``k`` hotline calls logged through the service: entries the store backs."""
    from truceline.service.deconfliction_replies import hotline

    for i in range(k):
        hotline(ws, "duty officer", f"{tag}{i}", now=1_800_000_000 + i)


def _fill(ws: Workspace, batches: list[int]) -> list[bytes]:
    datas = []
    with ws.engine.connect() as conn:
        k = store.size(conn)
    for b in batches:
        with ws.engine.begin() as conn:
            items = [(f"r{k + i}", {"n": k + i, "v": (k + i) * 0.25}) for i in range(b)]
            idx = store.append(conn, "note", items, at=1_000_000 + k)
            assert idx == list(range(k, k + b))
            datas += [entry_data("note", r, rec, 1_000_000 + k) for r, rec in items]
            k += b
    return datas


def test_entry_data_is_the_canonical_envelope(workspace: Workspace) -> None:
    rec = {"kind": "artillery", "count": 2}
    with workspace.engine.begin() as conn:
        [i] = store.append(conn, "observation", [("uid-1", rec)], at=1_796_000_000)
        data, at = conn.execute(sa.select(ledger_entries.c.data, ledger_entries.c.at)).one()
    envelope = {"at": 1_796_000_000, "kind": "observation", "ref": "uid-1", "record": rec}
    want = canonical_bytes(envelope)
    assert i == 0 and bytes(data) == want and at == 1_796_000_000
    assert json.loads(want)["record"]["kind"] == "artillery"  # the record keeps its own kind


def test_roots_and_proofs_from_the_store_equal_the_reference(workspace: Workspace) -> None:
    rng = random.Random(7)
    datas = _fill(workspace, [1, 2, 5, 1, 13, 3, 40, 1, 8])
    tree = MemoryTree.from_data(datas)
    with workspace.engine.connect() as conn:
        n = store.size(conn)
        assert n == len(datas) == 74
        for size in (1, 2, 3, 7, 8, 31, 64, 74):
            assert store.root(conn, size) == tree.root(size)
        for _ in range(30):
            size = rng.randint(1, n)
            i, old = rng.randrange(size), rng.randint(1, size)
            p = store.inclusion_proof(conn, i, size)
            assert p == tree.inclusion_proof(i, size)
            assert verify_inclusion(i, size, tree.node(0, i), p, tree.root(size))
            c = store.consistency_proof(conn, old, size)
            assert verify_consistency(old, size, tree.root(old), tree.root(size), c)
        # the tree is one partial tile of the 74 leaf hashes
        assert list(store.tiles(conn)) == [(0, 0, tree.tile(0, 0))]


def _tiles(conn: sa.Connection) -> list[tuple[int, int, bytes]]:
    q = sa.select(ledger_tiles).order_by(ledger_tiles.c.level, ledger_tiles.c.idx)
    return [(int(lv), int(i), bytes(h)) for lv, i, h in conn.execute(q)]


def test_rebuilt_tiles_equal_appended_ones(workspace: Workspace) -> None:
    _fill(workspace, [3, 9, 200, 100])
    with workspace.engine.begin() as conn:
        before = _tiles(conn)
        store.rebuild_tiles(conn)
        after = _tiles(conn)
    assert [(lv, i, len(h)) for lv, i, h in before] == [
        (0, 0, 256 * 32),
        (0, 1, 56 * 32),
        (1, 0, 32),
    ]
    assert before == after


def test_tiles_across_tile_levels_give_the_reference_proofs(workspace: Workspace) -> None:
    """65,536 leaves fill a level-1 tile, so the next ones start tile level 2; the
    tiles, roots and proofs at sizes around each boundary are the in-memory tree's."""
    datas = _fill(workspace, [255, 1, 65_279, 1, 3, 700])
    tree = MemoryTree.from_data(datas)
    rng = random.Random(3)
    with workspace.engine.connect() as conn:
        n = store.size(conn)
        assert n == 66_239
        want = [(lv, i, tree.tile(lv, i)) for lv, i, w in tile_widths(n)]
        assert _tiles(conn) == want
        edge = [(lv, i, len(h) // 32) for lv, i, h in want if lv or i == 258]
        assert edge == [(0, 258, 191), (1, 0, 256), (1, 1, 2), (2, 0, 1)]
        sizes = [1, 255, 256, 257, 65_535, 65_536, 65_537, 65_539, n]
        for size in sizes:
            assert store.root(conn, size) == tree.root(size)
        for size in sizes * 3:
            i, old = rng.randrange(size), rng.randint(1, size)
            assert store.inclusion_proof(conn, i, size) == tree.inclusion_proof(i, size)
            assert store.consistency_proof(conn, old, size) == tree.consistency_proof(old, size)


def test_tile_store_gives_the_rfc6962_reference_vectors(workspace: Workspace) -> None:
    """The RFC 6962 test inputs as raw leaves in the store: its roots and proofs are the
    reference ones (certificate-transparency / transparency-dev/merkle vectors)."""
    from test_ledger_merkle import CONSISTENCY, INCLUSION, LEAVES, ROOTS

    with workspace.engine.begin() as conn:
        for i, d in enumerate(LEAVES):
            conn.execute(
                ledger_entries.insert().values(
                    idx=i, kind="v", ref=str(i), data=d, leaf_hash=leaf_hash(d), at=0
                )
            )
        store.rebuild_tiles(conn)
        for n in range(1, 9):
            assert store.root(conn, n).hex() == ROOTS[n - 1]
        for index, size, proof in INCLUSION:
            assert [p.hex() for p in store.inclusion_proof(conn, index - 1, size)] == proof
        for old, new, proof in CONSISTENCY:
            assert [p.hex() for p in store.consistency_proof(conn, old, new)] == proof


def test_appends_rewrite_only_the_partial_tiles(sqlite_workspace: Workspace) -> None:
    """Like tlog-tiles: a full tile is written once; a partial one only grows."""
    ws = sqlite_workspace
    with ws.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE tile_log (level, idx, old_len, new_len, prefix)")
        conn.exec_driver_sql(
            "CREATE TRIGGER tile_update AFTER UPDATE ON ledger_tiles BEGIN "
            "INSERT INTO tile_log VALUES (OLD.level, OLD.idx, length(OLD.hashes), "
            "length(NEW.hashes), substr(NEW.hashes, 1, length(OLD.hashes)) = OLD.hashes); END"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER tile_delete AFTER DELETE ON ledger_tiles BEGIN "
            "INSERT INTO tile_log VALUES (OLD.level, OLD.idx, length(OLD.hashes), -1, 0); END"
        )
    _fill(ws, [1, 254, 2, 300, 41, 1, 700])
    with ws.engine.connect() as conn:
        log = conn.exec_driver_sql("SELECT * FROM tile_log").all()
    assert log  # partial tiles were grown
    assert all(old < 256 * 32 and new > old and prefix == 1 for _, _, old, new, prefix in log)
    assert {(lv, i) for lv, i, *_ in log} == {(0, 0), (0, 1), (0, 2), (1, 0)}


def test_append_refuses_entries_added_behind_the_api(workspace: Workspace) -> None:
    _fill(workspace, [4])
    with workspace.engine.begin() as conn:
        d = b'{"kind":"note"}'
        conn.execute(
            ledger_entries.insert().values(
                idx=4, kind="note", ref="x", data=d, leaf_hash=leaf_hash(d), at=0
            )
        )
        conn.execute(
            ledger_entries.insert().values(
                idx=5, kind="note", ref="y", data=d, leaf_hash=leaf_hash(d), at=0
            )
        )
    with pytest.raises(IntegrityError, match="outside truceline's API"):
        with workspace.engine.begin() as conn:
            store.append(conn, "note", [("z", {"a": 1})])


def test_tree_heads_are_signed_checkpoints_and_idempotent(workspace: Workspace) -> None:
    _calls(workspace, 5)
    h1 = svc.issue_tree_head(workspace)
    assert svc.issue_tree_head(workspace) == h1  # nothing changed: same head
    with workspace.engine.connect() as conn:
        assert svc.latest_tree_head(conn) == h1
        key = svc.current_key(conn)
    assert key is not None
    cp = parse_checkpoint(verify_note(h1.checkpoint, Verifier.parse(key.vkey)))
    assert (cp.size, cp.root.hex(), cp.origin) == (5, h1.root_hash, "truceline.local/log")
    _calls(workspace, 2, "d")
    h2 = svc.issue_tree_head(workspace)
    assert (h2.size, h2.id) == (7, h1.id + 1)
    proof = svc.consistency(workspace, 5, 7)
    assert proof["old_root"] == h1.root_hash and proof["new_root"] == h2.root_hash

    with pytest.raises(InputError, match="from size 7 to size 5"):
        svc.consistency(workspace, 7, 5)
    with pytest.raises(NotFound, match="no tree of size 8: the ledger has 7 entries"):
        svc.consistency(workspace, 5, 8)
    with pytest.raises(NotFound, match="no tree of size 99"):
        svc.prove(workspace, 0, 99)


def test_prove_gives_a_checkable_inclusion_proof(workspace: Workspace) -> None:
    _calls(workspace, 9)
    svc.issue_tree_head(workspace)
    doc = svc.prove(workspace, 4)
    with workspace.engine.connect() as conn:
        assert doc["data"].encode() == store.entry(conn, 4)[2] and doc["size"] == 9
    assert verify_inclusion(
        4,
        9,
        bytes.fromhex(doc["leaf_hash"]),
        [bytes.fromhex(p) for p in doc["proof"]],
        bytes.fromhex(doc["root_hash"]),
    )


def test_upgrade_builds_the_node_cache_of_an_existing_ledger(tmp_path: Path) -> None:
    from alembic import command

    from truceline.store.db import _alembic_config, migrate, open_engine

    engine = open_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(_alembic_config(engine), "0001")
    datas = [entry_data("note", str(i), {"i": i}) for i in range(13)]
    with engine.begin() as conn:
        for i, d in enumerate(datas):
            conn.execute(
                ledger_entries.insert().values(
                    idx=i, kind="note", ref=str(i), data=d, leaf_hash=leaf_hash(d), at=0
                )
            )
    migrate(engine)
    with engine.begin() as conn:
        assert store.root(conn, 13) == MemoryTree.from_data(datas).root()
        store.append(conn, "note", [("13", {"i": 13})])  # the cache covers the old entries
    engine.dispose()


def test_ledger_core_imports_no_database() -> None:
    """The ledger core is pure: no sqlalchemy, no store (its tables are store.ledger)."""
    import ast

    import truceline.ledger

    root = Path(truceline.ledger.__file__).parent
    bad = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            bad += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "sqlalchemy"]
            bad += [f"{path.name}: {n}" for n in names if n.startswith("truceline.store")]
    assert not bad
