"""Load on the HTTP API: concurrent clients on loopback against a real uvicorn server.

Three phases, each printed with throughput, p50 and p99 latency:

1. single signed submissions (``POST /observations``) from ``--clients`` clients,
   each a monitor with its own registered key;
2. ``--batches`` batches of ``--batch`` signed observations (``POST /observations/batch``),
   spread over the clients, each sending its next when the last is answered;
3. an incidents page of ``--page`` features (``GET /incidents?limit=N``), after
   fusing what was submitted.

Every acknowledgment counted comes after commit and ledger entry (the API
answers only then). Signatures and request bodies are made before the clock
starts (a field device's outbox holds its records signed); each client thread
keeps one connection open.

Beside each phase: the CPU time the server process spent on it per request
(user + system, all its threads, from ``/proc``), which depends far less on the
machine's load than wall-clock figures do, the load generator's own CPU time, and
the load average before and after.

    python benchmarks/api_load.py                                 # SQLite
    python benchmarks/api_load.py --db postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from truceline.domain.observations import observation_record
from truceline.ledger.signatures import sign_record
from truceline.service.sources import register_source
from truceline.service.users import add_user
from truceline.service.workspace import Workspace, create_workspace

T0 = 1_740_787_200  # 2025-03-01T00:00:00Z


def _record(client: int, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """An observation far enough from the others in space or time to be its own incident."""
    return {
        "source_id": f"mon-load-{client:02d}",
        "source_type": "monitor",
        "client_id": f"c{client}-{n}",
        "t": T0 + n * 1200 + client * 37,
        "t_unc_s": 30.0,
        "lon": round(30.0 + rng.uniform(0, 10), 6),
        "lat": round(46.0 + rng.uniform(0, 5), 6),
        "radius_m": 200.0,
        "kind": "explosion",
        "count": 1,
        "credibility": 2,
    }


def _signed(rec: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    return {**rec, "signature": sign_record(key, observation_record(rec))}


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


def _batch(records: list[dict[str, Any]]) -> tuple[bytes, int]:
    return _body({"observations": records}), len(records)


def _pg_database(admin: str) -> tuple[str, Callable[[], None]]:
    name = f"truceline_load_{uuid.uuid4().hex[:10]}"
    eng = sa.create_engine(admin.replace("postgresql://", "postgresql+psycopg://", 1),
                           isolation_level="AUTOCOMMIT")  # fmt: skip
    with eng.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with eng.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        eng.dispose()

    return admin.rsplit("/", 1)[0] + f"/{name}", drop


def _setup(ws: Workspace, clients: int) -> tuple[list[Ed25519PrivateKey], list[str], str]:
    keys, tokens = [], []
    for i in range(clients):
        key = Ed25519PrivateKey.generate()
        pub = base64.b64encode(key.public_key().public_bytes_raw()).decode()
        register_source(ws, f"mon-load-{i:02d}", "monitor", public_key=pub, actor="bench")
        tokens.append(add_user(ws, f"load-{i:02d}", "monitor").token)
        keys.append(key)
    return keys, tokens, add_user(ws, "load-analyst", "analyst").token


def _serve(db: str, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "truceline"
    proc = subprocess.Popen(
        [str(exe), "--db", db, "serve", "--port", str(port), "--rate", "0"],
        cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system, every thread) that ``pid`` and its live child
    processes (a server's workers) have used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(_cpu_s(int(c)) for c in children)


class _Client:
    """One keep-alive HTTP/1.1 connection (the standard library's: a load generator
    sharing two cores with the server should cost it as little CPU as it can; httpx
    took about 0.9 ms of CPU a request here)."""

    def __init__(self, url: str, token: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.auth = f"Bearer {token}"

    def send(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": self.auth}
        if body is not None:
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=body, headers=headers)
        r = self.conn.getresponse()
        return r.status, r.read()

    def close(self) -> None:
        self.conn.close()


def _run(
    url: str, tokens: list[str], work: Callable[[int, _Client, list[float]], None]
) -> tuple[float, list[float]]:
    clients = len(tokens)
    lat: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def one(i: int) -> None:
        c = _Client(url, tokens[i])
        try:
            barrier.wait()
            work(i, c, lat[i])
        finally:
            c.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, [x for xs in lat for x in xs]


def _backends(ws: Workspace) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving this benchmark's database
    (the server's connections; empty on SQLite, whose work is in the server process)."""
    if ws.engine.dialect.name != "postgresql":
        return {}
    with ws.engine.connect() as c:
        pids = c.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).scalars()
        out: dict[int, float] = {}
        for pid in pids:
            try:
                out[pid] = _cpu_s(pid)
            except OSError:  # ended meanwhile
                pass
    return out


