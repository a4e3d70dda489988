"""Re-checking the record rows (observations, sources, findings, ...) against the ledger.

Each row of a table with a ``ledger_index`` column must hold the record its entry
holds (folded with the later entries that update it), column by column: a
column the record leaves out is null in the record (null is a value: null in
the ledger and a value in the table is a change). The row's identity ``id`` and
the columns in :data:`DERIVED` are checked another way (the entry's reference,
its time of acceptance, a digest). A row with no entry, an entry no row refers
to, and two rows holding each other's records are named. A row whose entry is
already named missing or altered is an echo of that cause and is not named again.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from truceline.ledger.audit import Issue

__all__ = [
    "DERIVED",
    "WHOLE_ROW",
    "LedgeredRow",
    "RowSource",
    "check_rows",
    "derived_diff",
    "diff",
]

# tables whose services ledger the whole row: every column is compared, a column the
# record leaves out being null; other tables' rows are compared on the record's keys
WHOLE_ROW = frozenset(
    {
        "agreements",
        "coverage",
        "declarations",
        "alerts",
        "finding_changes",
        "findings",
        "hotline_calls",
        "notification_answers",
        "notification_conflicts",
        "notification_versions",
        "observations",
        "source_grades",
        "sources",
        "status_changes",
    }
)

# columns kept beside a ledgered record, each checked against: the entry's ``ref``, its
# time of acceptance ``at`` (inside the leaf), or the ``sha256`` column (in the record)
DERIVED: dict[str, dict[str, str]] = {
    "observations": {"uid": "ref", "received_at": "at"},
    "agreements": {"content": "sha256", "loaded_at": "at"},
    # the notifier's details and personnel are ledgered by digest only
    "notification_versions": {
        "details": "private_sha256",
        "personnel": "private_sha256",
        "at": "at",
    },
    "notification_answers": {"answered_at": "at"},
    "alerts": {"created_at": "at"},
}

# record fields a table stores under another column name
RENAMED: dict[str, dict[str, str]] = {
    "notification_versions": {"notification": "notification_id"},
    "notification_answers": {"notification": "notification_id"},
    "hotline_calls": {"notification": "notification_id"},
}

#: ``notification_versions.t_end`` of a version with no end (the record says null)
FOREVER = 2**62


@dataclass(frozen=True, slots=True)
class LedgeredRow:
    """A row of a table with a ``ledger_index`` column, with the entry it points to."""

    key: object  # the row's primary key
    columns: Mapping[str, Any]  # every column but ``ledger_index``
    ledger_index: int | None
    kind: str | None  # of the entry, None when there is none
    ref: str | None
    data: bytes | None


class RowSource(Protocol):
    """What the row check reads from the store."""

    def tables(self) -> list[str]: ...
    def rows(self, table: str) -> Any: ...  # Iterable[LedgeredRow]
    def histories(self, table: str) -> dict[str, list[tuple[int, bytes]]]: ...
    def entry_data(self, index: int) -> bytes | None: ...


@dataclass(slots=True)
class Known:
    """What the entry checks found, so rows name only first causes."""

    size: int
    present: set[int]
    kinds: dict[int, str]
    refs: dict[int, str]
    statuses: dict[str, set[str]]  # ref -> every later to_status
    explained: set[int] = field(default_factory=set)  # entries already named
    explained_from: int | None = None  # entries from here on already named (appended, cut)
    referrers: dict[int, str] = field(default_factory=dict)  # missing entry -> its row
    # escalated_at of each (notification, version, party) a notification_escalation names
    escalations: dict[tuple[Any, Any, Any], Any] = field(default_factory=dict)
    # each (notification, version, party) a notification version asks to answer: the
    # version's entry, its time of acceptance (the answer's sent_at) and the answer's due_at
    asked: dict[tuple[Any, Any, Any], tuple[int, Any, Any]] = field(default_factory=dict)
    answered: set[tuple[Any, Any, Any]] = field(default_factory=set)  # by an entry


def _same(row_value: Any, rec_value: Any) -> bool:
    if row_value is None or rec_value is None:
        return row_value is None and rec_value is None
    if isinstance(row_value, bytes | memoryview):
        b = bytes(row_value)
        return rec_value in (b.hex(), base64.b64encode(b).decode())
    if isinstance(row_value, str) and isinstance(rec_value, dict | list):
        try:
            return bool(json.loads(row_value) == rec_value)
        except ValueError:
            return False
    if isinstance(row_value, int | float) and isinstance(rec_value, int | float):
        return float(row_value) == float(rec_value)
    return bool(row_value == rec_value)


def diff(
    columns: Mapping[str, Any],
    record: dict[str, Any],
    statuses: set[str] | None = None,
    derived: Mapping[str, str] | None = None,
    whole: bool = True,
    table: str = "",
) -> list[str]:
    """Columns that differ from their ledgered ``record`` (absent there: null, when the
    record is the ``whole`` row); a ``status`` reached by a later ledgered transition (a
    record with ``to_status`` for this row) is not a change."""
    out = []
    record = as_row(table, record)
    for name, v in columns.items():
        if (name == "id" and name not in record) or (derived and name in derived):
            continue
        if not whole and name not in record:
            continue
        if name == "status" and statuses and v in statuses:
            continue
        want = record.get(name)
        if not _same(v, want):
            out.append(f"{name} is {v!r} in the table but {want!r} in the ledger")
    return out


def as_row(table: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The record under the table's column names and in its column values."""
    names = RENAMED.get(table, {})
    out = {names.get(k, k): v for k, v in record.items()}
    if table == "notification_versions" and "t_end" in out and out["t_end"] is None:
        out["t_end"] = FOREVER
    if table == "alerts":  # the row keeps the whole record beside its keys
        out["record"] = dict(record)
    return out


