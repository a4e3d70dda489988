"""Key rotation anchored in the log, on a real SQLite file and on PostgreSQL: a rotation
is a ledger entry signed by the old key; an auditor and a witness who pinned the old key
follow it only through that chain; a key swapped in behind the API is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from truceline.domain.errors import SignatureError
from truceline.ledger.audit import audit_files
from truceline.ledger.keys import read_verifier, write_signer
from truceline.ledger.note import Signer, Verifier
from truceline.ledger.rotation import ROTATION, verify_rotation
from truceline.ledger.witness import check_head, init_witness, rotation_chain
from truceline.service import ledger as svc
from truceline.service.workspace import Workspace
from truceline.store import ledger as store
from truceline.store.schema import ledger_entries


def _calls(ws: Workspace, k: int, tag: str = "c") -> None:
    """``k`` hotline calls logged through the service: entries the store backs."""
    from truceline.service.deconfliction_replies import hotline

    for i in range(k):
        hotline(ws, "duty officer", f"{tag}{i}", now=1_800_000_000 + i)


def _pinned(ws: Workspace, tmp: Path) -> tuple[Verifier, Path]:
    """A log with a head, the key a party pins, and its witness's state."""
    _calls(ws, 5)
    svc.init_key(ws)
    head = svc.issue_tree_head(ws)
    with ws.engine.connect() as conn:
        key = svc.current_key(conn)
    assert key is not None
    pinned = read_verifier(key.vkey)
    init_witness("party.example/w", tmp / "w.key", tmp / "w", pinned.vkey)
    check_head(tmp / "w", head.checkpoint)
    return pinned, tmp / "w"


def test_rotation_is_followed_through_its_signed_entry(
    workspace: Workspace, tmp_path: Path
) -> None:
    pinned, state = _pinned(workspace, tmp_path)
    new = svc.rotate_key(workspace)
    with workspace.engine.connect() as conn:
        kind, ref, data, _ = store.entry(conn, store.size(conn) - 1)
    assert (kind, ref) == (ROTATION, new.key_id)
    old, nxt = verify_rotation(json.loads(data)["record"])
    assert (old.vkey, nxt.vkey) == (pinned.vkey, new.vkey)
    bundle = tmp_path / "b.jsonl"
    head = svc.export_bundle(workspace, bundle)
    assert head.key_id == new.key_id
    head_file = tmp_path / "HEAD.json"
    head_file.write_text(json.dumps(head.to_json()))
    assert audit_files(bundle, head_file, pinned).ok  # the party still pins the old key
    with pytest.raises(SignatureError):  # a witness shown no chain refuses the new key
        check_head(state, head.checkpoint, None)
    proof = svc.consistency(workspace, 5, head.size)
    chain = rotation_chain(bundle, state, head.checkpoint)
    hashes = [bytes.fromhex(p) for p in proof["proof"]]
    res = check_head(state, head.checkpoint, (5, head.size, hashes), chain=chain)
    assert res.size == head.size
    assert json.loads((state / "witness.json").read_text())["log_key"] == new.vkey
    assert svc.verify_store(workspace).ok


def test_key_swapped_in_behind_the_api_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    """The audit's case: a rewrite plus a rotation without the old key's signature."""
    pinned, _ = _pinned(workspace, tmp_path)
    rogue = Signer.generate(pinned.name)
    with workspace.engine.begin() as conn:
        conn.execute(sa.text("UPDATE signing_keys SET retired_at = 1"))
        store.insert_key(conn, rogue.verifier.key_id, rogue.verifier.name, rogue.verifier.public, 2)
    assert workspace.root is not None
    write_signer(workspace.root / "keys" / "ledger.key", rogue, overwrite=True)
    _calls(workspace, 1, "x")
    bundle = tmp_path / "b.jsonl"
    head = svc.export_bundle(workspace, bundle)
    issues = svc.verify_store(workspace).issues
    assert [i.problem for i in issues] == ["key"]
    assert f"tree head #{head.id} (size 6): signed by a key no key_rotation entry" in (
        issues[0].detail
    )
    head_file = tmp_path / "HEAD.json"
    head_file.write_text(json.dumps(head.to_json()))
    with pytest.raises(SignatureError, match="no key of the chain from the pinned key"):
        audit_files(bundle, head_file, pinned)
    with workspace.engine.connect() as conn:
        kinds = conn.execute(sa.select(ledger_entries.c.kind)).scalars().all()
    assert ROTATION not in kinds
