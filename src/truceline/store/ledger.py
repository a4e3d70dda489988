"""The ledger's tables: appending entries, the tree's nodes, keys, heads, cosignatures.

Every accepted record is appended with :func:`append` in the same database
transaction that stores it, so a record is never stored without its leaf nor a
leaf without its record. Appends are serialised: SQLite by ``BEGIN IMMEDIATE``
(see ``store.db``), PostgreSQL by a transaction-scoped advisory lock (:func:`lock`).

The tree is stored as C2SP tlog-tiles of height 8 (``ledger_tiles``, see
``ledger.merkle``), written in the same transaction as the leaves: level 0 holds the
leaf hashes (``ledger_entries.leaf_hash``) 256 to a row, level ``L`` the hashes of
tree level ``8L``. Appending ``m`` leaves rewrites the partial right-edge tiles (at
most one per tile level) and inserts about ``m / 256`` new ones; a root or a proof
reads O(log n / 8) tiles in one query. The tiles are derived data:
:func:`rebuild_tiles` recomputes them from the leaf hashes, and ``verify-store``
compares the two.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, text, update

from truceline.domain.errors import IntegrityError
from truceline.ledger.log import entry_data
from truceline.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    Node,
    Tile,
    consistency_ranges,
    edge_tiles,
    extend_tiles,
    inclusion_ranges,
    node_tile,
    nodes_from_tiles,
    resolve,
    tile_nodes,
)
from truceline.store.bulk import copy_rows
from truceline.store.schema import (
    cosignatures,
    ledger_entries,
    ledger_tiles,
    signing_keys,
    tree_heads,
)

__all__ = [
    "StoredHead",
    "StoredKey",
    "append",
    "append_data",
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
    "nodes_after",
    "rebuild_tiles",
    "retire_key",
    "root",
    "size",
    "tiles",
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
    now = int(time.time()) if at is None else at
    datas = [entry_data(kind, ref, record, now) for ref, record in items]
    return list(append_data(conn, kind, [ref for ref, _ in items], datas, now))


def append_data(
    conn: Connection, kind: str, refs: Sequence[str], datas: Sequence[bytes], at: int
) -> range:
    """Append entries of one ``kind`` whose bytes are built already: ``datas[i]`` is
    ``entry_data(kind, refs[i], record, at)`` (``ledger.columnar.entry_rows`` builds a batch of
    them at once); returns their leaf indices."""
    if len(refs) != len(datas):
        raise ValueError(f"{len(refs)} refs for {len(datas)} entries")
    if not datas:
        return range(0)
    lock(conn)
    start = size(conn)
    _check_nodes_cover(conn, start)
    hashes = [_sha256(b"\x00" + d).digest() for d in datas]
    rows = zip(
        range(start, start + len(datas)),
        repeat(kind),
        refs,
        datas,
        hashes,
        repeat(at),
        strict=False,  # repeat() is endless; the range, refs and datas agree
    )
    names = ("idx", "kind", "ref", "data", "leaf_hash", "at")
    if conn.dialect.name == "postgresql":
        copy_rows(conn, "ledger_entries", names, rows)
    else:
        _insert_many(conn, "ledger_entries", names, list(rows))
    _extend_nodes(conn, start, b"".join(hashes))
    return range(start, start + len(datas))


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


# -- the tree's tiles ------------------------------------------------------------


def _read_tiles(conn: Connection, wanted: Iterable[Tile]) -> dict[Tile, bytes]:
    """The stored tiles among ``wanted``, in one query."""
    by_level: dict[int, list[int]] = {}
    for level, idx in set(wanted):
        by_level.setdefault(level, []).append(idx)
    if not by_level:
        return {}
    t = ledger_tiles.c
    cond = or_(*[and_(t.level == lv, t.idx.in_(ix)) for lv, ix in by_level.items()])
    q = select(t.level, t.idx, t.hashes).where(cond)
    return {(int(lv), int(i)): as_bytes(h) for lv, i, h in conn.execute(q)}


def fetch_nodes(conn: Connection, wanted: Sequence[Node]) -> dict[Node, bytes]:
    """The hashes of perfect nodes ``(level, idx)``, from the tiles holding them (one query)."""
    out = nodes_from_tiles(wanted, _read_tiles(conn, [node_tile(w)[0] for w in wanted]))
    missing = [x for x in wanted if x not in out]
    if missing:
        raise IntegrityError(
            f"ledger tree node(s) missing: {missing[:5]} (level, index): ledger_tiles rows "
            "were deleted or cut short behind the API: run `truceline ledger verify-store`"
        )
    return out


def tiles(conn: Connection) -> Iterator[tuple[int, int, bytes]]:
    """Every stored tile ``(level, idx, hashes)``, by level then index."""
    t = ledger_tiles.c
    q = select(t.level, t.idx, t.hashes).order_by(t.level, t.idx)
    for level, idx, h in conn.execute(q.execution_options(yield_per=1_000)):
        yield int(level), int(idx), as_bytes(h)


def nodes_after(conn: Connection, start: int) -> dict[Node, bytes]:
    """The stored nodes (level >= 1) over a leaf at or after ``start``: those appending
    from a tree of ``start`` leaves wrote, as the tiles give them."""
    t = ledger_tiles.c
    top = conn.execute(select(func.max(t.level))).scalar_one()
    if top is None:
        return {}
    first = [(start >> (lv * TILE_HEIGHT)) // TILE_WIDTH for lv in range(int(top) + 1)]
    cond = or_(*[and_(t.level == lv, t.idx >= i) for lv, i in enumerate(first)])
    out: dict[Node, bytes] = {}
    for lv, idx, h in conn.execute(select(t.level, t.idx, t.hashes).where(cond)):
        for level, i, node in tile_nodes(int(lv), int(idx), as_bytes(h)):
            if level and i >= start >> level:
                out[(level, i)] = node
    return out


def _extend_nodes(conn: Connection, old_size: int, new_leaves: bytes) -> None:
    """Write the tiles ``new_leaves`` change: the partial right-edge tiles grown (one
    UPDATE each, at most one per tile level) and new tiles (one bulk INSERT)."""
    edge = edge_tiles(old_size)
    have = _read_tiles(conn, [(lv, i) for lv, i, _ in edge])
    for lv, i, w in edge:
        if len(have.get((lv, i), b"")) != w * HASH_SIZE:
            raise IntegrityError(
                f"ledger tile (level {lv}, index {i}) should hold {w} hashes: ledger_tiles "
                "was edited behind the API: run `truceline ledger verify-store`"
            )
    rows = extend_tiles(old_size, have, new_leaves)
    grown = [(h, lv, i) for lv, i, h in rows if (lv, i) in have]
    if grown:
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = f"UPDATE ledger_tiles SET hashes = {mark} WHERE level = {mark} AND idx = {mark}"
        conn.exec_driver_sql(sql, grown)
    added = [(lv, i, h) for lv, i, h in rows if (lv, i) not in have]
    _insert_many(conn, "ledger_tiles", ("level", "idx", "hashes"), added)


def covered(conn: Connection) -> int:
    """How many leaves the level-0 tiles cover (up to the end of the last one)."""
    t = ledger_tiles.c
    q = select(t.idx, func.length(t.hashes)).where(t.level == 0).order_by(t.idx.desc()).limit(1)
    last = conn.execute(q).first()
    return 0 if last is None else int(last[0]) * TILE_WIDTH + int(last[1]) // HASH_SIZE


def _check_nodes_cover(conn: Connection, n: int) -> None:
    """Refuse to append when leaves were added or removed without their tiles (outside
    the API)."""
    have = covered(conn)
    if have != n:
        raise IntegrityError(
            f"the ledger has {n} entries but its tree covers {have}: entries were added "
            "or removed outside truceline's API; run `truceline ledger verify-store`"
        )


def rebuild_tiles(conn: Connection) -> None:
    """Recompute every tile from the stored leaf hashes."""
    conn.execute(delete(ledger_tiles))
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
