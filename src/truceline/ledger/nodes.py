"""The Merkle tree over the database: perfect-subtree nodes kept in ``ledger_nodes``.

Level 0 is ``ledger_entries.leaf_hash``; levels >= 1 are rows of ``ledger_nodes``
written in the same transaction as the leaves (:func:`extend_nodes`). Appending
``m`` leaves to a tree of ``n`` reads the ``popcount(n)`` frontier nodes and
writes about ``m`` new ones; a root or a proof reads O(log n) rows
(:func:`root`, :func:`inclusion_proof`, :func:`consistency_proof`).
The node table is derived data: :func:`rebuild_nodes` recomputes it from the
leaf hashes, and ``verify-store`` compares the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select

from truceline.domain.errors import IntegrityError
from truceline.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Node,
    consistency_ranges,
    hash_level,
    inclusion_ranges,
    resolve,
)
from truceline.store.schema import ledger_entries, ledger_nodes

__all__ = [
    "as_bytes",
    "check_nodes_cover",
    "consistency_proof",
    "extend_nodes",
    "fetch_nodes",
    "inclusion_proof",
    "insert_many",
    "leaf_hashes",
    "new_nodes",
    "rebuild_nodes",
    "root",
    "size",
]


def as_bytes(value: object) -> bytes:
    """A BLOB column's value as bytes (a row edited by hand may hold TEXT instead)."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise IntegrityError(f"expected bytes in a ledger column, found {type(value).__name__}")


def size(conn: Connection) -> int:
    """The tree size: one more than the highest leaf index (0 when empty)."""
    last = conn.execute(select(func.max(ledger_entries.c.idx))).scalar_one()
    return 0 if last is None else int(last) + 1


def insert_many(conn: Connection, table: str, columns: Sequence[str], rows: list[Any]) -> None:
    """Bulk insert tuples with the driver's executemany (no per-row dicts)."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, rows)


def fetch_nodes(conn: Connection, nodes: Sequence[Node]) -> dict[Node, bytes]:
    """The hashes of perfect nodes ``(level, idx)``, in one query per kind of row."""
    out: dict[Node, bytes] = {}
    leaves = [i for lv, i in nodes if lv == 0]
    if leaves:
        q = select(ledger_entries.c.idx, ledger_entries.c.leaf_hash)
        for idx, h in conn.execute(q.where(ledger_entries.c.idx.in_(leaves))):
            out[(0, int(idx))] = as_bytes(h)
    by_level: dict[int, list[int]] = {}
    for lv, i in nodes:
        if lv > 0:
            by_level.setdefault(lv, []).append(i)
    if by_level:
        n = ledger_nodes.c
        cond = or_(*[and_(n.level == lv, n.idx.in_(ix)) for lv, ix in by_level.items()])
        for lv, idx, h in conn.execute(select(n.level, n.idx, n.hash).where(cond)):
            out[(int(lv), int(idx))] = as_bytes(h)
    missing = [x for x in nodes if x not in out]
    if missing:
        raise IntegrityError(
            f"ledger tree node(s) missing: {missing[:5]} (level, index); "
            "rows were deleted behind the API: run `truceline ledger verify-store`"
        )
    return out


def _frontier(n: int) -> list[Node]:
    return [(k, (n >> k) - 1) for k in range(n.bit_length()) if (n >> k) & 1]


def new_nodes(old_size: int, new_leaves: bytes, frontier: dict[Node, bytes]) -> list[Any]:
    """The perfect nodes (level >= 1) completed by appending ``new_leaves`` to ``old_size``."""
    n0, n1 = old_size, old_size + len(new_leaves) // HASH_SIZE
    rows: list[Any] = []
    arr, k = new_leaves, 0
    while (n1 >> (k + 1)) > (n0 >> (k + 1)):
        lo = n0 >> k
        start = lo
        if lo & 1:
            arr = frontier[(k, lo - 1)] + arr
            start = lo - 1
        pairs = ((n1 >> k) - start) // 2
        arr = hash_level(arr[: pairs * 2 * HASH_SIZE])
        base = start // 2
        rows.extend(
            (k + 1, base + j, arr[j * HASH_SIZE : (j + 1) * HASH_SIZE]) for j in range(pairs)
        )
        k += 1
    return rows


def extend_nodes(conn: Connection, old_size: int, new_leaves: bytes) -> None:
    """Store the nodes completed by appending ``new_leaves`` after ``old_size`` leaves."""
    frontier = fetch_nodes(conn, _frontier(old_size)) if old_size else {}
    insert_many(
        conn, "ledger_nodes", ("level", "idx", "hash"), new_nodes(old_size, new_leaves, frontier)
    )


def check_nodes_cover(conn: Connection, n: int) -> None:
    """Refuse to append when leaves were added without their nodes (outside the API)."""
    top = conn.execute(
        select(func.max(ledger_nodes.c.idx)).where(ledger_nodes.c.level == 1)
    ).scalar_one()
    have = 0 if top is None else int(top) + 1
    if have != n >> 1:
        raise IntegrityError(
            f"the ledger has {n} entries but its tree covers {2 * have}: entries were added "
            "or removed outside truceline's API; run `truceline ledger verify-store`"
        )


def leaf_hashes(conn: Connection, start: int = 0, end: int | None = None) -> bytes:
    """The concatenated stored leaf hashes of entries [start, end), in index order."""
    e = ledger_entries.c
    q = select(e.leaf_hash).where(e.idx >= start).order_by(e.idx)
    if end is not None:
        q = q.where(e.idx < end)
    return b"".join(as_bytes(h) for (h,) in conn.execute(q))


def rebuild_nodes(conn: Connection) -> None:
    """Recompute every node from the stored leaf hashes (after a migration)."""
    conn.execute(delete(ledger_nodes))
    extend_nodes(conn, 0, leaf_hashes(conn))


def _fetcher(conn: Connection) -> Any:
    return lambda nodes: fetch_nodes(conn, nodes)


def _check_size(conn: Connection, n: int) -> None:
    have = size(conn)
    if n > have:
        raise IntegrityError(f"the ledger has {have} entries, fewer than the size {n} asked for")


def root(conn: Connection, n: int) -> bytes:
    """The root hash of the first ``n`` leaves."""
    if n == 0:
        return EMPTY_ROOT
    _check_size(conn, n)
    return resolve([(0, n)], _fetcher(conn))[0]


def inclusion_proof(conn: Connection, index: int, n: int) -> list[bytes]:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of size ``n``."""
    _check_size(conn, n)
    return resolve(inclusion_ranges(index, n), _fetcher(conn))


def consistency_proof(conn: Connection, old: int, new: int) -> list[bytes]:
    """RFC 9162 consistency proof from size ``old`` to size ``new``."""
    _check_size(conn, new)
    return resolve(consistency_ranges(old, new), _fetcher(conn))
