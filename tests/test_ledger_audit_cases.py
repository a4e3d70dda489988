"""The audit's cases, each on a real SQLite file and on PostgreSQL: a column changed behind
the API is named once, with the exact problem; a workspace changed only through the API
verifies clean after every legitimate command."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from truceline.ledger.audit import Issue
from truceline.service import ledger as svc
from truceline.service.workspace import Workspace

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).parents[1] / "examples" / "minsk-2015"


def _sql(ws: Workspace, stmt: str, **params: object) -> None:
    with ws.engine.begin() as conn:
        conn.execute(sa.text(stmt), params)


def _one(ws: Workspace) -> Issue:
    issues = svc.verify_store(ws).issues
    assert len(issues) == 1, issues
    return issues[0]


def _first(ws: Workspace, sql: str) -> tuple[object, int]:
    with ws.engine.connect() as conn:
        key, li = conn.execute(sa.text(sql)).one()
    return key, int(li)


@pytest.fixture
def world(workspace: Workspace) -> Workspace:
    from truceline.service.agreements import load_agreement
    from truceline.service.ingest import ingest_files

    load_agreement(workspace, EXAMPLE)
    ingest_files(workspace, [DATA / "mixed_native.csv", DATA / "mixed.jsonl"])
    svc.issue_tree_head(workspace)
    assert svc.verify_store(workspace).ok
    return workspace


def test_received_at_changed(world: Workspace) -> None:
    oid, li = _first(world, "SELECT id, ledger_index FROM observations ORDER BY id LIMIT 1")
    _sql(world, "UPDATE observations SET received_at = received_at - 3600 WHERE id = :i", i=oid)
    issue = _one(world)
    assert (issue.problem, issue.index, issue.kind) == ("modified", li, "observation")
    assert "received_at is" in issue.detail and "but the leaf was accepted at" in issue.detail


def test_actor_null_to_a_party(world: Workspace) -> None:
    oid, li = _first(
        world, "SELECT id, ledger_index FROM observations WHERE actor IS NULL ORDER BY id LIMIT 1"
    )
    _sql(world, "UPDATE observations SET actor = 'A' WHERE id = :i", i=oid)
    issue = _one(world)
    assert (issue.problem, issue.index) == ("modified", li)
    assert f"observations row {oid}: actor is 'A' in the table but None in the ledger" in (
        issue.detail
    )


def test_source_public_key_set_where_null(world: Workspace) -> None:
    sid, li = _first(
        world, "SELECT id, ledger_index FROM sources WHERE public_key IS NULL ORDER BY id LIMIT 1"
    )
    _sql(world, "UPDATE sources SET public_key = :k WHERE id = :i", k=bytes(32), i=sid)
    issue = _one(world)
    assert (issue.problem, issue.index, issue.kind) == ("modified", li, "source")
    assert f"sources row {sid}: public_key is" in issue.detail and "None in the ledger" in (
        issue.detail
    )


def test_agreement_content_edited(world: Workspace) -> None:
    aid, li = _first(world, "SELECT id, ledger_index FROM agreements ORDER BY id LIMIT 1")
    _sql(world, "UPDATE agreements SET content = replace(content, '2000', '20000')")
    issue = _one(world)
    assert (issue.problem, issue.index, issue.kind) == ("modified", li, "agreement")
    assert f"agreements row {aid}: content no longer has the sha256 the ledger names" in (
        issue.detail
    )


def test_entry_time_changed(world: Workspace) -> None:
    _sql(world, "UPDATE ledger_entries SET at = at + 86400 WHERE idx = 3")
    issue = _one(world)
    assert (issue.problem, issue.index) == ("relabelled", 3)
    assert "in ledger_entries but" in issue.detail and "in the leaf" in issue.detail


def test_head_time_changed(world: Workspace) -> None:
    _sql(world, "UPDATE tree_heads SET issued_at = issued_at - 86400")
    issue = _one(world)
    assert issue.problem == "head" and "but it was signed at" in issue.detail


def test_cosignature_edited(world: Workspace, tmp_path: Path) -> None:
    from truceline.ledger.witness import check_head, init_witness

    with world.engine.connect() as conn:
        key = svc.current_key(conn)
        head = svc.latest_tree_head(conn)
    assert key is not None and head is not None
    v = init_witness("party.example/w1", tmp_path / "w.key", tmp_path / "w", key.vkey)
    res = check_head(tmp_path / "w", head.checkpoint, None)
    svc.add_cosignature(world, res.cosigned, v.vkey)
    assert svc.verify_store(world).ok
    _sql(world, "UPDATE cosignatures SET signature_line = replace(signature_line, 'A', 'B')")
    issue = _one(world)
    assert issue.problem == "head" and "the cosignature of party.example/w1 fails" in (issue.detail)


def test_every_legitimate_command_leaves_the_store_verifying_clean(
    workspace: Workspace, tmp_path: Path
) -> None:
    """The scenario through ingest, fuse and check, then each command a mission runs."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from truceline.compliance.agreement import load_agreement_file
    from truceline.service import findings, incidents
    from truceline.service.agreements import load_agreement
    from truceline.service.compliance import check
    from truceline.service.demo import _scenario_file
    from truceline.service.fusion import fuse
    from truceline.service.ingest import ingest_files
    from truceline.service.sources import grade_source
    from truceline.service.verification import update_verification

    ws = workspace

    def clean(after: str) -> None:
        rep = svc.verify_store(ws)
        assert rep.ok, (after, rep.issues[:3])

    load_agreement(ws, EXAMPLE)
    path, _ = _scenario_file(ws, load_agreement_file(EXAMPLE), tmp_path, 7, 3)
    table = pq.read_table(path)
    table = table.filter(pc.is_valid(table["lon"]))  # see test_ledger_incidents._build
    for k in range(3):  # increments that update and merge earlier incidents
        part = tmp_path / f"part{k}.parquet"
        pq.write_table(table.take(list(range(k, table.num_rows, 3))), part)
        ingest_files(ws, [part])
        fuse(ws)
        clean(f"ingest and fuse, increment {k}")
    check(ws)
    svc.issue_tree_head(ws)
    clean("check, head")
    sid, _ = _first(ws, "SELECT id, ledger_index FROM sources ORDER BY id LIMIT 1")
    grade_source(ws, str(sid), "B", actor="analyst", reason="track record")
    clean("source grade")
    fid, _ = _first(ws, "SELECT id, ledger_index FROM findings ORDER BY id LIMIT 1")
    findings.dismiss(ws, int(str(fid)), "analyst", "not a breach")
    clean("finding dismiss")
    findings.reopen(ws, int(str(fid)), "analyst", "new evidence")
    clean("finding reopen")
    with ws.engine.connect() as conn:
        iid = conn.execute(
            sa.text("SELECT id FROM incidents WHERE status <> 'disputed' ORDER BY id LIMIT 1")
        ).scalar_one()
    incidents.dispute(ws, int(iid), reason="party objects", actor="analyst")
    clean("incident dispute")
    update_verification(ws)
    clean("refresh")
    check(ws)
    clean("check again")
    svc.rotate_key(ws)
    svc.issue_tree_head(ws)
    clean("key rotation and a head")
