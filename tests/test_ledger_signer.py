"""The signer never equivocates: a tree head is signed only if the log extends the last
signed head as published; otherwise `ledger head` refuses and keeps both as evidence.
On a real SQLite file and on PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from tile_edit import edit_tile_hash
from typer.testing import CliRunner

from truceline.cli import app
from truceline.domain.errors import IntegrityError
from truceline.ledger.log import entry_data, leaf_hash
from truceline.ledger.note import Verifier, parse_checkpoint, verify_note
from truceline.service import ledger as svc
from truceline.service.workspace import Workspace
from truceline.store import ledger as store
from truceline.store.schema import ledger_entries, tree_heads


def _grow(ws: Workspace, k: int, tag: str = "n") -> None:
    """``k`` hotline calls logged through the service: entries the store backs."""
    from truceline.service.deconfliction_replies import hotline

    for i in range(k):
        hotline(ws, "duty officer", f"{tag}{i}", now=1_800_000_000 + i)


def _heads(ws: Workspace) -> list[tuple[int, bytes]]:
    with ws.engine.connect() as conn:
        q = sa.select(tree_heads.c.size, tree_heads.c.root_hash).order_by(tree_heads.c.id)
        return [(int(s), bytes(r)) for s, r in conn.execute(q)]


def _refuses(ws: Workspace, why: str) -> None:
    before = _heads(ws)
    with pytest.raises(IntegrityError, match="refusing to sign") as exc:
        svc.issue_tree_head(ws)
    assert why in exc.value.message
    assert _heads(ws) == before  # nothing signed


@pytest.fixture
def signed(workspace: Workspace) -> Workspace:
    """A log of 13 entries with a signed head."""
    _grow(workspace, 13)
    svc.issue_tree_head(workspace)
    return workspace


def test_corrupted_node_table_makes_ledger_head_refuse(
    signed: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = signed
    assert ws.root is not None
    _grow(ws, 5, "m")
    edit_tile_hash(ws, 0, 5)  # the tree's leaf 5: the node over entries 0..7 changes
    monkeypatch.chdir(ws.root)
    res = CliRunner().invoke(app, ["ledger", "head"])
    assert res.exit_code == 1
    msg = str(res.exception.message)  # type: ignore[union-attr]
    assert "refusing to sign a tree head of size 18" in msg
    assert "no longer gives the signed root" in msg
    assert [s for s, _ in _heads(ws)] == [13]
    [evidence] = (ws.root / "evidence").glob("refused-head-*.json")
    doc = json.loads(evidence.read_text())
    assert doc["last_signed"].split("\n")[1] == "13" and doc["refused"]["size"] == 18


def test_edited_node_over_new_entries_is_refused(signed: Workspace) -> None:
    _grow(signed, 8, "m")  # 13 -> 21: node (2, 4) covers entries 16..19, all new
    edit_tile_hash(signed, 0, 18)
    _refuses(signed, "size 21")


def test_consistent_rewrite_is_refused_at_the_same_size(signed: Workspace) -> None:
    """An entry rewritten with its leaf hash and every node rebuilt: no second root for 13."""
    new = entry_data("hotline_call", "hotline/1", {"summary": "rewritten"})
    with signed.engine.begin() as conn:
        conn.execute(
            ledger_entries.update()
            .where(ledger_entries.c.idx == 3)
            .values(data=new, leaf_hash=leaf_hash(new))
        )
        store.rebuild_tiles(conn)
    _refuses(signed, "no longer gives the signed root")
    _grow(signed, 2, "m")
    _refuses(signed, "no longer gives the signed root")


def test_forged_entry_whose_data_does_not_match_its_hash_is_refused(signed: Workspace) -> None:
    _grow(signed, 2, "m")
    with signed.engine.begin() as conn:
        conn.execute(ledger_entries.update().where(ledger_entries.c.idx == 14).values(data=b"{}"))
    _refuses(signed, "entry 14's data does not match its leaf hash")


def test_truncated_log_is_refused(signed: Workspace) -> None:
    with signed.engine.begin() as conn:
        conn.execute(ledger_entries.delete().where(ledger_entries.c.idx == 12))
    _refuses(signed, "entries were removed")


def test_extension_is_signed_with_its_time_in_the_body(signed: Workspace) -> None:
    first = svc.issue_tree_head(signed)
    assert svc.issue_tree_head(signed) == first  # idempotent while the log has not grown
    _grow(signed, 3, "m")
    head = svc.issue_tree_head(signed)
    with signed.engine.connect() as conn:
        key = svc.current_key(conn)
    assert key is not None
    cp = parse_checkpoint(verify_note(head.checkpoint, Verifier.parse(key.vkey)))
    assert (cp.size, cp.time) == (16, head.issued_at)
    assert f"\ntime {head.issued_at}\n" in head.checkpoint
    assert [s for s, _ in _heads(signed)] == [13, 16]


def _forge(ws: Workspace, kind: str, ref: str, record: dict[str, object]) -> int:
    """An entry with a correct leaf hash written into ledger_entries behind the API, with
    the tree tiles rebuilt (so the tiles cover it)."""
    with ws.engine.begin() as conn:
        n = store.size(conn)
        d = entry_data(kind, ref, record, 1_800_000_000)
        conn.execute(
            ledger_entries.insert().values(
                idx=n, kind=kind, ref=ref, data=d, leaf_hash=leaf_hash(d), at=1_800_000_000
            )
        )
        store.rebuild_tiles(conn)
    return n


@pytest.mark.parametrize("grow", [1, 2], ids=["forged at an even size", "forged at an odd size"])
def test_forged_entry_is_refused_whatever_the_size(signed: Workspace, grow: int) -> None:
    """13 signed; 1 or 2 real entries; the forged one is entry 14 or 15, so the log is 15
    (odd: no new node needed) or 16 (even: its pair node rebuilt by the forger)."""
    _grow(signed, grow, "m")
    idx = _forge(signed, "hotline_call", "hotline/1", {"caller": "x", "summary": "forged"})
    assert idx == 13 + grow
    _refuses(
        signed,
        f"the store does not back entry {idx} (hotline_call hotline/1): "
        "no row of the store holds this record",
    )


@pytest.mark.parametrize("grow", [1, 2], ids=["even", "odd"])
def test_forged_incident_fact_is_refused(signed: Workspace, grow: int) -> None:
    _grow(signed, grow, "m")
    idx = _forge(signed, "incident_attribution", "7", {"incident_id": 7, "actor": "A"})
    _refuses(signed, f"the store does not back entry {idx} (incident_attribution): ")
    _refuses(signed, "incident 7 is in the ledger but has no incidents row")


def test_entry_whose_row_was_changed_is_refused(signed: Workspace) -> None:
    _grow(signed, 2, "m")
    with signed.engine.begin() as conn:
        conn.execute(sa.text("UPDATE hotline_calls SET summary = 'edited' WHERE summary = 'm1'"))
    _refuses(signed, "entry 14 (hotline_call hotline/1800000001) does not match hotline_calls row")
    _refuses(signed, "summary is 'edited' in the table but 'm1' in the ledger")


def test_edited_new_node_is_named(signed: Workspace) -> None:
    _grow(signed, 4, "m")  # 13 -> 17: node (1, 7) over entries 14..15 is new
    edit_tile_hash(signed, 0, 15)
    _refuses(signed, "tree node (level 1, index 7) over entries 14..15 is not the hash")