class _Phase:
    """Measures one phase: load average before and after, the server's CPU (and its
    PostgreSQL backends'), and ours."""

    def __init__(self, server: int, ws: Workspace) -> None:
        self.server, self.ws = server, ws

    def __enter__(self) -> _Phase:
        self.load0 = os.getloadavg()[0]
        self.db0 = _backends(self.ws)
        self.cpu0, self.own0 = _cpu_s(self.server), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server_cpu = _cpu_s(self.server) - self.cpu0
        self.client_cpu = time.process_time() - self.own0
        db1 = _backends(self.ws)
        self.db_cpu = sum(v - self.db0.get(pid, 0.0) for pid, v in db1.items())
        self.load1 = os.getloadavg()[0]


def _groups(url: str, token: str) -> tuple[float, float]:
    """(group commits, submissions in them) so far, from the server's /metrics."""
    c = _Client(url, token)
    try:
        _, text = c.send("GET", "/metrics")
    finally:
        c.close()
    found = {}
    for line in text.decode().splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("truceline_writer_group_submissions_"):
            found[name.rsplit("_", 1)[1]] = float(value)
    return found.get("count", 0.0), found.get("sum", 0.0)


def _stats(
    name: str, n: int, unit: str, requests: int, wall: float, lat: list[float], ph: _Phase
) -> dict[str, Any]:
    q = np.percentile(np.array(lat) * 1000, [50, 99]) if lat else [float("nan")] * 2
    per_req = ph.server_cpu / max(requests, 1)
    free = n / ph.server_cpu if ph.server_cpu else float("nan")
    db = f"; PostgreSQL backends' CPU {ph.db_cpu:.2f} s" if ph.db_cpu else ""
    out = {
        "phase": name, unit: n, "requests": requests, "seconds": round(wall, 3),
        "per_s": round(n / wall, 1), "p50_ms": round(float(q[0]), 1),
        "p99_ms": round(float(q[1]), 1), "server_cpu_s": round(ph.server_cpu, 2),
        "server_cpu_ms_per_request": round(per_req * 1000, 2),
        "per_server_cpu_s": round(free, 1), "client_cpu_s": round(ph.client_cpu, 2),
        "db_cpu_s": round(ph.db_cpu, 2),
        "load": [round(ph.load0, 1), round(ph.load1, 1)],
    }  # fmt: skip
    print(
        f"{name:<34} {n:>7} {unit:<12} {n / wall:>10.1f}/s   p50 {q[0]:7.1f} ms   "
        f"p99 {q[1]:7.1f} ms\n{'':<34} server CPU {ph.server_cpu:6.2f} s: "
        f"{per_req * 1000:6.2f} ms a request, {free:,.0f} {unit} per CPU second; "
        f"clients' CPU {ph.client_cpu:.2f} s{db}; load {ph.load0:.1f} -> {ph.load1:.1f}",
        flush=True,
    )
    return out


def _together(result: dict[str, Any], g0: tuple[float, float], g1: tuple[float, float]) -> None:
    """Print and keep how many group commits stored a phase's submissions."""
    commits, together = g1[0] - g0[0], g1[1] - g0[1]
    result["group_commits"] = commits
    print(f"{'':<34} {commits:.0f} group commits, "
          f"{together / max(commits, 1):.1f} submissions each", flush=True)  # fmt: skip


