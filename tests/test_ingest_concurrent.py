"""Two ingests of the same new records at the same moment store them once, on both stores."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from truceline.service.ingest import IngestReport, ingest_files
from truceline.service.workspace import Workspace
from truceline.store import ledger as log
from truceline.store.schema import observations

DATA = Path(__file__).parent / "data"


@pytest.mark.usefixtures("registered_sensors")
def test_concurrent_ingests_store_each_record_once(workspace: Workspace) -> None:
    reports: list[IngestReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        try:
            reports.append(ingest_files(workspace, [DATA / "mixed_native.csv"]))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    accepted = sorted(r.accepted for r in reports)
    assert accepted[0] == 0 and accepted[1] > 0
    assert sum(r.duplicates for r in reports) == accepted[1]
    with workspace.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(observations)).scalar_one()
        assert stored == accepted[1]
        assert log.size(conn) > stored  # sources and grades are ledgered too
