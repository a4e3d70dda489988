"""Post-fusion verification on both stores: attribution apart, silent sensors, sides."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import box
from sqlalchemy import Connection, select

from truceline.service.incidents import show_incident
from truceline.service.sources import add_coverage, ensure_sources, register_source
from truceline.service.verification import (
    attribute_incidents,
    dispute_silent,
    update_verification,
)
from truceline.service.workspace import Workspace
from truceline.store.schema import incident_observations, incidents, observations

T0 = 1_750_000_000


def _obs(conn: Connection, uid: str, source: str, actor: str | None = None, **kw: object) -> int:
    row = {
        "uid": uid,
        "source_id": source,
        "t": T0,
        "t_unc_s": 30.0,
        "lon": 37.05,
        "lat": 48.05,
        "radius_m": 300.0,
        "kind": "explosion",
        "count": 1,
        "credibility": 2,
        "actor": actor,
        "received_at": T0,
        **kw,
    }
    return int(
        conn.execute(observations.insert().values(**row).returning(observations.c.id)).scalar_one()
    )


def _inc(conn: Connection, members: list[int], **kw: object) -> int:
    row = {
        "t": T0,
        "t_start": T0,
        "t_end": T0,
        "lon": 37.05,
        "lat": 48.05,
        "radius_m": 300.0,
        "kind": "explosion",
        "count": 1,
        "status": "reported",
        "n_observations": len(members),
        "n_groups": 1,
        "confidence": 0.5,
        "created_at": T0,
        "updated_at": T0,
        **kw,
    }
    iid = int(conn.execute(incidents.insert().values(**row).returning(incidents.c.id)).scalar_one())
    for m in members:
        conn.execute(incident_observations.insert().values(observation_id=m, incident_id=iid))
    return iid


@pytest.fixture
def store(workspace: Workspace) -> dict[str, int]:
    register_source(
        workspace,
        "mon",
        "monitor",
        signature_policy="optional",
        reliability="A",
        group="mission",
        actor="ana",
    )
    register_source(workspace, "lia-A", "party", party="A", reliability="C", actor="ana")
    register_source(workspace, "cam", "camera", signature_policy="optional", actor="ana")
    with workspace.engine.begin() as conn:
        ensure_sources(conn, [("wire-1", "osint"), ("wire-2", "osint")])
        named = [
            _obs(
                conn, "m1", "mon", "B", attrs=json.dumps({"attribution_method": "crater analysis"})
            ),
            _obs(conn, "w1", "wire-1", "B"),
            _obs(conn, "l1", "lia-A", "B"),
        ]
        claim_only = [
            _obs(conn, "l2", "lia-A", "B", lon=37.15),
            _obs(conn, "d1", "wire-2", "B", lon=37.15, kind="denial"),  # B denies: names nobody
        ]
        plain = [_obs(conn, "w2", "wire-2", None, lon=37.15)]
        lone = [_obs(conn, "m2", "mon", None, t=T0 + 60)]
        vague = [_obs(conn, "w3", "wire-1", None, t=T0 + 120, radius_m=8000.0)]
        ids = {
            "named": _inc(conn, named, n_groups=3, status="corroborated"),
            "claim": _inc(conn, claim_only, lon=37.15),
            "plain": _inc(conn, plain, lon=37.15, t=T0 + 10),
            "lone": _inc(conn, lone, t=T0 + 60, t_start=T0 + 60, t_end=T0 + 60),
            "vague": _inc(conn, vague, t=T0 + 120, t_start=T0 + 120, t_end=T0 + 120,
                          radius_m=8000.0),
        }  # fmt: skip
    # the camera watched the first sector all day and reported nothing
    add_coverage(
        workspace,
        "cam",
        "observed",
        T0 - 3600,
        T0 + 86400,
        box(37.0, 48.0, 37.1, 48.1),
        actor="ana",
    )
    return ids


def test_attribution_from_named_actors_only(workspace: Workspace, store: dict[str, int]) -> None:
    with workspace.engine.begin() as conn:
        assert attribute_incidents(conn) == 2
        assert attribute_incidents(conn) == 0  # idempotent
    named = show_incident(workspace, store["named"]).incident
    assert named.actor == "B"
    assert named.actor_basis is not None
    assert named.actor_basis.startswith("3 independent source groups name B")
    assert "crater analysis" in named.actor_basis
    claim = show_incident(workspace, store["claim"]).incident
    assert claim.actor == "B" and "party claims only" in (claim.actor_basis or "")
    assert claim.actor_confidence is not None and named.actor_confidence is not None
    assert claim.actor_confidence < named.actor_confidence
    plain = show_incident(workspace, store["plain"]).incident
    assert plain.actor is None and plain.actor_confidence is None  # never from occurrence


def test_silent_camera_disputes_only_where_it_could_see(
    workspace: Workspace, store: dict[str, int]
) -> None:
    with workspace.engine.begin() as conn:
        assert dispute_silent(conn) == 1
        assert dispute_silent(conn) == 0
    d = show_incident(workspace, store["lone"])  # one source, where the camera must have seen
    assert d.incident.status == "disputed"
    assert d.history[-1].actor == "fusion" and "cam" in d.history[-1].reason
    assert d.history[-1].evidence["sources"] == ["mon"]
    # three independent groups are not overturned by one silent camera
    assert show_incident(workspace, store["named"]).incident.status == "corroborated"
    for k in ("claim", "plain"):  # outside the camera's field of view
        assert show_incident(workspace, store[k]).incident.status == "reported"
    # inside it, but its 8 km uncertainty reaches beyond what the camera could see
    assert show_incident(workspace, store["vague"]).incident.status == "reported"


def test_update_verification_runs_all_passes(workspace: Workspace, store: dict[str, int]) -> None:
    u = update_verification(workspace)
    assert (u.attributed, u.disputed) == (2, 1)
    with workspace.engine.connect() as conn:
        statuses = dict(conn.execute(select(incidents.c.id, incidents.c.status)).all())
    assert statuses[store["lone"]] == "disputed"


def test_cli_refresh(workspace: Workspace, store: dict[str, int]) -> None:
    from typer.testing import CliRunner

    from truceline.cli import app

    r = CliRunner().invoke(app, ["--db", workspace.url, "incidents", "refresh"])
    assert r.exit_code == 0, r.output
    assert "2 attribution(s) changed, 1 incident(s) disputed" in r.output


def test_silent_camera_needs_the_whole_window(workspace: Workspace, store: dict[str, int]) -> None:
    """An incident whose first report predates the camera's watch is not disputed by it,
    though its median time falls inside the watch."""
    with workspace.engine.begin() as conn:
        early = [_obs(conn, "m3", "mon", None, t=T0 - 7200), _obs(conn, "m4", "mon", None, t=T0)]
        iid = _inc(conn, early, t=T0, t_start=T0 - 7200, t_end=T0)
        dispute_silent(conn, [iid, store["lone"]])
    assert show_incident(workspace, iid).incident.status == "reported"
    assert show_incident(workspace, store["lone"]).incident.status == "disputed"
