"""Shared fixtures: real stores (a SQLite file; a fresh database on the PostgreSQL
server), real data from ../shared/data/real, and workspaces built on them.

Outside CI a missing PostgreSQL server or data folder skips its tests with one
line of reason; with ``CI=true`` they fail instead, so CI never skips them.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from truceline.compliance.agreement.build import Built, build_from_control
from truceline.service.workspace import Workspace, create_workspace

ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = ROOT.parent / "shared" / "data" / "real"
BENCH_DIR = ROOT.parent / "shared" / "bench"
PG_ADMIN_URL = os.environ.get(
    "TRUCELINE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run, not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The folder of public conflict data shared beside the project."""
    if not (REAL_DATA / "README.md").is_file():
        _unavailable(f"real data not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture(scope="session")
def deepstate_2022(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The agreement ``agreement build`` makes from DeepStateMap's control of 2022-04-03
    (built once: several tests read it, none changes it)."""
    return build_from_control(
        real_data / "deepstate_status_2022-04-03.geojson",
        dt.date(2022, 4, 3),
        tmp_path_factory.mktemp("b22"),
        real_data / "ukraine_adm0.geojson",
    )


@contextmanager
def fresh_pg_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped afterwards (for fixtures of
    any scope)."""
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"truceline_test_{uuid.uuid4().hex[:12]}"
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError:
        admin.dispose()
        _unavailable(f"no PostgreSQL server at {PG_ADMIN_URL}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def built_workspace(
    store: str, folder: Path, build: Callable[[Workspace], None]
) -> Iterator[Workspace]:
    """A workspace on ``store`` (``sqlite``: a file in ``folder``; ``postgresql``: a
    fresh database) that ``build`` fills, for module fixtures that build a world once."""
    if store == "sqlite":
        ws = create_workspace(folder / "ws")
        build(ws)
        yield ws
        ws.engine.dispose()
        return
    with fresh_pg_url() as url:
        ws = create_workspace(folder / "ws", url)
        build(ws)
        yield ws
        ws.engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    with fresh_pg_url() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def workspace(tmp_path: Path, db_url: str) -> Iterator[Workspace]:
    """A migrated workspace on each store, with no agreement loaded."""
    ws = create_workspace(tmp_path / "ws", db_url)
    yield ws
    ws.engine.dispose()


@pytest.fixture
def sqlite_workspace(tmp_path: Path) -> Iterator[Workspace]:
    """A migrated workspace on a SQLite file only (for tests that need no PostgreSQL run)."""
    ws = create_workspace(tmp_path / "ws")
    yield ws
    ws.engine.dispose()


# -- the HTTP API ---------------------------------------------------------------


@pytest.fixture
def api_client(sqlite_workspace: Workspace) -> Iterator[object]:
    """The real app over a SQLite workspace, driven in-process (no rate limit)."""
    from fastapi.testclient import TestClient

    from truceline.api import ApiLimits, create_app

    app = create_app(sqlite_workspace, ApiLimits(rate_per_s=0))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api_tokens(sqlite_workspace: Workspace) -> dict[str, str]:
    """A token for each role (the party liaison speaks for party A), by role name."""
    from truceline.service.users import Role, add_user

    out: dict[str, str] = {}
    for role in Role:
        party = "A" if role is Role.PARTY else None
        out[role.value] = add_user(sqlite_workspace, f"u-{role.value}", role.value, party).token
    return out


#: the monitor and sensor sources of the files in tests/data (registered before they submit)
DATA_SENSORS = (
    ("mon-01", "monitor"),
    ("cam-07", "camera"),
    ("ac-03", "acoustic"),
    ("ac-09", "acoustic"),
    ("uav-02", "uav"),
)


@pytest.fixture
def registered_sensors(request: pytest.FixtureRequest) -> None:
    """The tests/data sensors registered (signatures optional) in the test's workspace."""
    from truceline.service.sources import register_source

    name = "workspace" if "workspace" in request.fixturenames else "sqlite_workspace"
    ws = request.getfixturevalue(name)
    for sid, stype in DATA_SENSORS:
        register_source(ws, sid, stype, signature_policy="optional", actor="test")


@pytest.fixture
def api_server(sqlite_workspace: Workspace, serve: Any) -> str:
    """A real uvicorn server over the SQLite workspace on a free loopback port; its URL."""
    url, _stop = serve(sqlite_workspace)
    return str(url)


@pytest.fixture(scope="session")
def ogrinfo() -> str:
    """GDAL's ogrinfo (Debian's gdal-bin), a real OGC API - Features client."""
    import shutil

    exe = shutil.which("ogrinfo")
    if exe is None:
        _unavailable("ogrinfo not found: apt-get install gdal-bin")
    assert exe is not None
    return exe


# -- real servers and a real browser ---------------------------------------------


@pytest.fixture
def serve() -> Iterator[object]:
    """Start real uvicorn servers of the API over a workspace: ``url, stop = serve(ws)``.
    Each listens on a free loopback port; ``stop()`` takes it down (as a crash of the link
    would); all still running stop after the test."""
    import socket
    import threading
    import time

    import uvicorn

    from truceline.api import ApiLimits, create_app

    running: list[object] = []

    def start(ws: Workspace) -> tuple[str, object]:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(ws, ApiLimits(rate_per_s=0)), log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the API server did not start")
            time.sleep(0.02)

        def stop() -> None:
            if thread.is_alive():
                server.should_exit = True
                thread.join(10)
            sock.close()

        running.append(stop)
        return f"http://127.0.0.1:{port}", stop

    yield start
    for stop in running:
        stop()  # type: ignore[operator]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, for the dashboard's end-to-end tests (driven by Playwright)."""
    import shutil

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        _unavailable("chromium not found: apt-get install chromium")
    assert exe is not None
    return exe