PHASES = ("single", "batch", "page")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--db", default=None, help="PostgreSQL admin URL (default: SQLite in a temp dir)"
    )
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--single", type=int, default=250, help="single submissions per client")
    ap.add_argument(
        "--batches", type=int, default=96, help="batches in all (96: 6 from each of 16 clients)"
    )
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--page", type=int, default=10_000)
    ap.add_argument("--pages", type=int, default=10, help="page reads to time")
    ap.add_argument(
        "--only", default=",".join(PHASES), help="phases to time (the page needs the others' data)"
    )
    a = ap.parse_args()
    only = set(a.only.split(","))
    tmp = Path(tempfile.mkdtemp(prefix="tl-api-load-"))
    drop: Callable[[], None] = lambda: None  # noqa: E731
    if a.db:
        db, drop = _pg_database(a.db)
    else:
        db = f"sqlite:///{tmp / 'ws' / 'truceline.db'}"
    ws = create_workspace(tmp / "ws", db)
    keys, tokens, analyst = _setup(ws, a.clients)
    rng = np.random.default_rng(1)
    single = [
        [_body(_signed(_record(i, n, rng), keys[i])) for n in range(a.single)]
        for i in range(a.clients)
    ]
    per_client = max(1, a.batches // a.clients) if a.batches >= a.clients else 1
    bclients = min(a.clients, a.batches)
    first = a.single  # batch records follow each client's single ones

    def batch(i: int, b: int) -> tuple[bytes, int]:
        start = first + b * a.batch
        return _batch([_signed(_record(i, start + k, rng), keys[i]) for k in range(a.batch)])

    batches = [[batch(i, b) for b in range(per_client)] for i in range(bclients)]
    proc, url = _serve(db, tmp)
    results: list[dict[str, Any]] = []
    try:
        print(f"database: {ws.engine.dialect.name}; server {url}; {a.clients} clients; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip

        def submit(i: int, c: _Client, lat: list[float]) -> None:
            for body in single[i]:
                t = time.perf_counter()
                status, text = c.send("POST", "/observations", body)
                lat.append(time.perf_counter() - t)
                assert status == 201, text

        def send_batches(i: int, c: _Client, lat: list[float]) -> None:
            for body, n in batches[i]:
                t = time.perf_counter()
                status, text = c.send("POST", "/observations/batch", body)
                lat.append(time.perf_counter() - t)
                assert status == 200 and json.loads(text)["accepted"] == n, text[:300]

        if {"single", "page"} & only:
            g0 = _groups(url, analyst)
            with _Phase(proc.pid, ws) as ph:
                wall, lat = _run(url, tokens, submit)
            g1 = _groups(url, analyst)
            n = a.clients * a.single
            if "single" in only:
                results.append(
                    _stats("single signed submissions", n, "observations", n, wall, lat, ph)
                )
                _together(results[-1], g0, g1)
        if {"batch", "page"} & only:
            g0 = _groups(url, analyst)
            with _Phase(proc.pid, ws) as ph:
                wall, lat = _run(url, tokens[:bclients], send_batches)
            g1 = _groups(url, analyst)
            n = sum(n for bs in batches for _, n in bs)
            if "batch" in only:
                results.append(
                    _stats(f"batches of {a.batch}", n, "observations", len(lat), wall, lat, ph)
                )
                _together(results[-1], g0, g1)
        fused = 0
        if "page" in only:  # only the page needs incidents (and so the fusion's imports)
            from truceline.service.fusion import fuse

            fused = fuse(ws).new
        if "page" in only:
            reader = _Client(url, analyst)
            with _Phase(proc.pid, ws) as ph:
                lat = []
                got = 0
                for _ in range(a.pages):
                    t = time.perf_counter()
                    status, text = reader.send("GET", f"/incidents?limit={a.page}")
                    lat.append(time.perf_counter() - t)
                    got = len(json.loads(text)["features"])
            reader.close()
            name = f"incidents page ({got} features)"
            results.append(_stats(name, a.pages, "pages", a.pages, sum(lat), lat, ph))
        print(json.dumps({"db": ws.engine.dialect.name, "incidents": fused, "results": results}))
    finally:
        proc.terminate()
        proc.wait(10)
        ws.engine.dispose()
        drop()
        shutil.rmtree(tmp, ignore_errors=True)  # the workspace (34 MB on SQLite)
    return 0


if __name__ == "__main__":
    sys.exit(main())
