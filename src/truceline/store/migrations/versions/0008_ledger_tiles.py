"""ledger: the Merkle tree stored as C2SP tlog-tiles of height 8, not a row per node

Revision ID: 0008_ledger_tiles
Revises: 0007_register_changes
Create Date: 2026-11-30 20:10:00

Tile (level L, idx N) holds up to 256 consecutive hashes of tree level 8L from index
256 N; level 0 holds the leaf hashes. Upgrading moves the node rows of levels 8, 16,
... into tiles (the levels between are recomputed from a tile when read) after
checking that ``ledger_nodes`` is exactly the tree of the stored leaves: a store
edited behind the API is refused rather than migrated, so no evidence is lost.
Downgrading writes every node row back from the tiles, with the same check.

Frozen: it hashes with its own copy of RFC 9162 node hashing, not with live code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

from truceline.domain.errors import IntegrityError

revision = "0008_ledger_tiles"
down_revision = "0007_register_changes"
branch_labels = None
depends_on = None

_HEIGHT = 8
_WIDTH = 256
_H = 32
_nodes = sa.table(
    "ledger_nodes",
    sa.column("level", sa.Integer()),
    sa.column("idx", sa.BigInteger()),
    sa.column("hash", sa.LargeBinary()),
)
_tiles = sa.table(
    "ledger_tiles",
    sa.column("level", sa.Integer()),
    sa.column("idx", sa.BigInteger()),
    sa.column("hashes", sa.LargeBinary()),
)
_entries = sa.table("ledger_entries", sa.column("idx", sa.BigInteger()), sa.column("leaf_hash"))
_ADVICE = (
    "the store was edited behind the API: run `truceline ledger verify-store` with the "
    "truceline that wrote it before upgrading"
)


def _levels(leaves: bytes) -> Iterator[bytes]:
    """Every level of perfect-subtree hashes, from the leaves up."""
    level = leaves
    while level:
        yield level
        pairs = len(level) // (2 * _H) * 2 * _H
        level = b"".join(
            hashlib.sha256(b"\x01" + level[i : i + 2 * _H]).digest()
            for i in range(0, pairs, 2 * _H)
        )


def _blob(value: str | bytes | memoryview) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _leaves(conn: sa.Connection) -> bytes:
    out = bytearray()
    q = sa.select(_entries.c.idx, _entries.c.leaf_hash).order_by(_entries.c.idx)
    for pos, (idx, h) in enumerate(conn.execute(q.execution_options(yield_per=50_000))):
        if int(idx) != pos or len(_blob(h)) != _H:
            raise IntegrityError(
                f"ledger entry {pos} is missing or its leaf hash malformed: {_ADVICE}"
            )
        out += _blob(h)
    return bytes(out)


def _stored_levels(conn: sa.Connection) -> dict[int, bytes]:
    """``ledger_nodes`` as one byte string per level (a gap in a level is refused)."""
    out: dict[int, bytearray] = {}
    q = sa.select(_nodes.c.level, _nodes.c.idx, _nodes.c.hash).order_by(
        _nodes.c.level, _nodes.c.idx
    )
    for level, idx, h in conn.execute(q.execution_options(yield_per=50_000)):
        have = out.setdefault(int(level), bytearray())
        if int(idx) != len(have) // _H:
            raise IntegrityError(
                f"ledger_nodes lacks node (level {level}, index {len(have) // _H}): {_ADVICE}"
            )
        have += _blob(h)
    return {k: bytes(v) for k, v in out.items()}


def _check(derived: list[bytes], stored: dict[int, bytes], where: str, step: int = 1) -> None:
    """Refuse unless ``stored`` holds exactly the derived levels that are multiples of
    ``step`` (from level 1 up)."""
    expected = {k for k in range(1, len(derived)) if k % step == 0}
    for level in sorted(expected | set(stored)):
        want = derived[level] if level < len(derived) else b""
        if stored.get(level, b"") != want:
            raise IntegrityError(
                f"{where} at level {level} are not the tree of the stored leaves: {_ADVICE}"
            )


def upgrade() -> None:
    op.create_table(
        "ledger_tiles",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_tiles")),
    )
    conn = op.get_bind()
    derived = list(_levels(_leaves(conn)))
    stored = _stored_levels(conn)
    _check(derived, stored, "the node rows")
    rows = []
    for k in range(0, len(derived), _HEIGHT):
        level = derived[0] if k == 0 else stored[k]  # the leaf hashes, then the moved rows
        span = _WIDTH * _H
        rows += [
            {"level": k // _HEIGHT, "idx": i // span, "hashes": level[i : i + span]}
            for i in range(0, len(level), span)
        ]
    if rows:
        conn.execute(sa.insert(_tiles), rows)
    op.drop_table("ledger_nodes")


def downgrade() -> None:
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_ledger_nodes")),
    )
    conn = op.get_bind()
    by_level: dict[int, bytearray] = {}
    q = sa.select(_tiles.c.level, _tiles.c.idx, _tiles.c.hashes).order_by(
        _tiles.c.level, _tiles.c.idx
    )
    for level, idx, h in conn.execute(q):
        have = by_level.setdefault(int(level), bytearray())
        if int(idx) * _WIDTH * _H != len(have):
            gap = len(have) // (_WIDTH * _H)
            raise IntegrityError(f"ledger_tiles lacks tile (level {level}, index {gap}): {_ADVICE}")
        have += _blob(h)
    leaves = bytes(by_level.get(0, b""))
    if leaves != _leaves(conn):
        raise IntegrityError(f"the level-0 tiles are not the stored leaf hashes: {_ADVICE}")
    derived = list(_levels(leaves))
    tiled = {lv * _HEIGHT: bytes(h) for lv, h in by_level.items() if lv}
    _check(derived, tiled, "the tiles", _HEIGHT)
    rows = [
        {"level": k, "idx": i // _H, "hash": level[i : i + _H]}
        for k, level in enumerate(derived)
        if k
        for i in range(0, len(level), _H)
    ]
    for s in range(0, len(rows), 50_000):
        conn.execute(sa.insert(_nodes), rows[s : s + 50_000])
    op.drop_table("ledger_tiles")
