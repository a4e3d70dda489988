"""The deconfliction register's ledgered tables compared column by column (null is a
value), on a real SQLite file and on PostgreSQL: a register run through the services
verifies clean; a hand edit of any column of ``notification_versions``,
``notification_answers`` (awaited ones against the version that asks them),
``notification_conflicts`` or ``hotline_calls`` is named once, with both values. Each
case edits inside a transaction, checks what that transaction sees and rolls back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import built_workspace

from truceline.ledger.audit import Issue
from truceline.ledger.storecheck import verify_store
from truceline.service import ledger as svc
from truceline.service.workspace import Workspace
from truceline.store.ledger_check import LedgerView

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
T0 = int(datetime(2026, 1, 10, tzinfo=UTC).timestamp())
H = 3600
DNIPRO = [35.0462, 48.4647]  # far from the contact line
POKROVSK = [37.18, 48.28]  # inside the buffer zone


def _flight(c: list[float], t0: int, t1: int) -> dict[str, Any]:
    return {
        "activity": "flight",
        "footprint": {"circle": c, "radius_m": 5000},
        "t_start": t0,
        "t_end": t1,
        "alt_min_m": 500,
        "alt_max_m": 3000,
        "details": {"unit": "a squadron"},
        "personnel": 4,
    }


def _register(ws: Workspace) -> None:
    """Notifications, an objection, an acknowledgement, an escalation, a cancellation
    with a reason and one without, a hotline call: every command of the register."""
    from truceline.service.agreements import load_agreement
    from truceline.service.deconfliction import amend, cancel, notify
    from truceline.service.deconfliction_replies import answer, escalate, hotline

    load_agreement(ws, EXAMPLES / "reference-2025")
    b = notify(ws, "B", _flight(POKROVSK, T0, T0 + H), now=T0 - 86400)
    answer(ws, b.id, "A", objection="over the buffer zone", now=T0 - 80000)
    late = notify(ws, "A", _flight(DNIPRO, T0, T0 + H), now=T0 - 86400)
    escalate(ws, now=T0 - 86400 + 73 * H)
    answer(ws, late.id, "B", now=T0 - 1800)  # after its escalation
    amend(ws, late.id, "A", _flight(DNIPRO, T0, T0 + 2 * H), now=T0 - 900)  # B asked again
    cancel(ws, b.id, "B", "weather", now=T0 - 70000)
    cancel(ws, late.id, "A", now=T0 - 60)
    hotline(ws, "liaison B", "asked about the flight", "B", late.id, now=T0)
    escalate(ws, now=T0 + 72 * H)  # the amended version's answer, still awaited
    svc.issue_tree_head(ws)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def register(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    tmp = tmp_path_factory.mktemp("register")
    yield from built_workspace(request.param, tmp, _register)


def _row(ws: Workspace, sql: str) -> Any:
    with ws.engine.connect() as conn:
        return conn.execute(sa.text(sql)).first()


def _tampered(ws: Workspace, stmt: str, **params: object) -> Issue:
    """The one problem verify-store names in a transaction that ran ``stmt``."""
    with ws.engine.connect() as conn:
        conn.execute(sa.text(stmt), params)
        issues = verify_store(LedgerView(conn)).issues
        conn.rollback()
    assert len(issues) == 1, issues
    return issues[0]


def test_the_register_verifies_clean(register: Workspace) -> None:
    awaited = _row(register, "SELECT count(*) FROM notification_answers WHERE answer IS NULL")
    escalated = _row(
        register,
        "SELECT count(*) FROM notification_answers WHERE escalated_at > 0 AND answer IS NULL",
    )
    answered = _row(
        register,
        "SELECT count(*) FROM notification_answers WHERE escalated_at > 0 AND answer IS NOT NULL",
    )
    # awaited and answered rows, escalated or not, are exercised
    assert awaited[0] > 0 and escalated[0] > 0 and answered[0] > 0
    assert svc.verify_store(register).issues == []


def test_version_reason_null_to_empty(register: Workspace) -> None:
    v = _row(
        register,
        "SELECT notification_id, version, ledger_index FROM notification_versions "
        "WHERE reason IS NULL ORDER BY ledger_index LIMIT 1",
    )
    issue = _tampered(
        register,
        "UPDATE notification_versions SET reason = '' WHERE notification_id = :n AND version = :v",
        n=v.notification_id,
        v=v.version,
    )
    assert (issue.problem, issue.index, issue.kind) == ("modified", v.ledger_index, "notification")
    assert issue.detail == (
        f"notification_versions row {v.notification_id}: reason is '' in the table "
        "but None in the ledger"
    )


def test_version_end_moved(register: Workspace) -> None:
    v = _row(register, "SELECT * FROM notification_versions ORDER BY ledger_index LIMIT 1")
    issue = _tampered(
        register,
        "UPDATE notification_versions SET t_end = t_end + 3600 "
        "WHERE notification_id = :n AND version = :v",
        n=v.notification_id,
        v=v.version,
    )
    assert (issue.problem, issue.index) == ("modified", v.ledger_index)
    assert f"t_end is {v.t_end + 3600} in the table but {v.t_end} in the ledger" in issue.detail


def test_version_details_edited(register: Workspace) -> None:
    v = _row(register, "SELECT * FROM notification_versions ORDER BY ledger_index LIMIT 1")
    issue = _tampered(
        register,
        "UPDATE notification_versions SET personnel = 40 WHERE notification_id = :n "
        "AND version = :v",
        n=v.notification_id,
        v=v.version,
    )
    assert (issue.problem, issue.index) == ("modified", v.ledger_index)
    assert issue.detail == (
        f"notification_versions row {v.notification_id}: details or personnel no longer "
        "have the digest the ledger names"
    )


def test_answer_reason_edited(register: Workspace) -> None:
    a = _row(register, "SELECT * FROM notification_answers WHERE answer = 'objected'")
    issue = _tampered(
        register, "UPDATE notification_answers SET reason = 'no objection' WHERE id = :i", i=a.id
    )
    assert (issue.problem, issue.index, issue.kind) == (
        "modified",
        a.ledger_index,
        "notification_answer",
    )
    assert issue.detail == (
        f"notification_answers row {a.id}: reason is 'no objection' in the table but "
        f"{a.reason!r} in the ledger"
    )


def test_answer_reason_null_to_empty(register: Workspace) -> None:
    a = _row(register, "SELECT * FROM notification_answers WHERE answer = 'acknowledged'")
    issue = _tampered(register, "UPDATE notification_answers SET reason = '' WHERE id = :i", i=a.id)
    assert issue.detail == (
        f"notification_answers row {a.id}: reason is '' in the table but None in the ledger"
    )


def test_escalation_invented_and_erased(register: Workspace) -> None:
    a = _row(
        register,
        "SELECT * FROM notification_answers WHERE answer IS NOT NULL AND escalated_at IS NULL",
    )
    issue = _tampered(
        register, "UPDATE notification_answers SET escalated_at = 5 WHERE id = :i", i=a.id
    )
    assert (issue.problem, issue.index) == ("modified", a.ledger_index)
    assert "escalated_at is 5 in the table but None in the ledger" in issue.detail
    e = _row(
        register,
        "SELECT * FROM notification_answers WHERE answer IS NOT NULL AND escalated_at > 0",
    )
    issue = _tampered(
        register, "UPDATE notification_answers SET escalated_at = NULL WHERE id = :i", i=e.id
    )
    assert f"escalated_at is None in the table but {e.escalated_at} in the ledger" in issue.detail


def _edited(ws: Workspace, table: str, key: int, column: str, expr: str) -> tuple[Issue, Any, Any]:
    """The one problem named after ``column`` of ``table`` row ``key`` is set to ``expr``,
    with the column's value before and after."""
    pk = "notification_id" if table == "notification_versions" else "id"
    where = f"WHERE {pk} = :k" + (" AND version = 1" if table == "notification_versions" else "")
    with ws.engine.connect() as conn:
        before = conn.execute(sa.text(f"SELECT {column} FROM {table} {where}"), {"k": key}).one()
        conn.execute(sa.text(f"UPDATE {table} SET {column} = {expr} {where}"), {"k": key})
        after = conn.execute(sa.text(f"SELECT {column} FROM {table} {where}"), {"k": key}).one()
        issues = verify_store(LedgerView(conn)).issues
        conn.rollback()
    assert len(issues) == 1, issues
    return issues[0], before[0], after[0]


