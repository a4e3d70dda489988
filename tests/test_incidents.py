"""The audited incident lifecycle and the side of the line, on both stores and the CLI."""

from __future__ import annotations

import json
import time

import pytest
from shapely.geometry import box
from sqlalchemy import Connection, select
from typer.testing import CliRunner

from truceline.cli import app
from truceline.domain.errors import Conflict, InputError, NotFound
from truceline.geo.geodesy import degrees_per_metre
from truceline.ledger.log import entry_data
from truceline.service.incidents import (
    change_status,
    list_incidents,
    record_transitions,
    reopen,
    show_incident,
    update_sides,
    verify,
)
from truceline.service.sources import ensure_sources, update_source
from truceline.service.workspace import Workspace
from truceline.store.schema import (
    incident_observations,
    incidents,
    ledger_entries,
    observations,
    status_changes,
)

T0 = 1_750_000_000


def _observation(conn: Connection, uid: str, source: str, t: int) -> int:
    row = {
        "uid": uid,
        "source_id": source,
        "t": t,
        "t_unc_s": 30.0,
        "lon": 37.5,
        "lat": 48.0,
        "radius_m": 500.0,
        "kind": "explosion",
        "count": 1,
        "credibility": 2,
        "received_at": t,
    }
    return int(
        conn.execute(observations.insert().values(**row).returning(observations.c.id)).scalar_one()
    )


def _incident(conn: Connection, t: int, lon: float, lat: float, radius: float, **kw: object) -> int:
    row = {
        "t": t,
        "t_start": t,
        "t_end": t,
        "lon": lon,
        "lat": lat,
        "radius_m": radius,
        "kind": "explosion",
        "count": 1,
        "status": "reported",
        "n_observations": 1,
        "n_groups": 1,
        "confidence": 0.5,
        "created_at": t,
        "updated_at": t,
        **kw,
    }
    return int(
        conn.execute(incidents.insert().values(**row).returning(incidents.c.id)).scalar_one()
    )


@pytest.fixture
def two_incidents(workspace: Workspace) -> tuple[int, int]:
    with workspace.engine.begin() as conn:
        ensure_sources(conn, [("cam-1", "camera"), ("cam-2", "camera"), ("osint-1", "osint")])
        a = _incident(
            conn,
            T0,
            37.5,
            48.0,
            400.0,
            n_observations=3,
            n_groups=2,
            status="corroborated",
            confidence=0.8,
        )
        b = _incident(conn, T0 + 60, 37.6, 48.1, 900.0, merged_into=a)
        for k, src in enumerate(("cam-1", "cam-2", "osint-1")):
            oid = _observation(conn, f"u{k}", src, T0 + k)
            conn.execute(incident_observations.insert().values(observation_id=oid, incident_id=a))
    update_source(workspace, "cam-2", group="cam-1", actor="ana", reason="one array")
    return a, b


def test_lifecycle_records_actor_reason_evidence_in_ledger(
    workspace: Workspace, two_incidents: tuple[int, int]
) -> None:
    a, _ = two_incidents
    c1 = change_status(workspace, a, "dispute", reason="party B denies", actor="liaison-desk")
    assert (c1.from_status, c1.to_status) == ("corroborated", "disputed")
    assert c1.evidence["sources"] == ["cam-1", "cam-2", "osint-1"]
    assert c1.evidence["groups"] == ["cam-1", "osint-1"]
    assert len(c1.evidence["observations"]) == 3 and c1.evidence["confidence"] == 0.8
    verify(workspace, a, reason="crater visited", actor="ana")
    with pytest.raises(Conflict, match="from verified to verified"):
        verify(workspace, a, reason="again", actor="ana")
    c3 = reopen(workspace, a, reason="new imagery", actor="ana")
    assert c3.to_status == "corroborated"  # back to what the evidence says (2 groups)
    d = show_incident(workspace, a)
    assert [h.to_status for h in d.history] == ["disputed", "verified", "corroborated"]
    assert [h.reason for h in d.history][1] == "crater visited"
    assert {o["source_id"] for o in d.observations} == {"cam-1", "cam-2", "osint-1"}
    assert d.incident.status == "corroborated"
    with workspace.engine.connect() as conn:
        leaves = conn.execute(
            select(ledger_entries.c.idx, ledger_entries.c.data)
            .where(ledger_entries.c.kind == "status_change")
            .order_by(ledger_entries.c.idx)
        ).all()
        stored = conn.execute(select(status_changes.c.ledger_index).order_by(status_changes.c.id))
        assert [r[0] for r in leaves] == list(stored.scalars())
    assert b"crater visited" in leaves[1][1] and b"osint-1" in leaves[1][1]


