"""Prometheus metrics and JSON logs."""

from __future__ import annotations

import json
import logging

from fastapi.testclient import TestClient

from truceline.api.logs import JsonFormatter
from truceline.service.workspace import Workspace


def _value(text: str, name: str) -> float:
    """The value of the sample ``name`` (with its labels, as Prometheus writes them)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in metrics")


def test_metrics_count_submissions_rejects_requests_and_the_ledger(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    h = {"Authorization": f"Bearer {api_tokens['analyst']}"}
    obs = {"source_id": "wire-1", "source_type": "osint", "t": 1740802200, "lon": 37.8,
           "lat": 48.2, "radius_m": 50.0, "kind": "explosion"}  # fmt: skip
    batch = [{**obs, "client_id": "a"}, {**obs, "client_id": "b", "lat": 99.0}]
    assert (
        api_client.post("/observations/batch", json={"observations": batch}, headers=h).json()[
            "accepted"
        ]
        == 1
    )
    assert api_client.get("/metrics").status_code == 401
    r = api_client.get("/metrics", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert _value(text, 'truceline_observations_total{outcome="accepted"}') == 1
    assert _value(text, 'truceline_observations_total{outcome="rejected"}') == 1
    assert _value(text, 'truceline_observation_rejects_total{field="lat"}') == 1
    assert _value(text, "truceline_ledger_entries") == 3  # a source, its grade, the observation
    assert _value(text, "truceline_writer_group_submissions_count") == 1  # the batch alone
    assert _value(text, "truceline_writer_group_submissions_sum") == 1
    assert (
        'truceline_http_requests_total{method="POST",route="/observations/batch",status="200"} 1.0'
        in text
    )
    assert (
        'truceline_http_request_seconds_bucket{le="0.5",method="POST",route="/observations/batch"}'
        in text
    )


def test_json_log_lines() -> None:
    rec = logging.LogRecord("truceline.api", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
    doc = json.loads(JsonFormatter().format(rec))
    assert doc["level"] == "error" and doc["message"] == "boom x" and doc["time"].endswith("Z")
