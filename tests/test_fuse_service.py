"""``fuse`` on real stores: incidents, corroboration, merges that keep the oldest id,
the ledger and status history, arrival-order independence, bearings, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from truceline.cli import app
from truceline.intake import write_observations
from truceline.ledger.log import entry_data
from truceline.service.fusion import fuse
from truceline.service.ingest import ingest_files
from truceline.service.sources import ensure_sources
from truceline.service.workspace import Workspace, create_workspace
from truceline.store.schema import (
    incident_observations,
    incidents,
    ledger_entries,
    observations,
    status_changes,
)

T0 = 1_740_787200  # 2025-03-01T00:00:00Z
M_LAT = 1 / 111_195.0  # degrees of latitude per metre (about)


def _obs(rows: list[dict[str, object]]) -> pa.Table:
    base = {"t_unc_s": 30.0, "radius_m": 200.0, "kind": "explosion", "count": 1,
            "credibility": 2, "source_type": "monitor"}  # fmt: skip
    full = [{**base, **r} for r in rows]
    cols = sorted({k for r in full for k in r})
    return pa.table({k: [r.get(k) for r in full] for k in cols})


def _ingest(ws: Workspace, tmp: Path, name: str, rows: list[dict[str, object]]) -> None:
    path = tmp / f"{name}.parquet"
    table = _obs(rows)
    write_observations(path, table)
    pairs = zip(table["source_id"].to_pylist(), table["source_type"].to_pylist(), strict=True)
    with ws.engine.begin() as conn:  # monitors and sensors are registered before they submit
        ensure_sources(conn, set(pairs))
    report = ingest_files(ws, [path])
    assert report.files[0].accepted == len(rows), report.files[0].problems


def _partition(ws: Workspace) -> set[frozenset[str]]:
    io, o = incident_observations.c, observations.c
    with ws.engine.connect() as conn:
        rows = conn.execute(
            select(io.incident_id, o.client_id).join(observations, o.id == io.observation_id)
        ).all()
    groups: dict[int, set[str]] = {}
    for inc, cid in rows:
        groups.setdefault(inc, set()).add(cid)
    return {frozenset(g) for g in groups.values()}


def _point(cid: str, src: str, dx_m: float, dt: int, **kw: object) -> dict[str, object]:
    return {"client_id": cid, "source_id": src, "t": T0 + dt, "lon": 37.8,
            "lat": 48.2 + dx_m * M_LAT, **kw}  # fmt: skip


def test_fuse_groups_scores_and_ledgers(workspace: Workspace, tmp_path: Path) -> None:
    _ingest(workspace, tmp_path, "a", [
        _point("a1", "mon-1", 0, 0), _point("a2", "mon-1", 300, 60),
        _point("a3", "cam-1", -200, 120, source_type="camera"),
        _point("b1", "osint-1", 50_000, 0, source_type="osint", kind="shot"),
    ])  # fmt: skip
    r = fuse(workspace)
    assert (r.new, r.updated, r.merged, r.observations_fused) == (2, 0, 0, 4)
    assert r.by_status == {"corroborated": 1, "reported": 1}
    with workspace.engine.connect() as conn:
        inc = conn.execute(select(incidents).order_by(incidents.c.n_observations)).all()
        kinds = [e.kind for e in conn.execute(select(ledger_entries.c.kind))]
        changes = conn.execute(select(status_changes)).all()
    assert [(i.n_observations, i.n_groups, i.status) for i in inc] == [
        (1, 1, "reported"),
        (3, 2, "corroborated"),
    ]
    big = inc[1]
    assert abs(big.lat - 48.2) < 300 * M_LAT and big.radius_m >= 200.0 / np.sqrt(3)
    assert big.t_start <= T0 and big.t_end >= T0 + 120 and big.kind == "explosion"
    assert kinds.count("incident") == 2 and kinds.count("status_change") == 2
    assert {c.actor for c in changes} == {"fusion"} and all(
        c.ledger_index is not None for c in changes
    )
    assert _partition(workspace) == {frozenset({"a1", "a2", "a3"}), frozenset({"b1"})}
    again = fuse(workspace)
    assert (again.new, again.observations_fused) == (0, 0)


def test_each_incident_record_names_the_reach_it_was_fused_with(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """Fusion parameters change outcomes, so the ledger holds them (issue #9)."""
    _ingest(sqlite_workspace, tmp_path, "a", [
        _point("a1", "mon-1", 0, 0), _point("a2", "mon-1", 300, 60),
    ])  # fmt: skip
    assert fuse(sqlite_workspace, distance_m=1234.5, window_s=567).new == 1
    with sqlite_workspace.engine.connect() as conn:
        q = select(ledger_entries.c.data).where(ledger_entries.c.kind == "incident")
        [data] = conn.execute(q).scalars().all()
    assert '"fusion":{"distance_m":1234.5,"window_s":567}' in bytes(data).decode()


def test_bridge_merges_into_the_oldest(workspace: Workspace, tmp_path: Path) -> None:
    _ingest(workspace, tmp_path, "a", [_point("w", "mon-1", 0, 0), _point("e", "mon-2", 3000, 0)])
    assert fuse(workspace).new == 2
    with workspace.engine.connect() as conn:
        first, second = sorted(i for (i,) in conn.execute(select(incidents.c.id)))
    _ingest(workspace, tmp_path, "b", [_point("mid", "cam-9", 1500, 30, source_type="camera")])
    r = fuse(workspace)
    assert (r.new, r.merged, r.updated) == (0, 1, 1)
    with workspace.engine.connect() as conn:
        absorbed = conn.execute(select(incidents).where(incidents.c.id == second)).one()
        survivor = conn.execute(select(incidents).where(incidents.c.id == first)).one()
        merge = conn.execute(
            select(status_changes).where(status_changes.c.incident_id == second)
            .where(status_changes.c.to_status == "merged")
        ).one()  # fmt: skip
        ledgered = conn.execute(
            select(ledger_entries.c.data).where(ledger_entries.c.idx == merge.ledger_index)
        ).scalar_one()
    assert absorbed.merged_into == first and survivor.merged_into is None
    assert survivor.n_observations == 3 and survivor.status == "corroborated"
    assert merge.reason == f"merged into {first}"
    with workspace.engine.connect() as conn:
        east = conn.execute(select(observations.c.id).where(observations.c.client_id == "e"))
        assert json.loads(merge.evidence)["observations"] == [east.scalar_one()]
    record = json.loads(ledgered)
    assert record.get("record", record)["reason"] == f"merged into {first}"
    assert _partition(workspace) == {frozenset({"w", "e", "mid"})}
    assert r.by_status == {"corroborated": 1}


def test_fusion_ledger_entries_are_the_canonical_form_of_their_records(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Incident and status-change entries are made as columns; each one's bytes are what
    ``entry_data`` makes of the record it holds (RFC 8785, record by record), including
    an incident without a weapon class, a sector or an ellipse, and a merge."""
    _ingest(workspace, tmp_path, "a", [
        _point("w", "mon-1", 0, 0, weapon_class="mortar_artillery_lt100", description='q"\\'),
        _point("e", "mon-2", 3000, 0, radius_m=123.456),
    ])  # fmt: skip
    fuse(workspace)
    _ingest(workspace, tmp_path, "b", [_point("mid", "cam-9", 1500, 30, source_type="camera")])
    fuse(workspace)
    with workspace.engine.connect() as conn:
        rows = conn.execute(
            select(ledger_entries.c.kind, ledger_entries.c.ref, ledger_entries.c.data,
                   ledger_entries.c.at)
            .where(ledger_entries.c.kind.in_(["incident", "status_change"]))
        ).all()  # fmt: skip
    kinds = {k for k, *_ in rows}
    assert kinds == {"incident", "status_change"} and len(rows) >= 7
    for kind, ref, data, at in rows:
        env = json.loads(bytes(data))
        assert env["kind"] == kind and env["ref"] == ref and env["at"] == at
        assert bytes(data) == entry_data(kind, ref, env["record"], at)
    merged = [json.loads(bytes(d))["record"] for k, _, d, _ in rows if k == "status_change"]
    assert any(r["to_status"] == "merged" and "from_status" in r for r in merged)
    assert all(
        "from_status" not in r for r in merged if r["reason"] == "fused from new observations"
    )


def _batches() -> list[list[dict[str, object]]]:
    rng = np.random.default_rng(3)
    rows = [
        _point(f"o{k}", f"s{rng.integers(0, 4)}", float(rng.uniform(0, 15_000)),
               int(rng.integers(0, 3600)))
        for k in range(40)
    ]  # fmt: skip
    return [rows[0:13], rows[13:27], rows[27:40]]


def test_arrival_order_does_not_change_the_incidents(tmp_path: Path) -> None:
    parts = []
    for name, order in (("fwd", (0, 1, 2)), ("rev", (2, 0, 1))):
        ws = create_workspace(tmp_path / name)
        for k in order:
            _ingest(ws, tmp_path, f"{name}{k}", _batches()[k])
            fuse(ws)
        parts.append(_partition(ws))
        with ws.engine.connect() as conn:
            live = conn.execute(select(incidents).where(incidents.c.merged_into.is_(None))).all()
            merged = conn.execute(
                select(incidents).where(incidents.c.merged_into.isnot(None))
            ).all()
        assert len(live) == len(parts[-1])
        assert all(m.merged_into < m.id for m in merged)  # the older id survives
        ws.engine.dispose()
    once = create_workspace(tmp_path / "once")
    _ingest(once, tmp_path, "all", [r for b in _batches() for r in b])
    fuse(once)
    assert parts[0] == parts[1] == _partition(once)
    assert len(parts[0]) < 40


def test_bearings_located_and_fused(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    """Two cameras' bearings on one flash, then a monitor's point report: one incident."""
    tgt_lon, tgt_lat = 37.8, 48.2
    posts = [(37.75, 48.17), (37.86, 48.18)]
    rows: list[dict[str, object]] = []
    for k, (plon, plat) in enumerate(posts):
        dx = (tgt_lon - plon) * 111_195 * np.cos(np.radians(48.2))
        dy = (tgt_lat - plat) * 111_195
        rows.append({"client_id": f"b{k}", "source_id": f"cam-{k}", "source_type": "camera",
                     "t": T0 + 5, "obs_lon": plon, "obs_lat": plat,
                     "bearing_deg": float(np.degrees(np.arctan2(dx, dy)) % 360),
                     "bearing_sd_deg": 1.0, "lon": None, "lat": None,
                     "radius_m": None})  # fmt: skip
    _ingest(sqlite_workspace, tmp_path, "b", rows)
    r = fuse(sqlite_workspace)
    assert (r.new, r.observations_fused, r.unlocated) == (1, 2, 0)
    # a later point report joins through the bearing-only members, placed at their fix
    _ingest(sqlite_workspace, tmp_path, "p", [_point("p", "mon-1", 100, 20)])
    r = fuse(sqlite_workspace)
    assert (r.new, r.updated, r.observations_fused) == (0, 1, 1)
    assert _partition(sqlite_workspace) == {frozenset({"b0", "b1", "p"})}
    with sqlite_workspace.engine.connect() as conn:
        inc = conn.execute(select(incidents)).one()
    assert abs(inc.lat - tgt_lat) < 500 * M_LAT and inc.n_groups == 3


def test_cli_fuse_prints_the_summary(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    _ingest(sqlite_workspace, tmp_path, "a", [_point("a", "m", 0, 0), _point("b", "n", 100, 9)])
    res = CliRunner().invoke(app, ["--db", sqlite_workspace.url, "fuse", "--distance-m", "500"])
    assert res.exit_code == 0, res.output
    assert "new incidents" in res.output and "corroborated" in res.output
    assert "500 m" in res.output


def test_sector_from_the_agreement_in_force(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    from truceline.geo.zones import ZoneIndex
    from truceline.service.agreements import agreement_in_force, load_agreement

    load_agreement(sqlite_workspace, Path(__file__).parents[1] / "examples" / "minsk-2015")
    t = 1_500_000_000  # 2017, while the Minsk terms were in force
    with sqlite_workspace.engine.connect() as conn:
        agreement = agreement_in_force(conn, t)
    assert agreement is not None
    index = ZoneIndex.from_agreement(agreement)
    # a point in the middle of the contact line lies in a reporting sector
    import shapely

    coords = shapely.get_coordinates(agreement.contact_line)
    lon, lat = coords[len(coords) // 2]
    sector = index.classify(np.array([lon]), np.array([lat])).sector[0]
    row = {"client_id": "s1", "source_id": "mon-1", "t": t, "lon": float(lon), "lat": float(lat)}
    _ingest(sqlite_workspace, tmp_path, "s", [row])
    r = fuse(sqlite_workspace)
    assert r.distance_m == float(agreement.fusion.get("distance_m", 2000.0))
    with sqlite_workspace.engine.connect() as conn:
        got = conn.execute(select(incidents.c.sector)).scalar_one()
    assert got == (index.sector_ids[sector] if sector >= 0 else None)
    assert got is not None


def test_unlocatable_bearing_is_counted_and_left_unfused(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    row = {"client_id": "lone", "source_id": "cam-1", "source_type": "camera", "t": T0,
           "obs_lon": 37.7, "obs_lat": 48.1, "bearing_deg": 45.0, "bearing_sd_deg": 2.0,
           "lon": None, "lat": None, "radius_m": None}  # fmt: skip
    _ingest(sqlite_workspace, tmp_path, "lone", [row])
    r = fuse(sqlite_workspace)
    assert (r.new, r.observations_fused, r.unlocated) == (0, 0, 1)
    assert _partition(sqlite_workspace) == set()
    assert fuse(sqlite_workspace).unlocated == 1  # still waiting for a second bearing


def test_confidence_uses_the_grade_in_force_at_each_observation(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """A grade given from T does not reach back: before it the source cannot be judged
    (F), as ``reliability_at`` and attribution have it."""
    from truceline.fusion.grading import report_weight
    from truceline.service.sources import register_source

    register_source(sqlite_workspace, "mon-9", "monitor", signature_policy="optional",
                    reliability="A", valid_from=T0 + 3600, actor="ana")  # fmt: skip
    _ingest(sqlite_workspace, tmp_path, "g", [
        _point("before", "mon-9", 0, 0), _point("after", "mon-9", 50_000, 7200),
    ])  # fmt: skip
    fuse(sqlite_workspace)
    with sqlite_workspace.engine.connect() as conn:
        conf = dict(conn.execute(select(incidents.c.t, incidents.c.confidence)).all())
    assert conf[T0] == pytest.approx(float(report_weight(["F"], [2])[0]))
    assert conf[T0 + 7200] == pytest.approx(float(report_weight(["A"], [2])[0]))


# SQLite serialises writers with BEGIN IMMEDIATE; the advisory lock is what PostgreSQL needs
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_fusion_waits_for_an_analyst_and_keeps_the_decision(
    workspace: Workspace, tmp_path: Path
) -> None:
    """fuse reads the statuses under the writer lock: an analyst's decision committed
    meanwhile stands (and the two transactions cannot deadlock)."""
    import threading
    import time

    from sqlalchemy import text

    from truceline.service.incidents import record_transitions
    from truceline.store import ledger as log

    _ingest(workspace, tmp_path, "a", [_point("a1", "mon-1", 0, 0)])
    fuse(workspace)
    with workspace.engine.connect() as conn:
        iid = conn.execute(select(incidents.c.id)).scalar_one()
    _ingest(workspace, tmp_path, "b", [_point("b1", "mon-2", 100, 30)])
    out: dict[str, object] = {}

    def run() -> None:
        try:
            out["result"] = fuse(workspace)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            out["error"] = exc

    with workspace.engine.connect() as held, workspace.engine.connect() as probe:
        tx = held.begin()
        log.lock(held)
        pid = held.execute(text("SELECT pg_backend_pid()")).scalar_one()
        other = threading.Thread(target=run)
        other.start()
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE :p = ANY(pg_blocking_pids(pid))"
        )
        for _ in range(600):  # until fuse waits for our lock
            if probe.execute(waiting, {"p": pid}).scalar_one():
                break
            probe.rollback()
            time.sleep(0.05)
        record_transitions(held, [(iid, "reported", "verified")], actor="ana", reason="imagery")
        tx.commit()
        other.join(60)
    assert "error" not in out, out
    with workspace.engine.connect() as conn:
        row = conn.execute(select(incidents).where(incidents.c.id == iid)).one()
    assert (row.status, row.n_observations) == ("verified", 2)


def test_a_triangulated_incident_keeps_its_ellipse_and_its_uncertainty(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """Three bearings of one flash: the incident carries the fix's 95 % ellipse, and the
    three rows of one fix count as one measurement (the radius is not shrunk by sqrt 3)."""
    import json

    from truceline.fusion.bearings import fix_bearings

    tgt_lon, tgt_lat = 37.8, 48.2
    posts = [(37.75, 48.17), (37.86, 48.18), (37.80, 48.25)]
    rows: list[dict[str, object]] = []
    obs_x, obs_y, az = [], [], []
    for k, (plon, plat) in enumerate(posts):
        dx = (tgt_lon - plon) * 111_195 * np.cos(np.radians(tgt_lat))
        dy = (tgt_lat - plat) * 111_195
        a = float(np.degrees(np.arctan2(dx, dy)) % 360)
        obs_x.append(-dx)
        obs_y.append(-dy)
        az.append(a)
        rows.append({"client_id": f"b{k}", "source_id": f"cam-{k}", "source_type": "camera",
                     "t": T0 + 5, "obs_lon": plon, "obs_lat": plat, "bearing_deg": a,
                     "bearing_sd_deg": 1.0, "lon": None, "lat": None,
                     "radius_m": None})  # fmt: skip
    _ingest(sqlite_workspace, tmp_path, "b", rows)
    assert fuse(sqlite_workspace).new == 1
    with sqlite_workspace.engine.connect() as conn:
        inc = conn.execute(select(incidents)).one()
    ell = json.loads(inc.ellipse)
    assert ell["method"] == "triangulated" and ell["confidence"] == 0.95
    assert 0 < ell["semi_minor_m"] <= ell["semi_major_m"]
    # the same fix computed directly (target-centred plane): radius equals its cover
    n = len(az)
    fix = fix_bearings(np.full(n, T0 + 5), np.array(obs_x), np.array(obs_y), np.array(az),
                       np.ones(n), np.full(n, np.nan), np.full(n, np.nan),
                       np.zeros(n, np.int64))  # fmt: skip
    assert inc.radius_m == pytest.approx(float(fix.radius_m[0]), rel=0.02)
    assert ell["semi_major_m"] == pytest.approx(float(fix.semi_major_m[0]), rel=0.02)


def test_pairs_near_the_threshold_group_the_same_whatever_batch_fixed_the_projection(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """The projection is fixed by the first batch; pairs within its distortion of the
    threshold (2,400 m here: 2 km plus two 200 m radii) are judged by geodesic distance,
    so two batches give the incidents of one pass."""
    from pyproj import Geod

    west = [_point("w1", "mon-1", 0, 0, lon=31.0), _point("w2", "mon-1", 0, 0, lon=35.0)]
    east = [_point("e1", "mon-1", 0, 0, lon=40.0)]
    plon, plat = np.full(6, 39.5), 48.2 + 0.1 * np.arange(6)
    gap = 2400.0 - np.array([0.3, 0.6, 1.0, 1.5, 2.0, 2.5])  # all within the threshold
    qlon, qlat, _ = Geod(ellps="WGS84").fwd(plon, plat, np.zeros(6), gap)
    pairs = [
        _point(f"{c}{k}", f"mon-{c}", 0, 3600 * k, lon=float(lo), lat=float(la))
        for k in range(6)
        for c, lo, la in (("p", plon[k], plat[k]), ("q", qlon[k], qlat[k]))
    ]
    _ingest(sqlite_workspace, tmp_path, "west", west)
    fuse(sqlite_workspace)  # fixes the projection at (48, 33)
    _ingest(sqlite_workspace, tmp_path, "east", east + pairs)
    fuse(sqlite_workspace)
    one = create_workspace(tmp_path / "one")
    _ingest(one, tmp_path, "all", west + east + pairs)
    fuse(one)  # projection at (48, 36)
    assert _partition(sqlite_workspace) == _partition(one)
    assert {frozenset({f"p{k}", f"q{k}"}) for k in range(6)} <= _partition(one)
    one.engine.dispose()
