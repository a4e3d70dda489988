"""Re-checking the record rows (observations, sources, findings, ...) against the ledger.

Each row of a table with a ``ledger_index`` column must hold the record its entry
holds (folded with the later entries that update it); a row with no entry, an
entry no row refers to, and two rows holding each other's records are named. A
row whose entry is already named missing or altered is an echo of that cause and
is not named again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from truceline.ledger.audit import Issue

__all__ = ["LedgeredRow", "RowSource", "check_rows"]


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


def _diff(
    columns: Mapping[str, Any], record: dict[str, Any], statuses: set[str] | None = None
) -> list[str]:
    """Columns that differ from their ledgered ``record``; a ``status`` reached by a later
    ledgered transition (a record with ``to_status`` for this row) is not a change."""
    out = []
    for name, v in columns.items():
        if name in record:
            if name == "status" and statuses and v in statuses:
                continue
            if not _same(v, record[name]):
                want = record[name]
                out.append(f"{name} is {v!r} in the table but {want!r} in the ledger")
    return out


def _record(data: bytes | None) -> dict[str, Any]:
    if data is None:
        return {}
    try:
        rec = json.loads(data).get("record", {})
    except (ValueError, AttributeError):
        return {}
    return rec if isinstance(rec, dict) else {}


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
            if lj != li and not _diff(row.columns, _record(other.data)):
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
    count = 0
    for t in view.tables():
        hist = _histories(view, t)
        bad: list[tuple[LedgeredRow, int, str]] = []
        for row in view.rows(t):
            count += 1
            li, name = row.ledger_index, f"{t} row {row.key}"
            if li is None:
                issues.append(Issue("unledgered", None, t, f"{name} has no ledger entry"))
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
            diffs = _diff(row.columns, record, known.statuses.get(str(row.key)))
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
            where = "/".join(sorted(tables))
            issues.append(Issue("orphan", i, k, f"no {where} row refers to this entry"))
    return count, issues


def _explained(known: Known, i: int) -> bool:
    return i in known.explained or (known.explained_from is not None and i >= known.explained_from)
