"""Tampering behind the API, on a real SQLite file (and PostgreSQL for the store check):
each change is detected and named by `verify-store` and by the offline bundle audit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from tile_edit import edit_tile_hash

from truceline.domain.errors import InputError, IntegrityError
from truceline.ledger.audit import Issue, audit_files, read_bundle
from truceline.ledger.log import entry_data, leaf_hash
from truceline.ledger.note import Verifier
from truceline.service import ledger as svc
from truceline.service.ingest import ingest_files
from truceline.service.sources import ensure_sources
from truceline.service.workspace import Workspace
from truceline.store import ledger as store
from truceline.store.schema import ledger_entries, observations

DATA = Path(__file__).parent / "data"
DATA_SENSORS = [("mon-01", "monitor"), ("cam-07", "camera"), ("ac-03", "acoustic")]


def _world(ws: Workspace, tmp: Path) -> tuple[Path, Path, Verifier]:
    """Real ingest of real test files, a signed head and an export kept by an auditor."""
    with ws.engine.begin() as conn:  # the files' monitors and sensors, registered first
        ensure_sources(conn, DATA_SENSORS)
    ingest_files(ws, [DATA / "mixed_native.csv", DATA / "mixed.jsonl", DATA / "mixed_ucdp.csv"])
    bundle = tmp / "kept.jsonl"
    head = svc.export_bundle(ws, bundle)
    head_file = tmp / "HEAD.json"
    head_file.write_text(head.checkpoint, encoding="utf-8")
    with ws.engine.connect() as conn:
        key = svc.current_key(conn)
    assert key is not None and svc.verify_store(ws).ok
    return bundle, head_file, Verifier.parse(key.vkey)


def _obs(ws: Workspace) -> list[tuple[int, int]]:
    with ws.engine.connect() as conn:
        q = sa.select(observations.c.id, observations.c.ledger_index).order_by(observations.c.id)
        return [(int(a), int(b)) for a, b in conn.execute(q)]


def _sql(ws: Workspace, stmt: str, **params: object) -> None:
    with ws.engine.begin() as conn:
        conn.execute(sa.text(stmt), params)


def _forget_heads(ws: Workspace) -> None:
    """An operator who also deletes the heads signed so far, so the signer signs anew."""
    _sql(ws, "DELETE FROM cosignatures")
    _sql(ws, "DELETE FROM tree_heads")


def _has(issues: list[Issue], problem: str, index: int | None = None) -> bool:
    return any(i.problem == problem and (index is None or i.index == index) for i in issues)


def test_modified_row_is_named(workspace: Workspace, tmp_path: Path) -> None:
    _world(workspace, tmp_path)
    oid, li = _obs(workspace)[1]
    _sql(workspace, "UPDATE observations SET lon = lon + 0.5, count = 9 WHERE id = :i", i=oid)
    rep = svc.verify_store(workspace)
    [issue] = rep.issues
    assert issue.problem == "modified" and issue.index == li and issue.kind == "observation"
    assert f"observations row {oid}" in issue.detail and "lon" in issue.detail
    assert "count is 9" in issue.detail


def test_a_cleared_ledger_link_is_one_problem(workspace: Workspace, tmp_path: Path) -> None:
    _world(workspace, tmp_path)
    oid, li = _obs(workspace)[2]
    _sql(workspace, "UPDATE observations SET ledger_index = NULL WHERE id = :i", i=oid)
    [issue] = svc.verify_store(workspace).issues  # not also "no row refers to this entry"
    assert (issue.problem, issue.index, issue.kind) == ("modified", li, "observation")
    assert f"observations row {oid}" in issue.detail and "ledger_index" in issue.detail


def test_modified_entry_data_is_named_by_store_and_bundle(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = sqlite_workspace
    _, head_file, key = _world(ws, tmp_path)
    _, li = _obs(ws)[0]
    _sql(ws, "UPDATE ledger_entries SET data = replace(data, 'm-1', 'm-X') WHERE idx = :i", i=li)
    rep = svc.verify_store(ws)
    assert _has(rep.issues, "modified", li)
    bundle = tmp_path / "now.jsonl"
    svc.export_bundle(ws, bundle)
    audit = audit_files(bundle, head_file, key)
    assert _has(audit.issues, "modified", li) and not audit.ok


def test_rewritten_history_is_caught_by_the_head_and_named_by_a_kept_bundle(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """An operator rewrites an entry with its hash and the tree nodes, and re-signs."""
    ws = sqlite_workspace
    kept, head_file, key = _world(ws, tmp_path)
    _, li = _obs(ws)[2]
    with ws.engine.begin() as conn:
        data = conn.execute(sa.select(ledger_entries.c.data).where(ledger_entries.c.idx == li))
        new = bytes(data.scalar_one()).replace(b'"count":', b'"count":1')
        conn.execute(
            ledger_entries.update()
            .where(ledger_entries.c.idx == li)
            .values(data=new, leaf_hash=leaf_hash(new))
        )
        store.rebuild_tiles(conn)
        count = json.loads(new)["record"]["count"]  # the row too, so the store backs it
        conn.execute(
            observations.update().where(observations.c.ledger_index == li), {"count": count}
        )
    bundle = tmp_path / "now.jsonl"
    with pytest.raises(IntegrityError, match="refusing to sign"):
        svc.export_bundle(ws, bundle)  # the mission's signer does not equivocate
    assert _has(svc.verify_store(ws).issues, "root")  # the old signed head no longer matches
    _forget_heads(ws)
    svc.export_bundle(ws, bundle)  # a new head: same size, another root
    alone = audit_files(bundle, head_file, key)
    assert _has(alone.issues, "split_view") and _has(alone.issues, "root")
    named = audit_files(bundle, head_file, key, previous=kept)
    assert _has(named.issues, "modified", li)


def test_deleted_entry_is_named(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    kept, head_file, key = _world(ws, tmp_path)
    _, li = _obs(ws)[0]
    _sql(ws, "DELETE FROM ledger_entries WHERE idx = :i", i=li)
    [issue] = svc.verify_store(ws).issues  # one deleted entry is one problem
    assert (issue.problem, issue.index) == ("deleted", li)
    assert f"entry {li} is missing (observations row" in issue.detail
    bundle = tmp_path / "now.jsonl"
    svc.export_bundle(ws, bundle)
    audit = audit_files(bundle, head_file, key, previous=kept)
    assert _has(audit.issues, "deleted", li)


def test_swapped_entries_are_named(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    kept, head_file, key = _world(ws, tmp_path)
    (_, a), (_, b) = _obs(ws)[:2]
    with ws.engine.begin() as conn:
        e = ledger_entries.c
        ra = conn.execute(sa.select(e.data, e.leaf_hash, e.ref).where(e.idx == a)).one()
        rb = conn.execute(sa.select(e.data, e.leaf_hash, e.ref).where(e.idx == b)).one()
        for idx, r in ((a, rb), (b, ra)):
            conn.execute(
                ledger_entries.update()
                .where(e.idx == idx)
                .values(data=r.data, leaf_hash=r.leaf_hash, ref=r.ref)
            )
    rep = svc.verify_store(ws)
    assert _has(rep.issues, "reordered", a) and _has(rep.issues, "reordered", b)
    bundle = tmp_path / "now.jsonl"
    svc.export_bundle(ws, bundle)
    audit = audit_files(bundle, head_file, key, previous=kept)
    assert _has(audit.issues, "reordered", a) and _has(audit.issues, "reordered", b)


def test_a_tampered_kept_bundle_is_refused_as_previous(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    kept, head_file, key = _world(sqlite_workspace, tmp_path)
    text = kept.read_text(encoding="utf-8")
    assert '\\"count\\":1,' in text  # an observation's count, inside an entry's data
    kept.write_text(text.replace('\\"count\\":1,', '\\"count\\":7,', 1), encoding="utf-8")
    now = tmp_path / "now.jsonl"
    svc.export_bundle(sqlite_workspace, now)
    with pytest.raises(InputError, match="kept bundle does not match its own signed head"):
        audit_files(now, head_file, key, previous=kept)


def test_edited_tile_hash_is_named(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    """A tile feeds inclusion and consistency proofs; a wrong hash in it must be caught."""
    ws = sqlite_workspace
    _world(ws, tmp_path)
    edit_tile_hash(ws, 0, 2)
    issues = svc.verify_store(ws).issues
    assert [(i.problem, i.index) for i in issues] == [("modified", 2)]
    assert "entry 2 no longer hashes to the tree's stored leaf hash" in issues[0].detail
    assert "ledger_tiles edited" in issues[0].detail


def test_deleted_tile_is_not_called_an_append(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    _world(ws, tmp_path)
    with ws.engine.connect() as conn:
        n = store.size(conn)
    _sql(ws, "DELETE FROM ledger_tiles WHERE level = 0 AND idx = 0")
    issues = svc.verify_store(ws).issues
    assert [(i.problem, i.index) for i in issues] == [("deleted", 0)]
    assert issues[0].detail.endswith(
        f"the first (level 0, index 0) over entries 0..{n - 1}: ledger_tiles rows were deleted"
    )
    with pytest.raises(IntegrityError, match="outside truceline's API"):
        with ws.engine.begin() as conn:
            store.append(conn, "note", [("x", {"a": 1})])


def test_truncation_is_named(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    kept, head_file, key = _world(ws, tmp_path)
    n = read_bundle(kept).size
    _sql(ws, "DELETE FROM ledger_entries WHERE idx >= :i", i=n - 3)
    [issue] = svc.verify_store(ws).issues  # one cause, named once, in the right order
    assert (issue.problem, issue.index) == ("truncated", n - 3)
    assert f"entries {n - 3}..{n - 1} are missing at the end" in issue.detail
    with pytest.raises(IntegrityError, match="entries were removed"):
        svc.issue_tree_head(ws)  # the mission cannot sign a shorter log
    short = tmp_path / "short.jsonl"
    short.write_text("".join(kept.read_text().splitlines(True)[: n - 2]))
    assert _has(audit_files(short, head_file, key).issues, "truncated", n - 3)


def test_append_outside_the_api_is_named(workspace: Workspace, tmp_path: Path) -> None:
    _world(workspace, tmp_path)
    with workspace.engine.connect() as conn:
        n = store.size(conn)
    d = entry_data("observation", "forged", {"source_id": "x", "kind": "explosion"})
    for i in (n, n + 1):
        _sql(
            workspace,
            "INSERT INTO ledger_entries (idx, kind, ref, data, leaf_hash, at) "
            "VALUES (:i, 'observation', 'forged', :d, :h, 0)",
            i=i,
            d=d,
            h=leaf_hash(d),
        )
    rep = svc.verify_store(workspace)
    [issue] = rep.issues  # the forged entries' missing rows are echoes of the append
    assert (issue.problem, issue.index) == ("appended", n)
    assert f"entries {n}..{n + 1} were appended behind the API" in issue.detail
    with pytest.raises(IntegrityError, match=f"entries {n}..{n + 1} were appended"):
        svc.issue_tree_head(workspace)
    with pytest.raises(IntegrityError):
        with workspace.engine.begin() as conn:
            store.append(conn, "note", [("ok", {"a": 1})])


def test_row_inserted_without_the_ledger_is_named(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = sqlite_workspace
    _world(ws, tmp_path)
    _sql(
        ws,
        "INSERT INTO observations (uid, source_id, t, t_unc_s, kind, count, credibility, "
        "received_at) SELECT 'forged', source_id, t, t_unc_s, kind, count, credibility, "
        "received_at FROM observations LIMIT 1",
    )
    issues = svc.verify_store(ws).issues
    assert any(i.problem == "unledgered" and "observations row" in i.detail for i in issues)


def test_rows_changed_through_the_api_are_not_flagged(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """A source updated by a later entry and a finding moved on by a status entry are
    the ledger's own history; a hand edit after them is still caught."""
    from truceline.service.sources import update_source
    from truceline.store.schema import findings

    ws = sqlite_workspace
    _world(ws, tmp_path)
    update_source(ws, "mon-01", group="monitors", actor="ops", reason="grouped")
    row = {
        "key": "k1", "rule_id": "r1", "rule_kind": "fire", "agreement_id": "a",
        "agreement_version": 1, "period_start": 0, "period_end": 10, "severity": "minor",
        "confidence": 0.5, "status": "open", "summary": "s", "created_at": 1,
        "evidence": '{"incidents": [1]}',
    }  # fmt: skip
    with ws.engine.begin() as conn:
        [li] = store.append(conn, "finding", [("k1", {**row, "evidence": {"incidents": [1]}})])
        fid = conn.execute(findings.insert().values(**row, ledger_index=li)).inserted_primary_key
        assert fid is not None
        change = {"finding_id": fid[0], "from_status": "open", "to_status": "confirmed"}
        store.append(conn, "finding_status", [(str(fid[0]), change)])
        conn.execute(findings.update().values(status="confirmed"))
    assert svc.verify_store(ws).issues == []
    _sql(ws, "UPDATE sources SET name = 'renamed' WHERE id = 'mon-01'")
    _sql(ws, "UPDATE findings SET status = 'dismissed', confidence = 0.9")
    issues = svc.verify_store(ws).issues
    assert any("sources row mon-01" in i.detail and "name" in i.detail for i in issues)
    assert any("findings row" in i.detail and "status" in i.detail for i in issues)


