"""``fuse`` and ``check`` killed (SIGKILL) mid-way, then run again: the same incidents and
findings as one uninterrupted run of the same store, on SQLite and on PostgreSQL.

Each runs in one transaction (fuse then recomputes the sides of the incidents it
touched); the kill lands at several points of the work: fuse's stages are read from
its progress line, check's from its transaction being open, plus a share of the work
time an uninterrupted run reports. The re-runs call the same services in this process.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import create_engine, select, text
from test_agreement_helpers import TOML, write_tiny
from test_ingest_crash import _ingest

from truceline.service.agreements import load_agreement
from truceline.service.compliance import check
from truceline.service.fusion import fuse
from truceline.service.ingest import ingest_files
from truceline.service.ledger import verify_store
from truceline.service.workspace import Workspace, open_workspace
from truceline.store.schema import findings, incident_observations, incidents, observations

N = 6_000  # observations in clusters of three: fusing them takes a few seconds
FIRE = '\n[[rules]]\nid = "fire"\nkind = "buffer_fire"\ntext = "t"\nparams = { zone = "buffer" }\n'


def _observations(path: Path) -> Path:
    """Clusters of three reports (three outlets) of one shot near the tiny agreement's
    line, over thirty days: incidents, and findings where they fall in the buffer."""
    rng = np.random.default_rng(15)
    k = N // 3
    lon = 37.0 + rng.uniform(-0.12, 0.12, k)
    lat = rng.uniform(46.95, 48.05, k)
    t = 1_740_787_200 + np.sort(rng.integers(0, 30 * 86_400, k))
    with path.open("w", encoding="utf-8") as f:
        f.write("client_id,t,lon,lat,radius_m,kind,source_id,source_type\n")
        for i in range(N):
            c = i // 3
            f.write(
                f"c-{i},{t[c] + 20 * (i % 3)},{lon[c] + 0.001 * (i % 3):.6f},{lat[c]:.6f},"
                f"300,shot,wire-{i % 3},osint\n"
            )
    return path


@pytest.fixture
def filled(workspace: Workspace, tmp_path: Path) -> Workspace:
    """The tiny agreement (with a buffer-fire rule) and N observations, nothing fused."""
    load_agreement(workspace, write_tiny(tmp_path / "agreement", TOML + FIRE))
    assert ingest_files(workspace, [_observations(tmp_path / "obs.csv")]).accepted == N
    return workspace


def _twin(
    ws: Workspace, tmp_path: Path, request: pytest.FixtureRequest, tag: str = "twin"
) -> Workspace:
    """An exact copy of the store (SQLite's backup API; a PostgreSQL template database)."""
    ws.engine.dispose()
    if ws.url.startswith("sqlite"):
        src = sqlite3.connect(ws.engine.url.database or "")
        dst_path = tmp_path / f"{tag}.db"
        with sqlite3.connect(dst_path) as dst:
            src.backup(dst)
        src.close()
        return open_workspace(f"sqlite:///{dst_path}")
    base, name = ws.url.rsplit("/", 1)
    twin = f"{name}_{tag}"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{twin}" TEMPLATE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{twin}" WITH (FORCE)')
        admin.dispose()

    request.addfinalizer(drop)
    return open_workspace(f"{base}/{twin}")


def _cli(ws: Workspace, *args: str) -> list[str]:
    return [*_ingest(ws, Path("."))[:-2], *args]


def _state(ws: Workspace) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Incidents and findings, each named by its member observations rather than by row
    ids (a PostgreSQL sequence does not roll back, so ids may differ between runs)."""
    i, m, o, f = incidents.c, incident_observations.c, observations.c, findings.c
    with ws.engine.connect() as conn:
        members: dict[int, list[str]] = {}
        rows = conn.execute(
            select(m.incident_id, o.uid).join(observations, o.id == m.observation_id)
        )
        for inc, uid in rows:
            members.setdefault(int(inc), []).append(str(uid))
        name = {k: "|".join(sorted(v)) for k, v in members.items()}
        skip = {"id", "created_at", "updated_at", "merged_into"}
        cols = [c for c in incidents.columns if c.name not in skip]
        incs = [
            (name.get(int(r.id), ""), *(r._mapping[c.name] for c in cols))
            for r in conn.execute(select(i.id, *cols))
        ]
        found = []
        for r in conn.execute(select(findings).order_by(f.rule_id, f.period_start)):
            ev = json.loads(r.evidence)
            ev["incidents"] = sorted(name[int(x)] for x in ev.get("incidents", []))
            ev_text = json.dumps(ev, sort_keys=True)
            found.append((r.rule_id, r.period_start, r.period_end, r.party, r.severity,
                          r.confidence, r.status, r.summary, ev_text))  # fmt: skip
    return sorted(incs, key=repr), sorted(found, key=repr)


_EXPECTED: dict[str, Any] = {}


def _uninterrupted(ws: Workspace, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """The state after one uninterrupted fuse and check of a copy of ``ws`` (the same
    data on each store: computed once per store), and check's work time."""
    dialect = ws.engine.dialect.name
    if dialect not in _EXPECTED:
        twin = _twin(ws, tmp_path, request)
        fuse(twin)
        took = check(twin).timings
        _EXPECTED[dialect] = _state(twin), sum(took.values())
        twin.engine.dispose()
    state, work = _EXPECTED[dialect]
    assert state[0] and state[1], "the data must give incidents and findings"
    return state, work


class _Stderr:
    """A process's standard error, read as it comes."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.text = ""
        assert proc.stderr is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, f: Any) -> None:
        while chunk := f.read1(4096):
            self.text += chunk.decode("utf-8", "replace")

    def close(self, proc: subprocess.Popen[bytes]) -> None:
        """After the process ended: the reader has met the pipe's end, then the pipe is
        closed (closing it under a reading thread leaves an unraisable exception)."""
        self._thread.join(timeout=30)
        assert proc.stderr is not None
        proc.stderr.close()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    assert proc.poll() is None, "the kill must land while the work is under way"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize(
    "stage", ["reading new observations", "writing incidents", "side of the line"]
)
def test_fuse_killed_then_rerun_gives_the_same_incidents_and_findings(
    filled: Workspace, tmp_path: Path, request: pytest.FixtureRequest, stage: str
) -> None:
    expected, _work = _uninterrupted(filled, tmp_path, request)
    # the progress line names the stage, in full whatever the caller's terminal width
    env = {**os.environ, "TTY_COMPATIBLE": "1", "COLUMNS": "200"}
    proc = subprocess.Popen(_cli(filled, "fuse"), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    err = _Stderr(proc)
    deadline = time.monotonic() + 300
    while stage not in err.text and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    _kill(proc)
    err.close(proc)
    assert verify_store(filled).ok
    fuse(filled)
    check(filled)
    assert _state(filled) == expected
    assert verify_store(filled).ok


def _in_transaction(ws: Workspace) -> bool:
    """Whether another process holds a transaction open on the store."""
    if ws.url.startswith("sqlite"):
        probe = sqlite3.connect(ws.engine.url.database or "", timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.rollback()
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    q = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
    )
    with ws.engine.connect() as conn:
        return bool(conn.execute(q).scalar_one())


@pytest.mark.parametrize("share", [0.0, 0.5, 0.9])
def test_check_killed_then_rerun_gives_the_same_findings(
    filled: Workspace, tmp_path: Path, request: pytest.FixtureRequest, share: float
) -> None:
    expected, work = _uninterrupted(filled, tmp_path, request)
    fuse(filled)
    # check's work time was measured once, maybe under another load: when a run ends
    # before its kill, a fresh copy of the fused store is killed sooner, so that the
    # kill always lands inside the transaction
    for attempt in range(5):
        ws = _twin(filled, tmp_path, request, f"kill{attempt}")
        proc = subprocess.Popen(_cli(ws, "check"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 300
        while not _in_transaction(ws) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(share * work / 2**attempt)
        if proc.poll() is None:
            break
        ws.engine.dispose()
    _kill(proc)
    assert verify_store(ws).ok
    check(ws)
    assert _state(ws) == expected
    assert verify_store(ws).ok
    ws.engine.dispose()
