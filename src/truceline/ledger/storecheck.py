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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, select

from truceline.domain.errors import InputError
from truceline.ledger.audit import Issue
from truceline.ledger.merkle import HASH_SIZE, MemoryTree, hash_leaf
from truceline.ledger.nodes import as_bytes
from truceline.ledger.note import Verifier, parse_checkpoint, verify_note
from truceline.store.schema import ledger_entries, ledger_nodes, metadata, signing_keys, tree_heads

__all__ = ["StoreReport", "verify_store"]

_MAX_PER_CHECK = 200


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


def _scan_entries(conn: Connection, rep: StoreReport) -> _Ledger:
    led = _Ledger()
    e = ledger_entries.c
    q = select(e.idx, e.kind, e.ref, e.data, e.leaf_hash).order_by(e.idx)
    expected = 0
    for idx, kind, ref, data, lh in conn.execution_options(yield_per=20_000).execute(q):
        data, lh = as_bytes(data), as_bytes(lh)
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


def _check_nodes(conn: Connection, led: _Ledger, rep: StoreReport, signed: int) -> None:
    tree = MemoryTree(b"".join(led.stored))
    n = ledger_nodes.c
    found = 0
    seen: set[tuple[int, int]] = set()
    tainted: set[tuple[int, int]] = set()  # parents of a bad node: they differ in cascade
    q = select(n.level, n.idx, n.hash).order_by(n.level, n.idx)
    for level, idx, h in conn.execution_options(yield_per=50_000).execute(q):
        seen.add((level, idx))
        if level >= len(tree.levels) or tree.node(level, idx) != as_bytes(h):
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


def _check_heads(conn: Connection, led: _Ledger, rep: StoreReport) -> int:
    """Check every signed head; returns the largest signed size."""
    keys = {
        r.key_id: Verifier(r.name, 0x01, bytes(r.public_key))
        for r in conn.execute(select(signing_keys))
    }
    tree = MemoryTree(b"".join(led.computed))
    good = signed = 0
    for row in conn.execute(select(tree_heads).order_by(tree_heads.c.size, tree_heads.c.id)):
        rep.heads += 1
        label = f"tree head #{row.id} (size {row.size})"
        try:
            cp = parse_checkpoint(verify_note(row.checkpoint, keys[row.key_id]))
        except (InputError, KeyError) as exc:
            rep.issues.append(Issue("signature", None, None, f"{label}: signature fails: {exc}"))
            continue
        if cp.size != row.size or cp.root != bytes(row.root_hash):
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


def _ledgered_tables() -> Iterator[Table]:
    for t in metadata.sorted_tables:
        if "ledger_index" in t.c:
            yield t


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
    table: Table, row: Any, record: dict[str, Any], statuses: set[str] | None = None
) -> list[str]:
    """Columns of ``row`` that differ from its ledgered ``record``; a ``status`` reached by
    a later ledgered transition (a record with ``to_status`` for this row) is not a change."""
    out = []
    for col in table.c:
        if col.name != "ledger_index" and col.name in record:
            v = row._mapping[col.name]
            if col.name == "status" and statuses and v in statuses:
                continue
            if not _same(v, record[col.name]):
                want = record[col.name]
                out.append(f"{col.name} is {v!r} in the table but {want!r} in the ledger")
    return out


def _record(data: object) -> dict[str, Any]:
    try:
        rec = json.loads(as_bytes(data)).get("record", {})
    except (ValueError, AttributeError):
        return {}
    return rec if isinstance(rec, dict) else {}


def _histories(conn: Connection, table: Table) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """For a table whose rows are updated by later entries of other kinds (a source and
    its source_update entries): every record of those kinds by ref, in ledger order."""
    e = ledger_entries.c
    join = table.join(ledger_entries, e.idx == table.c.ledger_index)
    kinds = [k for (k,) in conn.execute(select(e.kind).distinct().select_from(join))]
    if len(kinds) < 2:
        return {}
    out: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    q = select(e.idx, e.ref, e.data).where(e.kind.in_(kinds)).order_by(e.idx)
    for idx, ref, data in conn.execute(q):
        out.setdefault(str(ref), []).append((int(idx), _record(data)))
    return out


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


def _check_rows(conn: Connection, led: _Ledger, rep: StoreReport) -> None:
    present = set(led.idx)
    referenced: set[int] = set()
    row_refs: set[tuple[str, str]] = set()  # (table, ref) of the entries rows point to
    kind_tables: dict[str, set[str]] = {}
    e = ledger_entries.c
    for t in _ledgered_tables():
        pk = list(t.primary_key.columns)[0].name
        hist = _histories(conn, t)
        q = select(t, e.data.label("_data"), e.kind.label("_kind"), e.ref.label("_ref"))
        q = q.outerjoin(ledger_entries, e.idx == t.c.ledger_index)
        bad: list[tuple[Any, int, dict[str, Any], str]] = []
        for row in conn.execution_options(yield_per=20_000).execute(q):
            rep.rows += 1
            m = row._mapping
            li, name = m["ledger_index"], f"{t.name} row {m[pk]}"
            if li is None:
                rep.issues.append(Issue("unledgered", None, t.name, f"{name} has no ledger entry"))
                continue
            if li not in present:
                rep.issues.append(Issue("deleted", li, t.name, f"{name} points to a missing entry"))
                continue
            referenced.add(li)
            row_refs.add((t.name, str(m["_ref"])))
            kind_tables.setdefault(m["_kind"], set()).add(t.name)
            record = _expected(hist, str(m["_ref"]), li, _record(m["_data"]))
            diffs = _diff(t, row, record, led.statuses.get(str(m[pk])))
            if diffs:
                bad.append((row, li, record, m["_kind"]))
                rep.issues.append(Issue("modified", li, m["_kind"], f"{name}: " + "; ".join(diffs)))
        _swaps(t, bad, rep)
    for pos, i in enumerate(led.idx):
        k, ref = led.kinds[pos], led.refs[pos]
        tables = kind_tables.get(k, set())
        if i not in referenced and tables and not any((tb, ref) in row_refs for tb in tables):
            where = "/".join(sorted(tables))
            rep.issues.append(Issue("orphan", i, k, f"no {where} row refers to this entry"))


def _swaps(table: Table, bad: list[tuple[Any, int, dict[str, Any], str]], rep: StoreReport) -> None:
    for row, li, _, kind in bad:
        for _, lj, rec_j, _ in bad:
            if lj != li and not _diff(table, row, rec_j):
                rep.issues.append(
                    Issue(
                        "reordered",
                        li,
                        kind,
                        f"{table.name} row {list(row)[0]} holds the record of entry {lj}: "
                        f"entries {li} and {lj} were swapped",
                    )
                )


def verify_store(conn: Connection) -> StoreReport:
    """Every check above, on one connection (read only)."""
    rep = StoreReport()
    led = _scan_entries(conn, rep)
    signed = _check_heads(conn, led, rep)
    _check_nodes(conn, led, rep, signed)
    _check_rows(conn, led, rep)
    return rep
