"""The API server (``truceline serve``, a real process) killed (SIGKILL) in the middle of
a stream of signed observation batches, then restarted, on SQLite and on PostgreSQL.

Every batch the server acknowledged is stored, each record once; nothing is stored
without its ledger entry; ``verify-store`` is clean; re-sending every batch that was
not acknowledged completes the run with the counts of an uninterrupted one.
"""

from __future__ import annotations

import base64
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from test_ingest_crash import _counts, _ingest

from truceline.domain.observations import observation_record
from truceline.ledger.signatures import sign_record
from truceline.service.ledger import verify_store
from truceline.service.sources import register_source
from truceline.service.users import add_user
from truceline.service.workspace import Workspace
from truceline.store.schema import observations

BATCHES, SIZE = 30, 100  # the server takes a few tenths of a second per batch
KEY = Ed25519PrivateKey.generate()


def _batches() -> list[list[dict[str, Any]]]:
    out = []
    for b in range(BATCHES):
        batch = []
        for i in range(SIZE):
            n = b * SIZE + i
            row: dict[str, Any] = {
                "source_id": "mon-15", "source_type": "monitor", "client_id": f"m-{n}",
                "t": 1_740_787_200 + n, "lon": 37.5 + n * 1e-5, "lat": 48.0, "radius_m": 100.0,
                "t_unc_s": 30.0, "kind": "shot", "count": 1, "credibility": 2,
            }  # fmt: skip
            batch.append({**row, "signature": sign_record(KEY, observation_record(row))})
        out.append(batch)
    return out


def _server(ws: Workspace) -> tuple[subprocess.Popen[bytes], str]:
    """``truceline serve`` on a free port, once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = _ingest(ws, Path("."))[:-2]
    proc = subprocess.Popen([*cli, "serve", "--port", str(port), "--rate", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("truceline serve did not start")


def _stored_ids(ws: Workspace) -> list[str]:
    with ws.engine.connect() as conn:
        return [str(r) for r in conn.execute(select(observations.c.client_id)).scalars()]


def _stream(
    url: str, auth: dict[str, str], batches: dict[int, Any], acked: list[int], refused: list[str]
) -> list[str]:
    """Send the batches in order, noting each one acknowledged, until the server is gone;
    ``refused`` gets any answer that was not the whole batch stored."""
    with httpx.Client(base_url=url, headers=auth, timeout=60) as client:
        for k, batch in batches.items():
            try:
                r = client.post("/observations/batch", json={"observations": batch})
            except httpx.TransportError:
                break  # the server is gone
            if r.status_code != 200 or r.json()["accepted"] + r.json()["duplicates"] != SIZE:
                refused.append(r.text)
                break
            acked.append(k)
    return refused


def test_server_killed_mid_stream_loses_no_acknowledged_record(workspace: Workspace) -> None:
    pub = base64.b64encode(KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    register_source(workspace, "mon-15", "monitor", public_key=pub.decode(), actor="test")
    auth = {"Authorization": f"Bearer {add_user(workspace, 'm', 'monitor').token}"}
    batches = dict(enumerate(_batches()))
    acked: list[int] = []
    for at in (1, BATCHES // 2):  # kill points: batches acknowledged before the kill
        proc, url = _server(workspace)
        todo = {k: b for k, b in batches.items() if k not in acked}
        refused: list[str] = []
        sender = threading.Thread(target=_stream, args=(url, auth, todo, acked, refused))
        sender.start()
        deadline = time.monotonic() + 300
        while len(acked) < at and sender.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)  # the next batch is on its way or being stored
        proc.wait()
        sender.join(60)
        assert not refused, refused[0][:500]
        assert at <= len(acked) < BATCHES, "the kill must land mid-stream"
        stored, distinct, leaves = _counts(workspace)
        assert stored == distinct == leaves  # no row without its ledger entry
        ids = set(_stored_ids(workspace))
        assert {f"m-{k * SIZE + i}" for k in acked for i in range(SIZE)} <= ids
        assert len(ids) % SIZE == 0  # whole batches or nothing
        assert verify_store(workspace).ok
    proc, url = _server(workspace)
    try:
        todo = {k: b for k, b in batches.items() if k not in acked}
        assert not _stream(url, auth, todo, acked, [])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert sorted(acked) == list(range(BATCHES))
    assert _counts(workspace) == (BATCHES * SIZE,) * 3  # as an uninterrupted run
    assert verify_store(workspace).ok