def test_lifecycle_refusals(workspace: Workspace, two_incidents: tuple[int, int]) -> None:
    a, b = two_incidents
    with pytest.raises(NotFound):
        verify(workspace, 99999, reason="r", actor="a")
    with pytest.raises(Conflict, match="merged into"):
        verify(workspace, b, reason="r", actor="a")
    with pytest.raises(InputError, match="reason"):
        verify(workspace, a, reason=" ", actor="a")
    with pytest.raises(Conflict, match="from corroborated to corroborated"):
        reopen(workspace, a, reason="r", actor="a")
    with workspace.engine.connect() as conn:
        assert conn.execute(select(status_changes.c.id)).first() is None
    assert [i.id for i in list_incidents(workspace)] == [a]
    assert {i.id for i in list_incidents(workspace, include_merged=True)} == {a, b}
    assert list_incidents(workspace, status="verified") == []
    with pytest.raises(InputError, match="not one of"):
        list_incidents(workspace, status="closed")


def test_fusion_batch_transitions(workspace: Workspace, two_incidents: tuple[int, int]) -> None:
    a, b = two_incidents
    with workspace.engine.begin() as conn:
        out = record_transitions(
            conn,
            [(a, "corroborated", "disputed"), (b, None, "reported")],
            actor="fusion",
            reason="sensor held the place and saw nothing",
            at=T0 + 999,
        )
    assert [c.ledger_index for c in out] == sorted(c.ledger_index for c in out)
    assert show_incident(workspace, a).incident.status == "disputed"
    assert show_incident(workspace, b).history[0].at == T0 + 999


def test_update_sides_from_uncertainty(workspace: Workspace) -> None:
    lon0 = 37.5
    control = [(0, None, {"P": box(30, 44, lon0, 52), "Q": box(lon0, 44, 45, 52)})]
    dlon, _ = degrees_per_metre(48.0)
    with workspace.engine.begin() as conn:
        near = _incident(conn, T0, lon0 + 100 * dlon, 48.0, 2000.0)
        far = _incident(conn, T0, lon0 - 0.5, 48.0, 2000.0)
        ell = json.dumps({"semi_major_m": 5000.0, "semi_minor_m": 100.0, "azimuth_deg": 0.0})
        along = _incident(conn, T0, lon0 + 1000 * dlon, 48.0, 5000.0, ellipse=ell)
        done = _incident(conn, T0, lon0, 48.0, 10.0, side=json.dumps({"P": 1.0}))
    assert update_sides(workspace, control) == 3
    sides = {i.id: i.side for i in list_incidents(workspace)}
    assert 0.4 < sides[near]["Q"] < 0.7  # not simply the side of the centre point
    assert sides[far] == {"P": 1.0, "Q": 0.0}
    assert sides[along]["Q"] > 0.99
    assert sides[done] == {"P": 1.0}
    assert update_sides(workspace, control) == 0
    assert update_sides(workspace, control, ids=[done]) == 1  # recomputed on request
    redone = {i.id: i.side for i in list_incidents(workspace)}[done]
    assert redone is not None and 0.4 < redone["P"] < 0.6  # on the line, 10 m radius
    with workspace.engine.connect() as conn:  # entries made as columns: canonical bytes
        q = select(ledger_entries.c.ref, ledger_entries.c.data, ledger_entries.c.at)
        entries = conn.execute(q.where(ledger_entries.c.kind == "incident_side")).all()
    assert len(entries) == 4
    for ref, data, at in entries:
        record = json.loads(bytes(data))["record"]
        assert record["incident_id"] == int(ref) and set(record["side"]) == {"P", "Q"}
        assert bytes(data) == entry_data("incident_side", ref, record, at)


