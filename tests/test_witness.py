"""Witnesses: consistency-checked cosigning, cosignatures stored with heads, split views."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from truceline.domain.errors import Conflict, InputError, IntegrityError
from truceline.ledger.merkle import MemoryTree
from truceline.ledger.note import (
    Signer,
    Verifier,
    add_signatures,
    format_checkpoint,
    sign_note,
    verify_cosignature,
    verify_note,
)
from truceline.ledger.witness import check_head, init_witness, parse_proof
from truceline.service import ledger as svc
from truceline.service.workspace import Workspace

ORIGIN = "mission.example/log"


def _calls(ws: Workspace, k: int, tag: str = "c") -> None:
    """``k`` hotline calls logged through the service: entries the store backs."""
    from truceline.service.deconfliction_replies import hotline

    for i in range(k):
        hotline(ws, "duty officer", f"{tag}{i}", now=1_800_000_000 + i)


def _head(signer: Signer, tree: MemoryTree, size: int) -> str:
    body = format_checkpoint(ORIGIN, size, tree.root(size))
    return add_signatures(body, [sign_note(body, signer)])


def _proof(tree: MemoryTree, old: int, new: int) -> tuple[int, int, list[bytes]]:
    return old, new, tree.consistency_proof(old, new)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Signer, Path, Verifier]:
    mission = Signer.generate(ORIGIN)
    state = tmp_path / "w"
    wkey = init_witness("guarantor.example/w1", tmp_path / "w.key", state, mission.verifier.vkey)
    return mission, state, wkey


def test_witness_cosigns_consistent_heads(setup: tuple[Signer, Path, Verifier]) -> None:
    mission, state, wkey = setup
    tree = MemoryTree.from_data(bytes([i]) for i in range(20))
    first = check_head(state, _head(mission, tree, 7), now=1000)
    assert first.previous_size is None and verify_cosignature(first.cosigned, wkey) == 1000
    verify_note(first.cosigned, mission.verifier)  # still the mission's note
    second = check_head(state, _head(mission, tree, 20), _proof(tree, 7, 20), now=2000)
    assert (second.previous_size, second.size) == (7, 20)
    assert verify_cosignature(second.cosigned, wkey) == 2000
    again = check_head(state, _head(mission, tree, 20), now=3000)  # same head: re-cosigned
    assert again.root_hash == second.root_hash
    history = (state / "history.jsonl").read_text().splitlines()
    assert [json.loads(h)["size"] for h in history] == [7, 20, 20]


def test_split_view_same_size_is_refused_with_both_heads(
    setup: tuple[Signer, Path, Verifier],
) -> None:
    mission, state, _ = setup
    honest = MemoryTree.from_data(bytes([i]) for i in range(10))
    other = MemoryTree.from_data(bytes([i + 1]) for i in range(10))
    seen = _head(mission, honest, 10)
    check_head(state, seen)
    shown = _head(mission, other, 10)
    with pytest.raises(IntegrityError, match="split view: two different roots for size 10") as e:
        check_head(state, shown)
    assert seen.split("\n\n")[0] in e.value.message and shown.split("\n\n")[0] in e.value.message
    [evidence] = state.glob("evidence-*.json")
    doc = json.loads(evidence.read_text())
    assert doc["previous"].startswith(seen.split("\n\n")[0]) and doc["presented"] == shown


def test_inconsistent_newer_head_is_a_split_view(setup: tuple[Signer, Path, Verifier]) -> None:
    mission, state, _ = setup
    honest = MemoryTree.from_data(bytes([i]) for i in range(12))
    rewritten = MemoryTree.from_data([b"x"] + [bytes([i]) for i in range(1, 30)])
    check_head(state, _head(mission, honest, 12))
    with pytest.raises(IntegrityError, match="not proven an extension"):
        check_head(state, _head(mission, rewritten, 30), _proof(rewritten, 12, 30))
    with pytest.raises(InputError, match="consistency proof from size 12 to 30 is needed"):
        check_head(state, _head(mission, rewritten, 30))
    with pytest.raises(Conflict, match="older"):
        check_head(state, _head(mission, honest, 5))


def test_head_signed_by_another_key_is_refused(setup: tuple[Signer, Path, Verifier]) -> None:
    _, state, _ = setup
    impostor = Signer.generate(ORIGIN)
    tree = MemoryTree.from_data([b"a"])
    with pytest.raises(InputError, match="no signature by key"):
        check_head(state, _head(impostor, tree, 1))
    assert not (state / "latest.txt").exists()


def test_cosignatures_are_stored_with_the_head(workspace: Workspace, tmp_path: Path) -> None:
    _calls(workspace, 6)
    h1 = svc.issue_tree_head(workspace)
    with workspace.engine.connect() as conn:
        key = svc.current_key(conn)
    assert key is not None
    state = tmp_path / "w"
    wkey = init_witness("party.example/w", tmp_path / "w.key", state, key.vkey)
    res = check_head(state, h1.checkpoint)
    stored = svc.add_cosignature(workspace, res.cosigned, res.witness_key)
    assert stored.cosigners == (wkey.vkey,)
    assert verify_cosignature(stored.checkpoint, wkey) == res.timestamp
    _calls(workspace, 1, "x")
    h2 = svc.issue_tree_head(workspace)
    proof = parse_proof(svc.consistency(workspace, h1.size, h2.size))
    res2 = check_head(state, h2.checkpoint, proof)
    assert svc.add_cosignature(workspace, res2.cosigned, res2.witness_key).size == 7
    # a cosignature of a head we never issued for that size is a split view
    other = Signer.from_text((tmp_path / "w.key").read_text())
    fake_body = format_checkpoint(key.name, 7, bytes(32))
    from truceline.ledger.note import cosign

    fake = add_signatures(fake_body, [cosign(fake_body, other, 5)])
    with pytest.raises(IntegrityError, match="split view"):
        svc.add_cosignature(workspace, fake, wkey.vkey)