def derived_diff(
    table: str,
    row: LedgeredRow,
    sources: tuple[str, ...] = ("ref", "at", "sha256", "private_sha256"),
) -> list[str]:
    """The :data:`DERIVED` columns of ``row`` (derived from one of ``sources``) that
    disagree with what they derive from."""
    out = []
    for name, source in DERIVED.get(table, {}).items():
        if source not in sources:
            continue
        v = row.columns.get(name)
        if source == "ref" and v != row.ref:
            out.append(f"{name} is {v!r} in the table but the entry's ref is {row.ref!r}")
        elif source == "at":
            at = _envelope(row.data).get("at")
            if at is not None and v != at:
                out.append(f"{name} is {v!r} in the table but the leaf was accepted at {at}")
        elif source == "sha256":
            text = v.encode("utf-8") if isinstance(v, str) else b""
            if hashlib.sha256(text).hexdigest() != row.columns.get("sha256"):
                out.append(f"{name} no longer has the sha256 the ledger names")
        elif source == "private_sha256" and name == "details":
            if _private_digest(row.columns) != _record(row.data).get("private_sha256"):
                out.append("details or personnel no longer have the digest the ledger names")
    return out


def _private_digest(columns: Mapping[str, Any]) -> str | None:
    """The digest a notification version's record holds of its details and personnel."""
    try:
        details = json.loads(columns.get("details") or "null")
    except ValueError:
        return None
    private = {"details": details, "personnel": columns.get("personnel")}
    return hashlib.sha256(json.dumps(private, sort_keys=True).encode()).hexdigest()


def _envelope(data: bytes | None) -> dict[str, Any]:
    try:
        env = json.loads(data) if data is not None else {}
    except ValueError:
        return {}
    return env if isinstance(env, dict) else {}


def _record(data: bytes | None) -> dict[str, Any]:
    rec = _envelope(data).get("record", {})
    return rec if isinstance(rec, dict) else {}


def _closed(rows: list[LedgeredRow]) -> dict[tuple[Any, Any], Any]:
    """``valid_to`` of agreement versions closed by a later version's ``closes`` list."""
    out: dict[tuple[Any, Any], Any] = {}
    for row in rows:
        rec = _record(row.data)
        for c in rec.get("closes") or []:
            if isinstance(c, dict):
                out[(rec.get("agreement_id"), c.get("version"))] = c.get("valid_to")
    return out