def _ledgered(ws: Workspace, table: str, key: int) -> int:
    pk = "notification_id" if table == "notification_versions" else "id"
    extra = " AND version = 1" if table == "notification_versions" else ""
    return int(_row(ws, f"SELECT ledger_index FROM {table} WHERE {pk} = {key}{extra}")[0])


# (table, kind of its entries, column, new value): every column of the zone conflict,
# the hotline call, and the times the service now passes to the ledger
COMPARED = [
    ("notification_conflicts", "notification_conflict", "notification_id", "2"),
    ("notification_conflicts", "notification_conflict", "version", "version + 1"),
    ("notification_conflicts", "notification_conflict", "kind", "'notice'"),
    ("notification_conflicts", "notification_conflict", "other_id", "2"),
    ("notification_conflicts", "notification_conflict", "other_version", "1"),
    ("notification_conflicts", "notification_conflict", "other_party", "'A'"),
    ("notification_conflicts", "notification_conflict", "rule_id", "NULL"),
    ("notification_conflicts", "notification_conflict", "zone_id", "NULL"),
    ("notification_conflicts", "notification_conflict", "summary", "'outside the buffer'"),
    ("notification_conflicts", "notification_conflict", "area_m2", "area_m2 / 2"),
    ("notification_conflicts", "notification_conflict", "seconds", "3600"),
    ("notification_conflicts", "notification_conflict", "alt_m", "100"),
    ("notification_conflicts", "notification_conflict", "found_at", "found_at + 60"),
    ("hotline_calls", "hotline_call", "at", "at - 60"),
    ("hotline_calls", "hotline_call", "caller", "'liaison A'"),
    ("hotline_calls", "hotline_call", "party", "NULL"),
    ("hotline_calls", "hotline_call", "notification_id", "1"),
    ("hotline_calls", "hotline_call", "summary", "'asked nothing'"),
    ("notification_answers", "notification_answer", "sent_at", "sent_at - 60"),
]


