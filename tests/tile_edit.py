"""Tampering with the ledger's stored tree behind the API: one hash of a tile rewritten."""

from __future__ import annotations

import sqlalchemy as sa

from truceline.service.workspace import Workspace
from truceline.store.schema import ledger_tiles


def edit_tile_hash(ws: Workspace, level: int, pos: int, new: bytes = bytes(32)) -> None:
    """Overwrite hash ``pos`` of tree level ``8 * level`` in the tile holding it."""
    t = ledger_tiles.c
    where = sa.and_(t.level == level, t.idx == pos // 256)
    with ws.engine.begin() as conn:
        blob = bytes(conn.execute(sa.select(t.hashes).where(where)).scalar_one())
        k = (pos % 256) * 32
        assert k < len(blob), f"tile ({level}, {pos // 256}) holds no hash {pos}"
        conn.execute(
            ledger_tiles.update().where(where).values(hashes=blob[:k] + new + blob[k + 32 :])
        )
