"""Alerts from the store's incidents, pushed to a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from truceline.service.alerts import (
    dead_letters,
    forecast_sectors,
    list_alerts,
    run_alerts,
    subscribe,
)
from truceline.service.webhooks import MemorySink, WebhookSink
from truceline.service.workspace import Workspace
from truceline.store.schema import alert_deliveries, incidents, ledger_entries
from truceline.warning.alerts import SIGNATURE_HEADER, Policy, verify

SECRET = "s3cret-for-webhooks"
DAY = date(2024, 3, 1)


class _Receiver(BaseHTTPRequestHandler):
    """``/flaky`` answers 503 once then 200; ``/down`` always 500. Records valid POSTs."""

    calls: dict[str, int]
    valid: list[tuple[str, bytes]]

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.calls[self.path] = self.calls.get(self.path, 0) + 1
        if not verify(SECRET.encode(), self.headers.get(SIGNATURE_HEADER, ""), body):
            self.send_response(401)
        elif self.path == "/down" or (self.path == "/flaky" and self.calls[self.path] == 1):
            self.send_response(503 if self.path == "/flaky" else 500)
        else:
            self.valid.append((self.path, body))
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Handler", (_Receiver,), {"calls": {}, "valid": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _incidents(ws: Workspace) -> None:
    """Sector A: about 3 a day then 30 on DAY; B: steady; C: one event after silence."""
    rng = np.random.default_rng(11)
    rows = []
    for back in range(60, -1, -1):
        noon = (
            int(datetime.combine(DAY - timedelta(days=back), datetime.min.time(), UTC).timestamp())
            + 9 * 3600
        )
        per = {
            "A": 30 if back == 0 else int(rng.poisson(3)),
            "B": int(rng.poisson(3)),
            "C": int(back == 0),
        }
        for sector, n in per.items():
            rows += [
                dict(
                    t=noon + i,
                    t_start=noon,
                    t_end=noon + 60,
                    lon=37.0,
                    lat=48.0,
                    radius_m=100.0,
                    kind="explosion",
                    count=1,
                    status="reported",
                    n_observations=1,
                    n_groups=1,
                    confidence=0.5,
                    sector=sector,
                    created_at=noon,
                    updated_at=noon,
                )
                for i in range(n)
            ]
    with ws.engine.begin() as conn:
        conn.execute(insert(incidents), rows)


def test_surge_alert_is_stored_logged_signed_retried_and_dead_lettered(
    workspace: Workspace, receiver: tuple[str, type[_Receiver]]
) -> None:
    base, handler = receiver
    _incidents(workspace)
    subscribe(workspace, f"{base}/flaky", SECRET, Policy("guarantor", kinds=("surge",)))
    subscribe(workspace, f"{base}/down", SECRET, Policy("liaison-a", units=("A",)))
    sink = WebhookSink(max_attempts=3, backoff_s=0.01)
    now = datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(hours=20)
    summary = run_alerts(workspace, DAY, sink, now=now)
    assert [(a.kind, a.unit) for a in summary.alerts] == [("surge", "A")]
    assert (summary.pushed, summary.dead, summary.held) == (1, 1, 0)
    assert handler.calls == {"/flaky": 2, "/down": 3}  # one retry; three tries then dead
    [(path, body)] = handler.valid
    assert path == "/flaky" and b'"unit": "A"' in body and b'"kind": "surge"' in body
    [stored] = list_alerts(workspace)
    assert stored.unit == "A" and stored.ledger_index is not None
    with workspace.engine.connect() as conn:
        kinds = conn.execute(select(ledger_entries.c.kind)).scalars().all()
        statuses = sorted(conn.execute(select(alert_deliveries.c.status)).scalars().all())
    assert "alert" in kinds and statuses == ["dead", "delivered"]
    [dead] = dead_letters(workspace)
    assert dead.attempts == 3 and dead.last_error == "HTTP 500"
    # running the same day again raises nothing new and sends nothing more
    again = run_alerts(workspace, DAY, sink, now=now)
    assert again.alerts == [] and handler.calls == {"/flaky": 2, "/down": 3}


def test_each_alert_is_routed_once_per_subscription(
    workspace: Workspace, receiver: tuple[str, type[_Receiver]]
) -> None:
    base, handler = receiver
    _incidents(workspace)
    # no cooldown: a second routing of the same alert would send it twice
    subscribe(workspace, f"{base}/now", SECRET, Policy("analyst", cooldown_hours=0.0))
    # 20:00 UTC is 22:00 in Kyiv: inside these quiet hours, so the alert is held
    quiet = Policy("guarantor", cooldown_hours=0.0, quiet_start=21, quiet_end=7)
    subscribe(workspace, f"{base}/quiet", SECRET, quiet)
    now = datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(hours=20)
    summary = run_alerts(workspace, DAY, WebhookSink(max_attempts=1, backoff_s=0.0), now=now)
    assert [(a.kind, a.unit) for a in summary.alerts] == [("surge", "A")]
    assert (summary.pushed, summary.held) == (1, 1)
    assert handler.calls == {"/now": 1}
    with workspace.engine.connect() as conn:
        statuses = sorted(conn.execute(select(alert_deliveries.c.status)).scalars().all())
    assert statuses == ["delivered", "held"]


def test_api_lists_and_streams_alerts(
    sqlite_workspace: Workspace, api_client: TestClient, api_tokens: dict[str, str]
) -> None:
    _incidents(sqlite_workspace)
    sink = MemorySink()
    run_alerts(sqlite_workspace, DAY, sink)
    auth = {"Authorization": f"Bearer {api_tokens['guarantor']}"}
    r = api_client.get("/alerts", headers=auth)
    assert r.status_code == 200, r.text
    [a] = r.json()
    assert (a["unit"], a["kind"], a["day"]) == ("A", "surge", DAY.isoformat())
    assert a["observed"][-1] == 30 and a["ledger_index"] is not None
    r = api_client.get("/alerts/stream", headers=auth)
    assert r.headers["content-type"].startswith("text/event-stream")
    assert f"id: {a['id']}\nevent: alert\ndata: " in r.text and '"unit":"A"' in r.text
    r = api_client.get("/alerts/stream", headers={**auth, "Last-Event-ID": str(a["id"])})
    assert "event: alert" not in r.text and r.text.startswith("retry: ")
    party = {"Authorization": f"Bearer {api_tokens['party']}"}
    assert api_client.get("/alerts", headers=party).status_code == 403
    assert api_client.get("/alerts?limit=0", headers=auth).status_code == 422


def test_forecast_per_sector_after_a_surge(sqlite_workspace: Workspace) -> None:
    _incidents(sqlite_workspace)
    by = {f.unit: f for f in forecast_sectors(sqlite_workspace, DAY)}
    assert set(by) == {"A", "B", "C"}
    a, b = by["A"], by["B"]
    assert a.low <= a.mean <= a.high and b.low <= b.mean <= b.high
    # the surge lifts sector A's trailing mean and so its expected week above B's
    assert a.mean > b.mean and a.baseline > b.baseline
    assert 0 <= b.escalation <= 1
    from typer.testing import CliRunner

    from truceline.cli import app

    day = ["--day", DAY.isoformat()]
    r = CliRunner().invoke(
        app, ["--db", sqlite_workspace.url, "forecast", *day, "--format", "json"]
    )
    assert r.exit_code == 0, r.output
    assert {f["unit"]: f["mean"] for f in json.loads(r.stdout)} == {u: by[u].mean for u in by}
