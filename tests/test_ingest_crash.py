"""A file ingest killed (SIGKILL) part-way, then run again: the same store as one clean run.

Each transaction stores whole chunks with their ledger entries, so a kill leaves whole
transactions stored and nothing half-stored (the run here commits every chunk, with
``TRANSACTION_ROWS`` at 1, so that the kill falls inside the file); the re-run stores
the rest once and the ledger verifies, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from truceline.intake.chunk import CHUNK_ROWS
from truceline.service.ledger import verify_store
from truceline.service.workspace import Workspace
from truceline.store.schema import ledger_entries, observations

N = 6 * CHUNK_ROWS  # six chunks of the CSV reader, six transactions: after the first
# commits, five are still to come, seconds of work however fast ingest gets, so the kill
# lands inside the file (with three, the last two once committed between poll and kill)


def _csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as f:
        f.write("client_id,t,lon,lat,radius_m,kind,source_id,source_type\n")
        for i in range(N):
            f.write(f"k-{i},{1_740_787_200 + i},37.5,48.0,100,shot,wire-{i % 5},osint\n")
    return path


def _counts(ws: Workspace) -> tuple[int, int, int]:
    o = observations.c
    with ws.engine.connect() as conn:
        rows = conn.execute(select(func.count(), func.count(func.distinct(o.uid)))).one()
        leaves = conn.execute(
            select(func.count()).where(ledger_entries.c.kind == "observation")
        ).scalar_one()
    return int(rows[0]), int(rows[1]), int(leaves)


def _ingest(ws: Workspace, path: Path) -> list[str]:
    run = (
        "import truceline.service.ingest as ingest; ingest.TRANSACTION_ROWS = 1; "
        "from truceline.cli import main; main()"
    )
    return [sys.executable, "-c", run, "--db", ws.url, "ingest", str(path)]


def _stored(ws: Workspace) -> int:
    """Observations stored (a cheap count, so that the poll sees a commit soon after it)."""
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(observations)).scalar_one())


# the second kill point follows the first chunk's commit, so that five chunks are still
# to come when the kill lands however fast the ingest runs
@pytest.mark.parametrize("at", [1, CHUNK_ROWS])
def test_ingest_killed_then_rerun_stores_each_record_once(
    workspace: Workspace, tmp_path: Path, at: int
) -> None:
    path = _csv(tmp_path / "big.csv")
    proc = subprocess.Popen(_ingest(workspace, path), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while _stored(workspace) < at and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # in the middle of the next chunk's transaction
    proc.wait()
    stored, distinct, leaves = _counts(workspace)
    assert stored == distinct == leaves < N  # whole chunks or nothing: no row without its leaf
    again = subprocess.run(_ingest(workspace, path), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert _counts(workspace) == (N, N, N)
    assert verify_store(workspace).ok
