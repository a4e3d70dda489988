"""Transactions: reads never wait for a writer, a blocked writer gives up after
``lock_timeout_s`` with a clear error, and a read-only copy of a store can be read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from truceline.domain.errors import StoreError
from truceline.service.workspace import Workspace, create_workspace, open_workspace
from truceline.store import ledger as log
from truceline.store.db import open_engine, reading, writing


def _engine(workspace: Workspace, timeout_s: float) -> sa.Engine:
    return open_engine(workspace.url, lock_timeout_s=timeout_s)


def test_a_read_does_not_wait_for_a_paused_writer(workspace: Workspace) -> None:
    engine = _engine(workspace, 5.0)
    with writing(engine) as held:
        log.lock(held)
        log.append(held, "note", [("1", {"a": 1})])
        started = time.monotonic()
        with reading(engine) as conn:
            size = log.size(conn)
        assert time.monotonic() - started < 2.0
        assert size == 0  # the writer has not committed yet
    with reading(engine) as conn:
        assert log.size(conn) == 1
    engine.dispose()


def test_a_blocked_writer_gives_up_after_the_timeout_naming_the_wait(
    workspace: Workspace,
) -> None:
    engine = _engine(workspace, 0.5)
    with writing(engine) as held:
        log.lock(held)
        log.append(held, "note", [("1", {"a": 1})])
        started = time.monotonic()
        with pytest.raises(StoreError) as caught, writing(engine, "appending a note") as other:
            log.lock(other)
            log.append(other, "note", [("2", {"a": 2})])
        waited = time.monotonic() - started
    message = str(caught.value)
    assert "gave up appending a note after waiting 0.5 s for a database lock" in message
    assert "lock_timeout_s" in message
    assert 0.4 <= waited < 5.0
    with reading(engine) as conn:
        assert log.size(conn) == 1  # the first writer's append stands, the second left nothing
    engine.dispose()


def test_the_lock_timeout_is_a_workspace_setting(tmp_path: Path, db_url: str) -> None:
    ws = create_workspace(tmp_path / "ws", db_url)
    other = open_workspace(db_url, environ={"TRUCELINE_LOCK_TIMEOUT_S": "0.3"})
    assert other.settings.lock_timeout_s == 0.3
    with writing(ws.engine) as held:
        log.lock(held)
        log.append(held, "note", [("1", {"a": 1})])
        with pytest.raises(StoreError, match=r"after waiting 0.3 s"), writing(other.engine) as w:
            log.lock(w)
            log.append(w, "note", [("2", {"a": 2})])
    ws.engine.dispose()
    other.engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_row_lock_on_postgresql_times_out_too(workspace: Workspace) -> None:
    engine = _engine(workspace, 0.5)
    with writing(engine) as conn:
        conn.execute(sa.text("CREATE TABLE probe (id int PRIMARY KEY, v int)"))
        conn.execute(sa.text("INSERT INTO probe VALUES (1, 0)"))
    with writing(engine) as held:
        held.execute(sa.text("UPDATE probe SET v = 1 WHERE id = 1"))
        with pytest.raises(StoreError, match=r"after waiting 0.5 s"), writing(engine) as other:
            other.execute(sa.text("UPDATE probe SET v = 2 WHERE id = 1"))
        with reading(engine) as conn:
            assert conn.execute(sa.text("SELECT v FROM probe")).scalar_one() == 0
    engine.dispose()


_READER = textwrap.dedent(
    """
    import sys
    from truceline.store import ledger as log
    from truceline.service.workspace import open_workspace
    from truceline.store.db import reading, writing
    from truceline.domain.errors import StoreError
    ws = open_workspace(cwd=__import__("pathlib").Path(sys.argv[1]), environ={})
    with reading(ws.engine) as conn:
        print("size", log.size(conn))
    try:
        with writing(ws.engine, "appending a note") as conn:
            log.append(conn, "note", [("2", {"a": 2})])
    except StoreError as exc:
        print("refused", exc)
    """
)


def _run_on_read_only_copy(copy: Path) -> subprocess.CompletedProcess[str]:
    """Run the reader with ``copy`` unwritable: a read-only bind mount in a private
    mount namespace when root (root may write any file), else modes 0444/0555."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-c", _READER, str(copy)]
    if os.geteuid() == 0:
        mount = f"mount --bind -o ro '{copy}' '{copy}' && exec \"$@\""
        cmd = ["unshare", "--mount", "sh", "-c", mount, "sh", *cmd]
    else:
        for p in copy.iterdir():
            p.chmod(0o444)
        copy.chmod(0o555)
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    finally:
        copy.chmod(0o755)
        for p in copy.iterdir():
            p.chmod(0o644)


def test_a_read_only_copy_of_a_workspace_can_be_read(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """A copy on a read-only disk is read, not refused; a write to it fails with a
    clear error and changes nothing."""
    assert sqlite_workspace.root is not None
    with writing(sqlite_workspace.engine) as conn:
        log.append(conn, "note", [("1", {"a": 1})])
    sqlite_workspace.engine.dispose()
    copy = tmp_path / "copy"
    shutil.copytree(sqlite_workspace.root, copy)
    before = (copy / "truceline.db").read_bytes()
    out = _run_on_read_only_copy(copy)
    assert out.returncode == 0, out.stderr
    assert "size 1" in out.stdout
    assert "the store is read-only" in out.stdout
    assert (copy / "truceline.db").read_bytes() == before


def test_the_services_readers_do_not_wait_for_a_writer(workspace: Workspace) -> None:
    """Checking a token, a page of incidents, findings, notifications and alerts are reads:
    a writer holding the store (the API's group writer, a long ingest) does not hold them up
    until the lock timeout, and what they see is the store before its commit."""
    from truceline.service.alerts import list_alerts
    from truceline.service.deconfliction_replies import list_views
    from truceline.service.findings import list_findings
    from truceline.service.publication import IncidentQuery, Tier, incident_page
    from truceline.service.users import add_user, authenticate

    token = add_user(workspace, "analyst-1", "analyst").token
    quick = open_workspace(workspace.url, environ={"TRUCELINE_LOCK_TIMEOUT_S": "0.3"})
    with writing(workspace.engine) as held:
        log.lock(held)
        log.append(held, "note", [("1", {"a": 1})])
        started = time.monotonic()
        assert authenticate(quick, token).name == "analyst-1"
        assert incident_page(quick, IncidentQuery(), Tier.RESTRICTED).matched == 0
        assert list_findings(quick) == []
        assert list_views(quick, None) == []
        assert list_alerts(quick) == []
        assert time.monotonic() - started < 3.0
    quick.engine.dispose()