def _histories(view: RowSource, table: str) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """For a table whose rows are updated by later entries of other kinds (a source and
    its source_update entries): every record of those kinds by ref, in ledger order."""
    return {ref: [(i, _record(d)) for i, d in recs] for ref, recs in view.histories(table).items()}


def _expected(
    hist: dict[str, list[tuple[int, dict[str, Any]]]], ref: str, li: int, record: dict[str, Any]
) -> dict[str, Any]:
    """The row's state: its records folded in ledger order up to its entry."""
    merged: dict[str, Any] = {}
    for idx, rec in hist.get(ref, []):
        if idx > li:
            break
        merged.update(rec)
    return merged or record


def _swaps(table: str, bad: list[tuple[LedgeredRow, int, str]]) -> list[Issue]:
    out = []
    for row, li, kind in bad:
        for other, lj, _ in bad:
            rec = _record(other.data)
            if lj != li and not diff(
                row.columns, rec, None, DERIVED.get(table), table in WHOLE_ROW, table
            ):
                why = f"{table} row {row.key} holds the record of entry {lj}: "
                out.append(
                    Issue("reordered", li, kind, why + f"entries {li} and {lj} were swapped")
                )
    return out


def check_rows(view: RowSource, known: Known) -> tuple[int, list[Issue]]:
    """How many rows were checked, and the problems among them."""
    issues: list[Issue] = []
    referenced: set[int] = set()
    row_refs: set[tuple[str, str]] = set()  # (table, ref) of the entries rows point to
    kind_tables: dict[str, set[str]] = {}
    answers_seen: set[tuple[Any, Any, Any]] = set()  # (notification, version, party)
    awaited: list[tuple[LedgeredRow, str]] = []
    unlinked: list[tuple[str, LedgeredRow, Issue]] = []  # rows with no ledger_index
    count = 0
    for t in view.tables():
        hist = _histories(view, t)
        bad: list[tuple[LedgeredRow, int, str]] = []
        rows = view.rows(t)
        closed: dict[tuple[Any, Any], Any] = {}
        if t == "agreements":  # a few rows: a later version closes an earlier one
            rows = list(rows)
            closed = _closed(rows)
        for row in rows:
            count += 1
            li, name = row.ledger_index, f"{t} row {row.key}"
            if li is None:
                if _awaited(t, row):
                    awaited.append((row, name))
                else:
                    issues.append(Issue("unledgered", None, t, f"{name} has no ledger entry"))
                    unlinked.append((t, row, issues[-1]))
                continue
            referenced.add(li)
            if li not in known.present or row.kind is None:
                known.referrers.setdefault(li, name)
                if not _explained(known, li):
                    issues.append(Issue("deleted", li, t, f"{name} points to a missing entry"))
                continue
            row_refs.add((t, str(row.ref)))
            kind_tables.setdefault(row.kind, set()).add(t)
            if _explained(known, li):
                continue
            record = _expected(hist, str(row.ref), li, _record(row.data))
            close = (record.get("agreement_id"), record.get("version"))
            if close in closed:
                record = {**record, "valid_to": closed[close]}
            if t == "notification_answers":  # sent with its version, escalated or not
                who = (record.get("notification"), record.get("version"), record.get("party"))
                answers_seen.add(who)
                asked = known.asked.get(who)
                sent = None if asked is None else asked[1]
                record = {**record, "escalated_at": known.escalations.get(who), "sent_at": sent}
            statuses = known.statuses.get(str(row.key))
            whole = t in WHOLE_ROW and "at" in _envelope(row.data)  # entries before `at`
            diffs = diff(row.columns, record, statuses, DERIVED.get(t), whole, t)  # hold keys
            diffs += derived_diff(t, row)
            if diffs:
                bad.append((row, li, row.kind))
                issues.append(Issue("modified", li, row.kind, f"{name}: " + "; ".join(diffs)))
        swapped = _swaps(t, bad)
        moved = {(i.index, i.kind) for i in swapped}
        issues = [i for i in issues if i.problem != "modified" or (i.index, i.kind) not in moved]
        issues.extend(swapped)
    for i in sorted(known.present - referenced):
        k, ref = known.kinds[i], known.refs[i]
        tables = kind_tables.get(k, set())
        if tables and not _explained(known, i) and not any((tb, ref) in row_refs for tb in tables):
            relinked = _relink(view, i, k, tables, unlinked)
            if relinked is not None:  # one edit, the link cleared: not two problems
                named, cause = relinked
                issues = [named if x is cause else x for x in issues]
                continue
            where = "/".join(sorted(tables))
            issues.append(Issue("orphan", i, k, f"no {where} row refers to this entry"))
    issues += _awaited_problems(awaited, answers_seen, known)
    return count, issues