@pytest.mark.parametrize(("table", "kind", "column", "expr"), COMPARED)
def test_every_column_is_compared(
    register: Workspace, table: str, kind: str, column: str, expr: str
) -> None:
    issue, before, after = _edited(register, table, 1, column, expr)
    assert (issue.problem, issue.index, issue.kind) == (
        "modified",
        _ledgered(register, table, 1),
        kind,
    )
    assert issue.detail == (
        f"{table} row 1: {column} is {after!r} in the table but {before!r} in the ledger"
    )


@pytest.mark.parametrize(
    ("table", "kind", "column"),
    [
        ("notification_versions", "notification", "at"),
        ("notification_answers", "notification_answer", "answered_at"),
    ],
)
def test_times_are_the_leaves(register: Workspace, table: str, kind: str, column: str) -> None:
    """The service passes the time it stores to the ledger: it is the leaf's ``at``."""
    issue, before, after = _edited(register, table, 1, column, f"{column} + 1")
    assert (issue.problem, issue.index, issue.kind) == (
        "modified",
        _ledgered(register, table, 1),
        kind,
    )
    assert issue.detail == (
        f"{table} row 1: {column} is {after!r} in the table but the leaf was accepted at {before}"
    )


def _awaited(ws: Workspace) -> Any:
    """The awaited answer, and the ledger index of the version that asks it."""
    a = _row(ws, "SELECT * FROM notification_answers WHERE answer IS NULL")
    v = _row(
        ws,
        "SELECT ledger_index FROM notification_versions WHERE notification_id = "
        f"{a.notification_id} AND version = {a.version}",
    )
    return a, v.ledger_index


def test_the_version_logs_who_is_asked_by_when(register: Workspace) -> None:
    a, li = _awaited(register)
    with register.engine.connect() as conn:
        data = conn.execute(
            sa.text("SELECT data FROM ledger_entries WHERE idx = :i"), {"i": li}
        ).scalar_one()
    record = json.loads(bytes(data))["record"]
    assert (record["asked"], record["answer_due_at"]) == ([a.party], a.due_at)


@pytest.mark.parametrize(
    ("column", "expr"),
    [
        ("sent_at", "sent_at + 1"),
        ("due_at", "due_at + 3600"),
        ("escalated_at", "NULL"),
        ("answered_at", "sent_at"),
    ],
)
def test_awaited_answer_edited(register: Workspace, column: str, expr: str) -> None:
    a, li = _awaited(register)
    issue, before, after = _edited(register, "notification_answers", a.id, column, expr)
    assert (issue.problem, issue.index, issue.kind) == ("modified", li, "notification")
    assert issue.detail == (
        f"notification_answers row {a.id}: {column} is {after!r} in the table but "
        f"{before!r} in the ledger"
    )


def test_awaited_answer_given_to_another_party(register: Workspace) -> None:
    a, li = _awaited(register)
    issue, before, _ = _edited(register, "notification_answers", a.id, "party", "'C'")
    assert (issue.problem, issue.index, issue.kind) == ("modified", li, "notification")
    assert issue.detail == (
        f"notification_answers row {a.id}: party is 'C' in the table but {before!r} was "
        "asked in the ledger"
    )


def test_awaited_answer_deleted(register: Workspace) -> None:
    a, li = _awaited(register)
    issue = _tampered(register, "DELETE FROM notification_answers WHERE id = :i", i=a.id)
    assert (issue.problem, issue.index, issue.kind) == ("deleted", li, "notification")
    assert issue.detail == (
        f"no notification_answers row for {a.party}, asked to answer version {a.version}"
    )


def test_awaited_answer_invented(register: Workspace) -> None:
    a, _ = _awaited(register)
    issue = _tampered(
        register,
        "INSERT INTO notification_answers (id, notification_id, version, party, sent_at, "
        "due_at) VALUES (99, :n, :v, 'C', :s, :d)",
        n=a.notification_id,
        v=a.version,
        s=a.sent_at,
        d=a.due_at,
    )
    assert (issue.problem, issue.index, issue.kind) == (
        "unledgered",
        None,
        "notification_answers",
    )
    assert issue.detail == (
        f"notification_answers row 99: C is not asked to answer version {a.version} in the ledger"
    )