def test_update_sides_uses_control_in_force_at_the_time(workspace: Workspace) -> None:
    # the line moved on T0 + 1 day: an incident before it and one after
    before = [(0, T0 + 86400, {"P": box(30, 44, 37.5, 52), "Q": box(37.5, 44, 45, 52)})]
    after = [(T0 + 86400, None, {"P": box(30, 44, 38.5, 52), "Q": box(38.5, 44, 45, 52)})]
    with workspace.engine.begin() as conn:
        i1 = _incident(conn, T0, 38.0, 48.0, 100.0)
        i2 = _incident(conn, T0 + 2 * 86400, 38.0, 48.0, 100.0)
    assert update_sides(workspace, before + after) == 2
    sides = {i.id: i.side for i in list_incidents(workspace)}
    assert sides[i1] == {"P": 0.0, "Q": 1.0} and sides[i2] == {"P": 1.0, "Q": 0.0}


def test_cli_incidents(workspace: Workspace, two_incidents: tuple[int, int]) -> None:
    a, _ = two_incidents
    run = CliRunner()
    db = ["--db", workspace.url]
    r = run.invoke(app, [*db, "incidents", "verify", str(a), "--reason", "seen", "--actor", "ana"])
    assert r.exit_code == 0, r.output
    assert "corroborated -> verified" in r.output
    r = run.invoke(app, [*db, "incidents", "reject", str(a), "--reason", "x", "--actor", "ana"])
    assert isinstance(r.exception, Conflict)
    r = run.invoke(app, [*db, "incidents", "list", "--status", "verified"])
    assert str(a) in r.output and "verified" in r.output
    r = run.invoke(app, [*db, "incidents", "show", str(a)])
    assert r.exit_code == 0, r.output
    assert "cam-2" in r.output and "seen" in r.output and "not attributed" in r.output
    r = run.invoke(app, [*db, "incidents", "list", "--since", time.strftime("%Y-%m-%d")])
    assert r.exit_code == 0 and "verified" not in r.output  # all incidents are older


def test_update_sides_takes_the_latest_starting_control_in_force(workspace: Workspace) -> None:
    """Two open-ended versions overlap after the second starts: as ``agreement_in_force``,
    the latest-starting one decides, whatever the order the versions are listed in."""
    later = (T0 + 100, None, {"P": box(30, 44, 45, 52)})
    earlier = (T0, None, {"Q": box(30, 44, 45, 52)})
    with workspace.engine.begin() as conn:
        first = _incident(conn, T0 + 50, 38.0, 48.0, 100.0)
        second = _incident(conn, T0 + 200, 38.0, 48.0, 100.0)
    assert update_sides(workspace, [later, earlier]) == 2
    sides = {i.id: i.side for i in list_incidents(workspace)}
    assert sides[first] == {"Q": 1.0} and sides[second] == {"P": 1.0}


# SQLite serialises writers with BEGIN IMMEDIATE; the advisory lock is what PostgreSQL needs
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_concurrent_decisions_are_serialised(
    workspace: Workspace, two_incidents: tuple[int, int]
) -> None:
    """A decision reads the status under the writer lock: another analyst's decision that
    commits meanwhile is seen, not overwritten from a stale status."""
    import threading

    from sqlalchemy import text

    from truceline.store import ledger as log

    a, _ = two_incidents
    out: dict[str, object] = {}

    def decide() -> None:
        try:
            out["change"] = verify(workspace, a, reason="seen on imagery", actor="ana")
        except Conflict as exc:
            out["refused"] = exc

    with workspace.engine.connect() as held, workspace.engine.connect() as probe:
        tx = held.begin()
        log.lock(held)
        pid = held.execute(text("SELECT pg_backend_pid()")).scalar_one()
        other = threading.Thread(target=decide)
        other.start()
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE :p = ANY(pg_blocking_pids(pid))"
        )
        for _ in range(600):  # until the other decision waits for our lock
            if probe.execute(waiting, {"p": pid}).scalar_one():
                break
            probe.rollback()
            time.sleep(0.05)
        record_transitions(held, [(a, "corroborated", "rejected")], actor="bob", reason="staged")
        tx.commit()
        other.join(60)
    assert isinstance(out.get("refused"), Conflict), out
    assert show_incident(workspace, a).incident.status == "rejected"