def _relink(
    view: RowSource,
    index: int,
    kind: str,
    tables: set[str],
    unlinked: list[tuple[str, LedgeredRow, Issue]],
) -> tuple[Issue, Issue] | None:
    """An entry no row refers to whose record a row without ``ledger_index`` holds: that
    row's link was cleared, one problem (named by the entry) instead of two. Returns the
    problem and the row's "has no ledger entry" it replaces."""
    data = view.entry_data(index) if unlinked else None
    if data is None:
        return None
    record = _record(data)
    for n, (t, row, cause) in enumerate(unlinked):
        if t in tables and not diff(row.columns, record, None, DERIVED.get(t), t in WHOLE_ROW, t):
            del unlinked[n]
            why = f"{t} row {row.key}: ledger_index cleared (entry {index} holds its record)"
            return Issue("modified", index, kind, why), cause
    return None


def _who(columns: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    return (columns.get("notification_id"), columns.get("version"), columns.get("party"))


def _awaited_problems(
    awaited: list[tuple[LedgeredRow, str]], seen: set[tuple[Any, Any, Any]], known: Known
) -> list[Issue]:
    """Awaited answers against the versions that ask them: each party asked has a row,
    sent when the version was accepted, due when it says, escalated when an entry says;
    a row for a party not asked, where an asked one has none, is that row's party edited."""
    out: list[Issue] = []
    strays: list[tuple[LedgeredRow, str]] = []
    for row, name in awaited:
        who = _who(row.columns)
        if who not in known.asked:
            strays.append((row, name))
            continue
        seen.add(who)
        idx, sent, due = known.asked[who]
        want = {"sent_at": sent, "due_at": due, "escalated_at": known.escalations.get(who)}
        want |= {"answer": None, "reason": None, "answered_at": None}
        diffs = _diffs(row.columns, want)
        if diffs and not _explained(known, idx):
            out.append(Issue("modified", idx, "notification", f"{name}: " + "; ".join(diffs)))
    missing = {
        who: idx
        for who, (idx, _, _) in known.asked.items()
        if who not in seen and who not in known.answered and not _explained(known, idx)
    }
    for row, name in strays:
        n, v, p = _who(row.columns)
        was = next((w for w in sorted(missing, key=str) if w[:2] == (n, v)), None)
        if was is None:
            why = f"{name}: {p} is not asked to answer version {v} in the ledger"
            out.append(Issue("unledgered", None, "notification_answers", why))
            continue
        idx = missing.pop(was)
        why = f"{name}: party is {p!r} in the table but {was[2]!r} was asked in the ledger"
        out.append(Issue("modified", idx, "notification", why))
    for (_, v, p), idx in sorted(missing.items(), key=lambda kv: kv[1]):
        why = f"no notification_answers row for {p}, asked to answer version {v}"
        out.append(Issue("deleted", idx, "notification", why))
    return out


def _diffs(columns: Mapping[str, Any], want: Mapping[str, Any]) -> list[str]:
    return [
        f"{k} is {columns.get(k)!r} in the table but {w!r} in the ledger"
        for k, w in want.items()
        if not _same(columns.get(k), w)
    ]


def _awaited(table: str, row: LedgeredRow) -> bool:
    """An answer still awaited: its own entry comes when it is given (who is asked, and
    by when, is in the version's entry)."""
    return table == "notification_answers" and row.columns.get("answer") is None


def _explained(known: Known, i: int) -> bool:
    return i in known.explained or (known.explained_from is not None and i >= known.explained_from)
