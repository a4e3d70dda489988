"""Alerts compared with their ledger entries column by column, on a real SQLite file and
on PostgreSQL: a hand edit of any column of ``alerts`` is named once, with both values.

The incidents the alerts are raised from are inserted by hand (as in the webhook
tests), so ``verify-store`` names them; each case asserts the one problem the edit adds
and that none of the untampered store's problems is about an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from test_warning_webhooks import DAY, _incidents

from truceline.ledger.audit import Issue
from truceline.ledger.storecheck import verify_store
from truceline.service.alerts import run_alerts
from truceline.service.webhooks import MemorySink
from truceline.service.workspace import Workspace
from truceline.store.ledger_check import LedgerView


def _issues(ws: Workspace, stmt: str | None = None) -> tuple[list[Issue], Any]:
    """verify-store's problems (after ``stmt``, rolled back) and the alert row then."""
    with ws.engine.connect() as conn:
        if stmt:
            conn.execute(sa.text(stmt))
        row = conn.execute(sa.text("SELECT * FROM alerts")).one()
        issues = verify_store(LedgerView(conn)).issues
        conn.rollback()
    return issues, row


@pytest.mark.parametrize(
    ("column", "expr"),
    [
        ("unit", "'B'"),
        ("kind", "'escalation'"),
        ("day", "'2024-03-02'"),
        ("score", "score * 10"),
        ("record", 'replace(record, \'"unit": "A"\', \'"unit": "B"\')'),
        ("created_at", "created_at + 1"),
    ],
)
def test_every_alert_column_is_compared(workspace: Workspace, column: str, expr: str) -> None:
    _incidents(workspace)
    now = datetime.combine(DAY, datetime.min.time(), UTC) + timedelta(hours=20)
    assert len(run_alerts(workspace, DAY, MemorySink(), now=now).alerts) == 1
    clean, before = _issues(workspace)
    assert not [i for i in clean if "alert" in str(i)]
    issues, after = _issues(workspace, f"UPDATE alerts SET {column} = {expr}")
    [issue] = [i for i in issues if i not in clean]
    assert (issue.problem, issue.index, issue.kind) == ("modified", before.ledger_index, "alert")
    was, now_is = getattr(before, column), getattr(after, column)
    if column == "created_at":
        want = f"created_at is {now_is!r} in the table but the leaf was accepted at {was}"
    elif column == "record":
        # the ledgered record, as the table's JSON column parses: its unit differs
        assert '"unit": "B"' in now_is
        want = "record is "
    else:
        want = f"{column} is {now_is!r} in the table but {was!r} in the ledger"
    assert issue.detail.startswith(f"alerts row {before.id}: {want}")
    if column != "record":
        assert issue.detail == f"alerts row {before.id}: {want}"
