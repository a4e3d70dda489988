"""The ledger's tables: appending entries, the tree's nodes, keys, heads, cosignatures.

Every accepted record is appended with :func:`append` in the same database
transaction that stores it, so a record is never stored without its leaf nor a
leaf without its record. Appends are serialised: SQLite by ``BEGIN IMMEDIATE``
(see ``store.db``), PostgreSQL by a transaction-scoped advisory lock (:func:`lock`).

Level 0 of the tree is ``ledger_entries.leaf_hash``; levels >= 1 are rows of
``ledger_nodes`` written in the same transaction as the leaves. Appending ``m``
leaves to a tree of ``n`` reads the ``popcount(n)`` frontier nodes and writes
about ``m`` new ones; a root or a proof reads O(log n) rows. The node table is
derived data: :func:`rebuild_nodes` recomputes it from the leaf hashes, and
``verify-store`` compares the two.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, text, update

from truceline.domain.errors import IntegrityError
from truceline.ledger.log import entry_data
from truceline.ledger.merkle import (
    EMPTY_ROOT,
    Node,
    consistency_ranges,
    frontier,
    inclusion_ranges,
    new_nodes,
    resolve,
)
from truceline.store.schema import (
    cosignatures,
    ledger_entries,
    ledger_nodes,
    signing_keys,
    tree_heads,
)

__all__ = [
    "StoredHead",
    "StoredKey",
    "append",
    "as_bytes",
    "consistency_proof",
    "cosignature_lines",
    "covered",
    "entries",
    "entry",
    "fetch_nodes",
    "head_of_size",
    "heads",
    "inclusion_proof",
    "insert_cosignature",
    "insert_head",
    "insert_key",
    "keys",
    "latest_head",
    "leaf_hashes",
    "lock",
    "nodes",
    "nodes_after",
    "rebuild_nodes",
    "retire_key",
    "root",
    "size",
]

_PG_LOCK_KEY = 0x7472_7563  # "truc"
_sha256 = hashlib.sha256


@dataclass(frozen=True, slots=True)
class StoredKey:
    key_id: str
    name: str
    public_key: bytes
    created_at: int
    retired_at: int | None


@dataclass(frozen=True, slots=True)
class StoredHead:
    id: int
    size: int
    root_hash: bytes
    issued_at: int
    key_id: str
    checkpoint: str  # the signed note as issued (without cosignatures)


def as_bytes(value: object) -> bytes:
    """A BLOB column's value as bytes (a row edited by hand may hold TEXT instead)."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise IntegrityError(f"expected bytes in a ledger column, found {type(value).__name__}")


# -- entries -------------------------------------------------------------------


def size(conn: Connection) -> int:
    """The tree size: one more than the highest leaf index (0 when empty)."""
    last = conn.execute(select(func.max(ledger_entries.c.idx))).scalar_one()
    return 0 if last is None else int(last) + 1


def lock(conn: Connection) -> None:
    """Take the single-writer lock for the rest of the transaction.

    SQLite already holds it (``BEGIN IMMEDIATE``); PostgreSQL takes a
    transaction-scoped advisory lock. Callers that must check for duplicates before
    appending (intake) take it first, so two writers cannot both find a record new.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def _insert_many(conn: Connection, table: str, columns: Sequence[str], rows: list[Any]) -> None:
    """Bulk insert tuples with the driver's executemany (no per-row dicts)."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, rows)


def append(
    conn: Connection,
    kind: str,
    items: Sequence[tuple[str, dict[str, Any]]],
    at: int | None = None,
) -> list[int]:
    """Append ``(ref, record)`` items of one ``kind``, accepted at ``at`` (Unix seconds;
    default now: a caller that stores the time of acceptance passes the same value);
    returns their leaf indices."""
    if not items:
        return []
    lock(conn)
    start = size(conn)
    _check_nodes_cover(conn, start)
    now = int(time.time()) if at is None else at
    datas = [entry_data(kind, ref, record, now) for ref, record in items]
    hashes = [_sha256(b"\x00" + d).digest() for d in datas]
    rows = [
        (start + i, kind, ref, d, h, now)
        for i, ((ref, _), d, h) in enumerate(zip(items, datas, hashes, strict=True))
    ]
    _insert_many(conn, "ledger_entries", ("idx", "kind", "ref", "data", "leaf_hash", "at"), rows)
    _extend_nodes(conn, start, b"".join(hashes))
    return list(range(start, start + len(items)))


