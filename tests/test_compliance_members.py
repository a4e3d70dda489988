"""What incidents' observations add to a check, read in bulk: the facts in ``attrs``, the
non-party count and the ledger leaves, from the pure arrays and through both stores."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from sqlalchemy import insert

from truceline.compliance.members import Members, member_facts
from truceline.service.compliance import load_incidents
from truceline.service.workspace import Workspace
from truceline.store.schema import incident_observations, incidents, observations, sources

T = 1_760_000_000


def _facts(rows: list[tuple[int, int, int | None, str | None]], ids: list[int]) -> dict[str, list]:
    """member_facts of rows (incident, nonparty, observation id, attrs), as lists."""
    inc, nonparty, obs, attrs = zip(*rows, strict=True)
    said = [r for r in rows if r[3] is not None]
    got = member_facts(
        np.array(ids, dtype=np.int64),
        np.array(inc, dtype=np.int64),
        np.array([i for i, np_ in zip(inc, nonparty, strict=True) if not np_], dtype=np.int64),
        _said(said),
    )
    return {k: v.to_pylist() for k, v in got.items()}


def _said(rows: list[tuple[int, int, int | None, str | None]]) -> pa.Table:
    """The ``said`` rows (incident, observation id, attrs) of member rows."""
    return pa.table({
        "incident_id": pa.array([r[0] for r in rows], pa.int64()),
        "observation_id": pa.array([r[2] for r in rows], pa.int64()),
        "attrs": pa.array([r[3] for r in rows], pa.string()),
    })  # fmt: skip


def test_facts_are_read_in_observation_order_whatever_the_row_order() -> None:
    later = json.dumps({"fire": "incoming", "state": "XB", "fire_azimuth_deg": 270})
    first = json.dumps(
        {"fire": "outgoing", "state": "XA", "role": "mission", "fire_azimuth_deg": 90}
    )
    rows = [
        (20, 1, 7, later),
        (99, 1, 8, json.dumps({"state": "XC"})),  # an incident not asked for: left out
        (10, 0, None, None),
        (20, 0, 3, first),
        (30, 1, 9, json.dumps({"inspected": {"tank": 4}})),
        (30, 1, 2, json.dumps({"inspected": {"tank": 6, "mlrs": 1}})),
        (20, 1, None, None),
    ]
    got = _facts(rows, [10, 20, 30])
    assert got["state"] == [None, "XA", None]  # the first observation's
    assert got["role"] == [None, "mission", None]
    assert got["direction"] == [None, "outgoing, incoming, azimuth 180 deg", None]
    assert got["inspected"] == [None, None, '{"mlrs": 1, "tank": 6}']  # the most counted
    assert got["nonparty"] == [0, 2, 2]


def test_no_observations_means_no_facts_and_no_nonparty() -> None:
    got = member_facts(
        np.array([5], dtype=np.int64),
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.int64),
        _said([]),
    )
    assert {k: v.to_pylist() for k, v in got.items()} == {
        "state": [None], "role": [None], "nonparty": [0], "direction": [None],
        "inspected": [None],
    }  # fmt: skip


def test_leaves_of_incidents_sorted_once_each() -> None:
    members = Members(np.array([3, 1, 3, 2, 1, 4]), pa.array([30, 11, 31, None, 11, 40]))
    assert members.leaves([3, 1]) == [11, 30, 31]
    assert members.leaves([2]) == []  # an observation not in the ledger
    assert members.leaves([7, 4]) == [40]
    assert members.leaves([]) == []


def test_load_incidents_reads_the_facts_of_each_incident(workspace: Workspace) -> None:
    with workspace.engine.begin() as conn:
        for sid, kind, party in (
            ("cam", "camera", None),
            ("pa", "party", "A"),
            ("ch", "osint", "B"),
        ):
            conn.execute(insert(sources).values(
                id=sid, type=kind, name=sid, party=party, independence_group=sid, created_at=T
            ))  # fmt: skip
        for iid, t in ((1, T), (2, T + 10), (3, T + 20), (4, T + 86_400)):
            conn.execute(insert(incidents).values(
                id=iid, t=t, t_start=t, t_end=t, lon=30.0, lat=48.0, radius_m=100.0,
                kind="explosion", count=1, status="reported", n_observations=1, n_groups=1,
                confidence=0.5, created_at=t, updated_at=t,
            ))  # fmt: skip
        obs = [  # (id, incident, source, attrs, ledger index)
            (1, 1, "cam", json.dumps({"fire": "incoming", "note": "state unknown"}), 100),
            (2, 1, "pa", json.dumps({"fire": "incoming", "fire_azimuth_deg": 45}), 101),
            (3, 2, "ch", None, None),
            (4, 2, "cam", '{"state": "XA", "role": "attache"}', 103),
            (5, 3, "cam", 'not json but says "state"', 104),
            (6, 4, "cam", json.dumps({"state": "XB"}), 105),
        ]
        for oid, _, src, attrs, leaf in obs:
            conn.execute(insert(observations).values(
                id=oid, uid=f"u{oid}", source_id=src, t=T, t_unc_s=1.0, lon=30.0, lat=48.0,
                kind="explosion", count=1, credibility=3, received_at=T, attrs=attrs,
                ledger_index=leaf,
            ))  # fmt: skip
        conn.execute(insert(incident_observations), [
            {"observation_id": oid, "incident_id": iid} for oid, iid, *_ in obs
        ])  # fmt: skip
        inc, members = load_incidents(conn, T, T + 3600)  # incident 4 is the next day
    t = inc.table
    assert t.column("id").to_pylist() == [1, 2, 3]
    assert t.column("direction").to_pylist() == ["incoming, azimuth 45 deg", None, None]
    assert t.column("state").to_pylist() == [None, "XA", None]
    assert t.column("role").to_pylist() == [None, "attache", None]
    assert t.column("nonparty").to_pylist() == [1, 1, 1]  # a party's and its channel's: not
    assert members.leaves([1, 2]) == [100, 101, 103]
