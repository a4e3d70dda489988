"""Prometheus metrics of one app: requests and their latency, intake, the ledger.

Each app has its own registry (no global state); ``GET /metrics`` renders it in
the Prometheus text format. The ledger's size is read from the store when
scraped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from truceline.service.ingest import FileReport
from truceline.service.ledger import ledger_size
from truceline.service.workspace import Workspace

__all__ = ["Metrics", "RequestMetrics"]

_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Ledger(Collector):
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def collect(self) -> Iterator[Metric]:
        g = GaugeMetricFamily("truceline_ledger_entries", "Entries in the evidence ledger")
        g.add_metric([], float(ledger_size(self.ws)))
        yield g


class Metrics:
    """The app's metrics, in its own registry."""

    def __init__(self, ws: Workspace) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "truceline_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "truceline_http_request_seconds",
            "Time to answer a request",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.observations = Counter(
            "truceline_observations",
            "Submitted observations by outcome (accepted, duplicate, rejected)",
            ["outcome"],
            registry=r,
        )
        self.rejects = Counter(
            "truceline_observation_rejects",
            "Refused observations by the field at fault",
            ["field"],
            registry=r,
        )
        self.groups = Histogram(
            "truceline_writer_group_submissions",
            "Submissions stored together in one group commit (one parse, ledger append, commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
        r.register(_Ledger(ws))

    def submitted(self, rep: FileReport) -> None:
        """Count a submission's outcome."""
        self.observations.labels("accepted").inc(rep.accepted)
        self.observations.labels("duplicate").inc(rep.duplicates)
        self.observations.labels("rejected").inc(rep.rejected)
        for p in rep.problems:
            self.rejects.labels(p.field or "record").inc()


class RequestMetrics:
    """ASGI middleware: count every request and time it, by route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def watch(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = int(msg["status"])
            await send(msg)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - t0)
            self.metrics.requests.labels(method, route, str(status)).inc()