def test_a_store_whose_every_source_was_updated_matches_its_ledger(workspace: Workspace) -> None:
    """With one source, its key rotated, no row points to its registration entry any more:
    the row is still the registration with the update folded over it, and a hand edit
    after that is still caught."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from truceline.service.sources import register_source, update_source

    def key() -> str:
        raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    ws = workspace
    register_source(ws, "mon-01", "monitor", public_key=key(), actor="ops")
    update_source(ws, "mon-01", public_key=key(), actor="ops", reason="device replaced")
    assert svc.verify_store(ws).issues == []
    update_source(ws, "mon-01", name="Monitor one", actor="ops", reason="renamed")
    assert svc.verify_store(ws).issues == []
    assert (
        svc.issue_tree_head(ws).size == 4
    )  # registration, grade, two updates: the signer finds every entry backed
    _sql(ws, "UPDATE sources SET independence_group = 'other' WHERE id = 'mon-01'")
    issues = svc.verify_store(ws).issues
    assert any("sources row mon-01" in i.detail and "independence_group" in i.detail
               for i in issues)  # fmt: skip


def test_earlier_heads_narrow_a_rewrite_down(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    ws = sqlite_workspace
    _, head1, key = _world(ws, tmp_path)
    from truceline.service.deconfliction_replies import hotline

    with ws.engine.connect() as conn:
        n = store.size(conn)
    for i in range(6):  # hotline calls: entries the store backs
        hotline(ws, "duty officer", f"call {i}", now=1_800_000_000 + i)
    head2 = tmp_path / "HEAD2.json"
    head2.write_text(svc.issue_tree_head(ws).checkpoint)
    with ws.engine.begin() as conn:  # entry, leaf hash, nodes and row rewritten together
        _, _, data, _ = store.entry(conn, n + 3)
        new = data.replace(b"call 3", b"call 333")
        conn.execute(
            ledger_entries.update()
            .where(ledger_entries.c.idx == n + 3)
            .values(data=new, leaf_hash=leaf_hash(new))
        )
        store.rebuild_tiles(conn)
        conn.execute(
            sa.text("UPDATE hotline_calls SET summary = 'call 333' WHERE summary = 'call 3'")
        )
    bundle = tmp_path / "now.jsonl"
    _forget_heads(ws)
    svc.export_bundle(ws, bundle)
    rep = audit_files(bundle, [head2, head1], key)
    [root] = [i for i in rep.issues if i.problem == "root"]
    assert root.index == n and f"entries {n}..{n + 5}" in root.detail


def test_bundle_labels_out_of_sequence_are_named_from_the_bundle_alone(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """Read as a stream: a line dropped, two lines swapped and a line repeated."""
    kept, head_file, key = _world(sqlite_workspace, tmp_path)
    header, *lines = kept.read_text(encoding="utf-8").splitlines(keepends=True)

    def audit(entries: list[str]) -> set[tuple[str, int | None]]:
        path = tmp_path / "edited.jsonl"
        path.write_text(header + "".join(entries), encoding="utf-8")
        return {(i.problem, i.index) for i in audit_files(path, head_file, key).issues}

    assert ("deleted", 3) in audit(lines[:3] + lines[4:])
    swapped = audit(lines[:3] + [lines[4], lines[3]] + lines[5:])
    assert {("reordered", 3), ("reordered", 4)} <= swapped
    assert ("inserted", 5) in audit(lines[:6] + [lines[5]] + lines[6:])