def entry(conn: Connection, idx: int) -> tuple[str, str, bytes, bytes]:
    """``(kind, ref, data, leaf_hash)`` of entry ``idx``."""
    e = ledger_entries.c
    row = conn.execute(select(e.kind, e.ref, e.data, e.leaf_hash).where(e.idx == idx)).one()
    return str(row.kind), str(row.ref), as_bytes(row.data), as_bytes(row.leaf_hash)


def entries(
    conn: Connection, end: int | None = None, start: int = 0
) -> Iterator[tuple[int, str, str, bytes, bytes, int]]:
    """``(idx, kind, ref, data, leaf_hash, at)`` of entries [start, end), streamed in order."""
    e = ledger_entries.c
    q = select(e.idx, e.kind, e.ref, e.data, e.leaf_hash, e.at).order_by(e.idx)
    if start:
        q = q.where(e.idx >= start)
    if end is not None:
        q = q.where(e.idx < end)
    for idx, kind, ref, data, lh, at in conn.execute(q.execution_options(yield_per=20_000)):
        yield int(idx), str(kind), str(ref), as_bytes(data), as_bytes(lh), int(at)


def leaf_hashes(conn: Connection, start: int = 0, end: int | None = None) -> bytes:
    """The concatenated stored leaf hashes of entries [start, end), in index order."""
    e = ledger_entries.c
    q = select(e.leaf_hash).where(e.idx >= start).order_by(e.idx)
    if end is not None:
        q = q.where(e.idx < end)
    return b"".join(as_bytes(h) for (h,) in conn.execute(q))


# -- the tree's nodes ------------------------------------------------------------


def fetch_nodes(conn: Connection, wanted: Sequence[Node]) -> dict[Node, bytes]:
    """The hashes of perfect nodes ``(level, idx)``, in one query per kind of row."""
    out: dict[Node, bytes] = {}
    leaves = [i for lv, i in wanted if lv == 0]
    if leaves:
        q = select(ledger_entries.c.idx, ledger_entries.c.leaf_hash)
        for idx, h in conn.execute(q.where(ledger_entries.c.idx.in_(leaves))):
            out[(0, int(idx))] = as_bytes(h)
    by_level: dict[int, list[int]] = {}
    for lv, i in wanted:
        if lv > 0:
            by_level.setdefault(lv, []).append(i)
    if by_level:
        n = ledger_nodes.c
        cond = or_(*[and_(n.level == lv, n.idx.in_(ix)) for lv, ix in by_level.items()])
        for lv, idx, h in conn.execute(select(n.level, n.idx, n.hash).where(cond)):
            out[(int(lv), int(idx))] = as_bytes(h)
    missing = [x for x in wanted if x not in out]
    if missing:
        raise IntegrityError(
            f"ledger tree node(s) missing: {missing[:5]} (level, index); "
            "rows were deleted behind the API: run `truceline ledger verify-store`"
        )
    return out


def nodes(conn: Connection) -> Iterator[tuple[int, int, bytes]]:
    """Every stored node ``(level, idx, hash)`` of level >= 1, by level then index."""
    n = ledger_nodes.c
    q = select(n.level, n.idx, n.hash).order_by(n.level, n.idx)
    for level, idx, h in conn.execute(q.execution_options(yield_per=50_000)):
        yield int(level), int(idx), as_bytes(h)


def nodes_after(conn: Connection, start: int) -> dict[Node, bytes]:
    """The stored nodes (level >= 1) over a leaf at or after ``start``: those appending
    from a tree of ``start`` leaves wrote."""
    n = ledger_nodes.c
    out: dict[Node, bytes] = {}
    top = conn.execute(select(func.max(n.level))).scalar_one()
    for level in range(1, 1 + (0 if top is None else int(top))):
        q = select(n.idx, n.hash).where(n.level == level, n.idx >= start >> level)
        for idx, h in conn.execute(q):
            out[(level, int(idx))] = as_bytes(h)
    return out


def _extend_nodes(conn: Connection, old_size: int, new_leaves: bytes) -> None:
    front = fetch_nodes(conn, frontier(old_size)) if old_size else {}
    rows = new_nodes(old_size, new_leaves, front)
    _insert_many(conn, "ledger_nodes", ("level", "idx", "hash"), rows)


def covered(conn: Connection) -> int:
    """How many leaves the stored pair nodes (level 1) cover."""
    top = conn.execute(
        select(func.max(ledger_nodes.c.idx)).where(ledger_nodes.c.level == 1)
    ).scalar_one()
    return 0 if top is None else 2 * (int(top) + 1)


