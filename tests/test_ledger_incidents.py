"""Incidents recomputed from the log: a hand edit of ``incidents`` or of
``incident_observations`` is named once, by the entry that set the value, on a real
SQLite file and on PostgreSQL.

The world (a scenario fused in three increments, so incidents are created, updated,
merged, attributed, disputed and placed on a side of the line) is built once per store;
each case edits it inside a transaction, checks what that transaction sees, and rolls
back, so every case starts from the same untampered store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import built_workspace

from truceline.ledger.audit import Issue
from truceline.ledger.storecheck import verify_store
from truceline.service import ledger as svc
from truceline.service.workspace import Workspace
from truceline.store.ledger_check import LedgerView

EXAMPLE = Path(__file__).parents[1] / "examples" / "minsk-2015"


def _build(ws: Workspace, tmp: Path) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from truceline.compliance.agreement import load_agreement_file
    from truceline.service.agreements import load_agreement
    from truceline.service.demo import _scenario_file
    from truceline.service.fusion import fuse
    from truceline.service.ingest import ingest_files

    load_agreement(ws, EXAMPLE)
    path, _ = _scenario_file(ws, load_agreement_file(EXAMPLE), tmp, 7, 3)
    table = pq.read_table(path)
    assert not pc.all(pc.is_valid(table["lon"])).as_py()  # bearing-only ones placed too
    for k in range(3):  # three increments: later ones join and merge earlier incidents
        part = tmp / f"part{k}.parquet"
        pq.write_table(table.take(list(range(k, table.num_rows, 3))), part)
        ingest_files(ws, [part])
        fuse(ws)
    svc.issue_tree_head(ws)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    tmp = tmp_path_factory.mktemp("incidents")
    yield from built_workspace(request.param, tmp, lambda ws: _build(ws, tmp))


def _rows(ws: Workspace, sql: str, **params: object) -> list[Any]:
    with ws.engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


def _facts(ws: Workspace, incident: int) -> list[tuple[int, str, dict[str, Any]]]:
    """The logged facts of one incident: (entry, kind, record), in ledger order."""
    q = (
        "SELECT idx, kind, data FROM ledger_entries WHERE ref = :r AND kind IN "
        "('incident', 'status_change', 'incident_attribution', 'incident_side') ORDER BY idx"
    )
    return [
        (int(i), str(k), json.loads(bytes(d))["record"])
        for i, k, d in _rows(ws, q, r=str(incident))
    ]


def _last(ws: Workspace, incident: int, *kinds: str, merged: bool = False) -> int:
    return max(
        i
        for i, k, rec in _facts(ws, incident)
        if k in kinds and (k != "status_change" or (rec.get("to_status") == "merged") == merged)
    )


def _tampered(ws: Workspace, *stmts: str, **params: object) -> list[Issue]:
    """What verify-store names in a transaction that ran ``stmts`` (rolled back after)."""
    with ws.engine.connect() as conn:
        for s in stmts:
            conn.execute(sa.text(s), params)
        issues = verify_store(LedgerView(conn)).issues
        conn.rollback()
    return issues


def _incident(ws: Workspace, where: str) -> Any:
    return _rows(ws, f"SELECT * FROM incidents WHERE {where} ORDER BY id LIMIT 1")[0]


def test_the_fused_world_verifies_clean(world: Workspace) -> None:
    n_merged, n_actor, n_side = _rows(
        world,
        "SELECT count(merged_into), count(actor), count(side) FROM incidents",
    )[0]
    assert n_merged > 0 and n_actor > 0 and n_side > 0  # every kind of fact is exercised
    assert svc.verify_store(world).issues == []


def test_status_edited(world: Workspace) -> None:
    inc = _incident(world, "merged_into IS NULL AND status = 'reported'")
    [issue] = _tampered(world, "UPDATE incidents SET status = 'verified' WHERE id = :i", i=inc.id)
    li = _last(world, inc.id, "incident", "status_change")
    assert (issue.problem, issue.index) == ("modified", li)
    assert issue.detail == (
        f"incidents row {inc.id}: status is 'verified' in the table but 'reported' in the ledger"
    )


def test_location_edited(world: Workspace) -> None:
    inc = _incident(world, "merged_into IS NULL")
    [issue] = _tampered(
        world, "UPDATE incidents SET lon = lon + 0.1, lat = lat - 0.1 WHERE id = :i", i=inc.id
    )
    assert (issue.problem, issue.index, issue.kind) == (
        "modified",
        _last(world, inc.id, "incident"),
        "incident",
    )
    assert issue.detail.startswith(f"incidents row {inc.id}: ")
    assert f"lon is {inc.lon + 0.1!r} in the table but {inc.lon!r} in the ledger" in issue.detail
    assert f"lat is {inc.lat - 0.1!r} in the table but {inc.lat!r} in the ledger" in issue.detail


def test_actor_changed(world: Workspace) -> None:
    inc = _incident(world, "actor IS NOT NULL")
    other = "B" if inc.actor != "B" else "A"
    [issue] = _tampered(world, "UPDATE incidents SET actor = :a WHERE id = :i", a=other, i=inc.id)
    li = _last(world, inc.id, "incident_attribution")
    assert (issue.problem, issue.index, issue.kind) == ("modified", li, "incident_attribution")
    assert issue.detail == (
        f"incidents row {inc.id}: actor is {other!r} in the table but {inc.actor!r} in the ledger"
    )


def test_actor_set_where_never_attributed(world: Workspace) -> None:
    attributed = {
        int(r)
        for (r,) in _rows(
            world, "SELECT ref FROM ledger_entries WHERE kind = 'incident_attribution'"
        )
    }
    ids = [int(i) for (i,) in _rows(world, "SELECT id FROM incidents ORDER BY id")]
    iid = next(i for i in ids if i not in attributed)
    [issue] = _tampered(
        world, "UPDATE incidents SET actor = 'A', actor_confidence = 0.9 WHERE id = :i", i=iid
    )
    created = min(i for i, k, _ in _facts(world, iid) if k == "incident")
    assert (issue.problem, issue.index, issue.kind) == ("modified", created, "incident")
    assert "actor is 'A' in the table but None in the ledger" in issue.detail
    assert "actor_confidence is 0.9 in the table but None in the ledger" in issue.detail


def test_side_probabilities_edited(world: Workspace) -> None:
    inc = _incident(world, "side IS NOT NULL")
    [issue] = _tampered(
        world, "UPDATE incidents SET side = :s WHERE id = :i", s='{"A": 1.0}', i=inc.id
    )
    li = _last(world, inc.id, "incident_side")
    assert (issue.problem, issue.index, issue.kind) == ("modified", li, "incident_side")
    assert issue.detail.startswith(f"incidents row {inc.id}: side is '{{\"A\": 1.0}}' in the table")


def test_merge_undone(world: Workspace) -> None:
    inc = _incident(world, "merged_into IS NOT NULL")
    [issue] = _tampered(world, "UPDATE incidents SET merged_into = NULL WHERE id = :i", i=inc.id)
    li = _last(world, inc.id, "status_change", merged=True)
    assert (issue.problem, issue.index, issue.kind) == ("modified", li, "status_change")
    assert issue.detail == (
        f"incidents row {inc.id}: merged_into is None in the table but "
        f"{inc.merged_into} in the ledger"
    )


def test_merge_invented(world: Workspace) -> None:
    a, b = _rows(world, "SELECT id FROM incidents WHERE merged_into IS NULL ORDER BY id LIMIT 2")
    [issue] = _tampered(
        world, "UPDATE incidents SET merged_into = :b WHERE id = :a", a=a.id, b=b.id
    )
    created = min(i for i, k, _ in _facts(world, a.id) if k == "incident")
    assert (issue.problem, issue.index, issue.kind) == ("modified", created, "incident")
    assert f"merged_into is {b.id} in the table but None in the ledger" in issue.detail


def test_membership_moved(world: Workspace) -> None:
    (a, o), (b,) = (
        _rows(world, "SELECT incident_id, observation_id FROM incident_observations ORDER BY 2")[0],
        *_rows(
            world, "SELECT id FROM incidents WHERE merged_into IS NULL ORDER BY id DESC LIMIT 1"
        ),
    )
    assert a != b
    [issue] = _tampered(
        world,
        "UPDATE incident_observations SET incident_id = :b WHERE observation_id = :o",
        b=b,
        o=o,
    )
    assert (issue.problem, issue.index, issue.kind) == (
        "modified",
        _last(world, a, "incident"),
        "incident",
    )
    assert issue.detail == (
        f"incident_observations of incident {a}: observation {o} is in incident {b} instead"
    )


def test_membership_removed(world: Workspace) -> None:
    a, o = _rows(world, "SELECT incident_id, observation_id FROM incident_observations ORDER BY 2")[
        0
    ]
    [issue] = _tampered(world, "DELETE FROM incident_observations WHERE observation_id = :o", o=o)
    assert (issue.problem, issue.index) == ("modified", _last(world, a, "incident"))
    assert (
        issue.detail == f"incident_observations of incident {a}: observation {o} is in no incident"
    )


def test_incident_inserted_behind_the_api(world: Workspace) -> None:
    top = int(_rows(world, "SELECT max(id) FROM incidents")[0][0])
    cols = [c for c in _rows(world, "SELECT * FROM incidents LIMIT 1")[0]._fields if c != "id"]
    names = ", ".join(cols)
    [issue] = _tampered(
        world,
        f"INSERT INTO incidents (id, {names}) SELECT :n, {names} FROM incidents WHERE id = :t",
        n=top + 1,
        t=top,
    )
    assert (issue.problem, issue.index, issue.kind) == ("unledgered", None, "incident")
    assert issue.detail == f"incidents row {top + 1} has no ledger entry"


def test_deleted_attribution_entry_is_one_problem(world: Workspace) -> None:
    """A deleted fact is named as the missing entry, not again as the incident it set."""
    (li,) = _rows(world, "SELECT max(idx) FROM ledger_entries WHERE kind = 'incident_attribution'")[
        0
    ]
    issues = _tampered(world, "DELETE FROM ledger_entries WHERE idx = :i", i=li)
    assert [(i.problem, i.index) for i in issues] == [("deleted", li)]
