"""Re-check the database itself: entries, tree nodes, signed heads and record rows.

Catches a row changed behind the API: an entry whose data no longer matches its
leaf hash, leaves that no longer match the stored tree nodes or a signed head,
a gap or an extra entry, and a record row (observation, source, finding, ...)
whose columns differ from the record its ledger entry holds, that has no entry,
or whose entry has no row.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from truceline.domain.errors import InputError
from truceline.ledger.audit import Issue
from truceline.ledger.merkle import HASH_SIZE, MemoryTree, hash_leaf
from truceline.ledger.note import Verifier, parse_checkpoint, verify_note

__all__ = ["HeadRow", "LedgeredRow", "StoreReport", "StoreView", "verify_store"]

_MAX_PER_CHECK = 200


@dataclass(frozen=True, slots=True)
class HeadRow:
    """A stored tree head as its row holds it."""

    id: int
    size: int
    root_hash: bytes
    issued_at: int
    key_id: str
    checkpoint: str


@dataclass(frozen=True, slots=True)
class LedgeredRow:
    """A row of a table with a ``ledger_index`` column, with the entry it points to."""

    key: object  # the row's primary key
    columns: Mapping[str, Any]  # every column but ``ledger_index``
    ledger_index: int | None
    kind: str | None  # of the entry, None when there is none
    ref: str | None
    data: bytes | None


class StoreView(Protocol):
    """What the check reads from the store (``truceline.store.ledger.LedgerView``)."""

    def entries(self) -> Iterable[tuple[int, str, str, bytes, bytes]]: ...
    def nodes(self) -> Iterable[tuple[int, int, bytes]]: ...
    def verifiers(self) -> dict[str, Verifier]: ...
    def heads(self) -> list[HeadRow]: ...
    def tables(self) -> list[str]: ...
    def rows(self, table: str) -> Iterable[LedgeredRow]: ...
    def histories(self, table: str) -> dict[str, list[tuple[int, bytes]]]: ...


@dataclass(slots=True)
class StoreReport:
    entries: int = 0
    heads: int = 0
    rows: int = 0
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


@dataclass(slots=True)
class _Ledger:
    idx: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    statuses: dict[str, set[str]] = field(default_factory=dict)  # ref -> later to_status
    stored: list[bytes] = field(default_factory=list)
    computed: list[bytes] = field(default_factory=list)


def _scan_entries(view: StoreView, rep: StoreReport) -> _Ledger:
    led = _Ledger()
    expected = 0
    for idx, kind, ref, data, lh in view.entries():
        if idx != expected:
            rep.issues.append(
                Issue("deleted", expected, None, f"entries {expected}..{idx - 1} are missing")
            )
        expected = idx + 1
        h = hash_leaf(data)
        if h != lh:
            rep.issues.append(Issue("modified", idx, kind, "data does not match its leaf hash"))
        try:
            env = json.loads(data)
            if env.get("kind") != kind or env.get("ref") != ref:
                rep.issues.append(Issue("relabelled", idx, kind, "kind/ref differ from the data"))
            rec = env.get("record")
            if isinstance(rec, dict) and "to_status" in rec:
                led.statuses.setdefault(str(ref), set()).add(str(rec["to_status"]))
        except (ValueError, AttributeError):
            rep.issues.append(Issue("modified", idx, kind, "data is not a JSON ledger envelope"))
        led.idx.append(int(idx))
        led.kinds.append(str(kind))
        led.refs.append(str(ref))
        led.stored.append(lh)
        led.computed.append(h)
    rep.entries = len(led.idx)
    return led


def _check_nodes(view: StoreView, led: _Ledger, rep: StoreReport, signed: int) -> None:
    tree = MemoryTree(b"".join(led.stored))
    found = 0
    seen: set[tuple[int, int]] = set()
    tainted: set[tuple[int, int]] = set()  # parents of a bad node: they differ in cascade
    for level, idx, h in view.nodes():
        seen.add((level, idx))
        if level >= len(tree.levels) or tree.node(level, idx) != h:
            tainted.add((level + 1, idx >> 1))
            if (level, idx) in tainted or found >= _MAX_PER_CHECK:
                continue
            found += 1
            lo, hi = idx << level, min((idx + 1) << level, tree.size)
            if level == 1:
                kinds = "/".join(
                    sorted({led.kinds[i] for i in range(lo, hi) if i < len(led.kinds)})
                )
                what = f"entries {lo}..{hi - 1} no longer hash to the tree's stored node"
            else:  # its children hash right: the node row itself was edited
                kinds = ""
                what = (
                    f"tree node (level {level}, index {idx}) over entries {lo}..{hi - 1} is "
                    "not the hash of the nodes below it: ledger_nodes was edited"
                )
            rep.issues.append(Issue("modified", lo, kinds or None, what))
    missing = [node for node in _all(tree) if node not in seen]
    # entries appended behind the API leave every node from some end on missing; a node
    # present past the first missing one means rows of ledger_nodes were deleted
    first_end = min(((i + 1) << lv for lv, i in missing), default=0)
    if missing and any(
        node in seen for node in _all(tree) if (node[1] + 1) << node[0] >= first_end
    ):
        lv, i = missing[0]
        rep.issues.append(
            Issue(
                "deleted",
                i << lv,
                None,
                f"{len(missing)} tree node(s) missing, the first (level {lv}, index {i}) over "
                f"entries {i << lv}..{((i + 1) << lv) - 1}, while later ones are present: "
                "ledger_nodes rows were deleted",
            )
        )
    elif missing:
        pairs = sum(1 for lv, _ in seen if lv == 1)
        lo = signed if signed in (2 * pairs, 2 * pairs + 1) else missing[0][1] << missing[0][0]
        rep.issues.append(
            Issue(
                "appended",
                lo,
                led.kinds[lo] if lo < len(led.kinds) else None,
                f"{len(missing)} tree node(s) missing from entry {lo} on: "
                "entries were appended behind the API",
            )
        )


def _all(tree: MemoryTree) -> Iterator[tuple[int, int]]:
    """Every perfect node (level >= 1) of ``tree``."""
    for lv in range(1, len(tree.levels)):
        for i in range(len(tree.levels[lv]) // HASH_SIZE):
            yield lv, i


def _check_heads(view: StoreView, led: _Ledger, rep: StoreReport) -> int:
    """Check every signed head; returns the largest signed size."""
    keys = view.verifiers()
    tree = MemoryTree(b"".join(led.computed))
    good = signed = 0
    for row in view.heads():
        rep.heads += 1
        label = f"tree head #{row.id} (size {row.size})"
        try:
            cp = parse_checkpoint(verify_note(row.checkpoint, keys[row.key_id]))
        except (InputError, KeyError) as exc:
            rep.issues.append(Issue("signature", None, None, f"{label}: signature fails: {exc}"))
            continue
        if cp.size != row.size or cp.root != row.root_hash:
            rep.issues.append(
                Issue("head", None, None, f"{label}: columns differ from its signed text")
            )
        if cp.size > tree.size:
            rep.issues.append(
                Issue(
                    "truncated",
                    tree.size,
                    None,
                    f"{label} signed {cp.size} entries, the ledger has {tree.size}",
                )
            )
        elif tree.root(cp.size) != cp.root:
            rep.issues.append(
                Issue(
                    "root",
                    None,
                    None,
                    f"{label}: entries {good}..{cp.size - 1} changed since it was signed",
                )
            )
        else:
            good = max(good, cp.size)
        signed = max(signed, cp.size)
    return signed


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


def _histories(view: StoreView, table: str) -> dict[str, list[tuple[int, dict[str, Any]]]]:
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


def _check_rows(view: StoreView, led: _Ledger, rep: StoreReport) -> None:
    present = set(led.idx)
    referenced: set[int] = set()
    row_refs: set[tuple[str, str]] = set()  # (table, ref) of the entries rows point to
    kind_tables: dict[str, set[str]] = {}
    for t in view.tables():
        hist = _histories(view, t)
        bad: list[tuple[LedgeredRow, int, str]] = []
        for row in view.rows(t):
            rep.rows += 1
            li, name = row.ledger_index, f"{t} row {row.key}"
            if li is None:
                rep.issues.append(Issue("unledgered", None, t, f"{name} has no ledger entry"))
                continue
            if li not in present or row.kind is None:
                rep.issues.append(Issue("deleted", li, t, f"{name} points to a missing entry"))
                continue
            referenced.add(li)
            row_refs.add((t, str(row.ref)))
            kind_tables.setdefault(row.kind, set()).add(t)
            record = _expected(hist, str(row.ref), li, _record(row.data))
            diffs = _diff(row.columns, record, led.statuses.get(str(row.key)))
            if diffs:
                bad.append((row, li, row.kind))
                rep.issues.append(Issue("modified", li, row.kind, f"{name}: " + "; ".join(diffs)))
        _swaps(t, bad, rep)
    for pos, i in enumerate(led.idx):
        k, ref = led.kinds[pos], led.refs[pos]
        tables = kind_tables.get(k, set())
        if i not in referenced and tables and not any((tb, ref) in row_refs for tb in tables):
            where = "/".join(sorted(tables))
            rep.issues.append(Issue("orphan", i, k, f"no {where} row refers to this entry"))


def _swaps(table: str, bad: list[tuple[LedgeredRow, int, str]], rep: StoreReport) -> None:
    for row, li, kind in bad:
        for other, lj, _ in bad:
            if lj != li and not _diff(row.columns, _record(other.data)):
                rep.issues.append(
                    Issue(
                        "reordered",
                        li,
                        kind,
                        f"{table} row {row.key} holds the record of entry {lj}: "
                        f"entries {li} and {lj} were swapped",
                    )
                )


def verify_store(view: StoreView) -> StoreReport:
    """Every check above, on what ``view`` reads (one read-only transaction)."""
    rep = StoreReport()
    led = _scan_entries(view, rep)
    signed = _check_heads(view, led, rep)
    _check_nodes(view, led, rep, signed)
    _check_rows(view, led, rep)
    return rep
