"""Stream intake against the real NATS JetStream on 127.0.0.1:4222 (unique names per test).

Publish files, consume with workers, and check what the store holds: every record
once, re-publishes dropped, poison messages dead-lettered with their reason, several
workers sharing one stream, and a worker killed mid-batch losing nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import _unavailable
from sqlalchemy import func, select

from truceline.service.ledger import verify_store
from truceline.service.workspace import Workspace
from truceline.store.schema import ledger_entries, observations
from truceline.stream.jetstream import StreamNames, WorkerReport, publish_files, run_worker

NATS_URL = os.environ.get("TRUCELINE_TEST_NATS", "nats://127.0.0.1:4222")
DATA = Path(__file__).parent / "data"


@pytest.fixture
def names() -> StreamNames:
    host, port = NATS_URL.rsplit("//", 1)[-1].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        _unavailable(f"no NATS server at {NATS_URL}")
    tag = uuid.uuid4().hex[:10]
    n = StreamNames(f"TEST_{tag}", f"test_{tag}.obs")
    yield n
    asyncio.run(_delete(n))


async def _delete(n: StreamNames) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    for s in (n.stream, n.dead_stream):
        try:
            await js.delete_stream(s)
        except Exception:  # noqa: BLE001 - a stream never made is fine
            pass
    await nc.close()


def _csv(path: Path, n: int, bad: tuple[int, ...] = ()) -> Path:
    rows = ["client_id,t,lon,lat,radius_m,kind,source_id,source_type"]
    for i in range(n):
        kind = "nonsense" if i in bad else "shot"
        rows.append(f"c-{i},{1_740_787_200 + i},37.5,48.0,100,{kind},outlet-{i % 3},osint")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _count(ws: Workspace, table: Any = observations) -> int:
    q = select(func.count()).select_from(table)
    if table is ledger_entries:
        q = q.where(ledger_entries.c.kind == "observation")
    with ws.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def _work(ws: Workspace, names: StreamNames, **kw: Any) -> WorkerReport:
    kw.setdefault("idle_exit_s", 3.0)
    return run_worker(ws, NATS_URL, names, durable=kw.pop("durable", "w"), **kw)


def test_publish_then_work_stores_each_record_once(
    workspace: Workspace, names: StreamNames, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "o.csv", 1200, bad=(7,))
    first = publish_files(NATS_URL, [path], names=names)
    assert (first.read, first.published, first.rejected) == (1200, 1199, 1)
    again = publish_files(NATS_URL, [path], names=names)
    assert (again.published, again.duplicates) == (0, 1199)  # JetStream's de-duplication
    report = _work(workspace, names, batch=500)
    assert (report.acked, report.stored, report.dead) == (1199, 1199, 0)
    assert _count(workspace) == 1199 and _count(workspace, ledger_entries) == 1199
    assert verify_store(workspace).ok


def test_redelivered_records_are_stored_once(
    sqlite_workspace: Workspace, names: StreamNames, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "o.csv", 50)
    publish_files(NATS_URL, [path], names=names)
    assert _work(sqlite_workspace, names, durable="a").stored == 50
    # a second consumer reads the whole stream again: every record is already stored
    second = _work(sqlite_workspace, names, durable="b")
    assert (second.acked, second.stored, second.duplicates) == (50, 0, 50)
    assert _count(sqlite_workspace) == 50


async def _raw_publish(names: StreamNames, payloads: list[bytes]) -> None:
    import nats

    from truceline.stream.jetstream import ensure_streams

    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    await ensure_streams(js, names)
    for i, p in enumerate(payloads):
        await js.publish(f"{names.prefix}.camera", p, headers={"Nats-Msg-Id": f"raw-{i}"})
    await nc.close()


async def _dead_letters(names: StreamNames) -> list[tuple[bytes, str]]:
    import nats

    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    sub = await js.pull_subscribe(f"{names.dead_prefix}.>", durable="dlq", stream=names.dead_stream)
    out: list[tuple[bytes, str]] = []
    try:
        while True:
            for m in await sub.fetch(100, timeout=1.0):
                out.append((m.data, (m.headers or {}).get("Truceline-Reason", "")))
                await m.ack()
    except (TimeoutError, nats.errors.TimeoutError):
        pass
    await nc.close()
    return out


def test_poison_messages_go_to_the_dead_letter_subject_with_their_reason(
    sqlite_workspace: Workspace, names: StreamNames
) -> None:
    good = {"client_id": "g", "t": 1_740_787_200, "lon": 37.5, "lat": 48.0, "radius_m": 10,
            "kind": "shot", "source_id": "cam"}  # fmt: skip
    payloads = [
        json.dumps(good).encode(),
        b"\xff\xfe not json",
        json.dumps({**good, "client_id": "bad-t", "t": -99_999_999_999}).encode(),
        json.dumps({**good, "client_id": "nul", "description": "a\u0000b"}).encode(),
    ]
    asyncio.run(_raw_publish(names, payloads))
    report = _work(sqlite_workspace, names)
    assert (report.acked, report.stored, report.dead) == (1, 1, 3)
    dead = dict(asyncio.run(_dead_letters(names)))
    assert set(dead) == set(payloads[1:])
    assert "JSON object" in dead[payloads[1]]
    assert "out of range" in dead[payloads[2]] and "NUL" in dead[payloads[3]]
    assert _count(sqlite_workspace) == 1


def test_several_workers_share_one_stream(pg_url: str, names: StreamNames, tmp_path: Path) -> None:
    from truceline.service.workspace import create_workspace

    ws = create_workspace(tmp_path / "ws", pg_url)
    try:
        publish_files(NATS_URL, [_csv(tmp_path / "o.csv", 3000)], names=names)
        reports: list[WorkerReport] = []

        def run() -> None:
            reports.append(_work(ws, names, batch=200))

        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.acked for r in reports) == 3000
        assert sum(r.stored for r in reports) == 3000
        assert sum(1 for r in reports if r.acked) >= 2  # the work was shared
        assert _count(ws) == 3000 and verify_store(ws).ok
    finally:
        ws.engine.dispose()


def _worker_cmd(ws: Workspace, names: StreamNames, idle: float) -> list[str]:
    cli = [sys.executable, "-c", "from truceline.cli import main; main()", "--db", ws.url]
    nats = ["--nats", NATS_URL, "--stream", names.stream, "--subject-prefix", names.prefix]
    work = ["--durable", "crash", "--batch", "100", "--idle-exit", str(idle), "--ack-wait", "3"]
    return [*cli, "worker", *nats, *work]


@pytest.mark.parametrize("at", [1, 3000, 7000])
def test_a_worker_killed_mid_batch_loses_nothing(
    workspace: Workspace, names: StreamNames, tmp_path: Path, at: int
) -> None:
    n = 10_000
    publish_files(NATS_URL, [_csv(tmp_path / "o.csv", n)], names=names)
    proc = subprocess.Popen(_worker_cmd(workspace, names, 30.0), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _count(workspace) < at and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _count(workspace) < n  # killed part-way
    # the killed worker's unacknowledged batch comes back after the ack wait (3 s)
    done = subprocess.run(_worker_cmd(workspace, names, 8.0), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert _count(workspace) == n and _count(workspace, ledger_entries) == n
    with workspace.engine.connect() as conn:
        uids = conn.execute(select(func.count(func.distinct(observations.c.uid)))).scalar_one()
    assert uids == n
    assert verify_store(workspace).ok