def _check_nodes_cover(conn: Connection, n: int) -> None:
    """Refuse to append when leaves were added without their nodes (outside the API)."""
    have = covered(conn) // 2
    if have != n >> 1:
        raise IntegrityError(
            f"the ledger has {n} entries but its tree covers {2 * have}: entries were added "
            "or removed outside truceline's API; run `truceline ledger verify-store`"
        )


def rebuild_nodes(conn: Connection) -> None:
    """Recompute every node from the stored leaf hashes."""
    conn.execute(delete(ledger_nodes))
    _extend_nodes(conn, 0, leaf_hashes(conn))


def _check_size(conn: Connection, n: int) -> None:
    have = size(conn)
    if n > have:
        raise IntegrityError(f"the ledger has {have} entries, fewer than the size {n} asked for")


def root(conn: Connection, n: int) -> bytes:
    """The root hash of the first ``n`` leaves."""
    if n == 0:
        return EMPTY_ROOT
    _check_size(conn, n)
    return resolve([(0, n)], lambda w: fetch_nodes(conn, w))[0]


def inclusion_proof(conn: Connection, index: int, n: int) -> list[bytes]:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of size ``n``."""
    _check_size(conn, n)
    return resolve(inclusion_ranges(index, n), lambda w: fetch_nodes(conn, w))


def consistency_proof(conn: Connection, old: int, new: int) -> list[bytes]:
    """RFC 9162 consistency proof from size ``old`` to size ``new``."""
    _check_size(conn, new)
    return resolve(consistency_ranges(old, new), lambda w: fetch_nodes(conn, w))


# -- keys, heads, cosignatures ---------------------------------------------------


def _key(row: Any) -> StoredKey:
    retired = None if row.retired_at is None else int(row.retired_at)
    return StoredKey(
        str(row.key_id), str(row.name), bytes(row.public_key), int(row.created_at), retired
    )


def keys(conn: Connection) -> list[StoredKey]:
    """Every signing key, oldest first."""
    q = select(signing_keys).order_by(signing_keys.c.created_at, signing_keys.c.key_id)
    return [_key(r) for r in conn.execute(q)]


def insert_key(conn: Connection, key_id: str, name: str, public: bytes, now: int) -> None:
    row = {"key_id": key_id, "name": name, "public_key": public, "created_at": now}
    conn.execute(insert(signing_keys).values(**row))


def retire_key(conn: Connection, key_id: str, now: int) -> None:
    conn.execute(update(signing_keys).where(signing_keys.c.key_id == key_id).values(retired_at=now))


def _head(row: Any) -> StoredHead:
    return StoredHead(
        int(row.id),
        int(row.size),
        as_bytes(row.root_hash),
        int(row.issued_at),
        str(row.key_id),
        str(row.checkpoint),
    )


def latest_head(conn: Connection) -> StoredHead | None:
    """The most recently issued tree head."""
    row = conn.execute(select(tree_heads).order_by(tree_heads.c.id.desc()).limit(1)).first()
    return None if row is None else _head(row)


def head_of_size(conn: Connection, n: int) -> StoredHead | None:
    """The latest head issued for size ``n``."""
    q = select(tree_heads).where(tree_heads.c.size == n).order_by(tree_heads.c.id.desc())
    row = conn.execute(q).first()
    return None if row is None else _head(row)


def heads(conn: Connection) -> list[StoredHead]:
    """Every issued head, by size then id."""
    q = select(tree_heads).order_by(tree_heads.c.size, tree_heads.c.id)
    return [_head(r) for r in conn.execute(q)]


def insert_head(
    conn: Connection, n: int, root_hash: bytes, issued_at: int, key_id: str, checkpoint: str
) -> int:
    """Store a signed head; returns its id."""
    values = {"size": n, "root_hash": root_hash, "issued_at": issued_at, "key_id": key_id}
    res = conn.execute(insert(tree_heads).values(checkpoint=checkpoint, **values))
    key = res.inserted_primary_key
    if key is None:
        raise IntegrityError("the database returned no id for the new tree head")
    return int(key[0])


def cosignature_lines(conn: Connection, head_id: int) -> list[tuple[str, str]]:
    """``(witness verifier key, signature line)`` of a head's cosignatures, sorted."""
    c = cosignatures.c
    q = select(c.witness, c.signature_line).where(c.tree_head_id == head_id)
    return sorted((str(w), str(line)) for w, line in conn.execute(q))


def insert_cosignature(conn: Connection, head_id: int, witness: str, line: str) -> None:
    conn.execute(
        insert(cosignatures).values(
            tree_head_id=head_id,
            witness=witness,
            signature_line=line,
            received_at=int(time.time()),
        )
    )
