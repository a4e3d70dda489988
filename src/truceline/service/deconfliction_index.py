"""The register's live index: the active volumes of one store, in memory, in a
``LiveIndex`` kept per store address and caught up with the store before each
submission is judged.

The first submission a process judges loads every active volume (one bulk build);
each later one reads only the notifications changed since the ledger index the
process last saw (each notify, amend, cancel or withdraw appends a version carrying
its ledger index), so the index follows changes made by other processes too. It is
read under the single-writer lock, after every earlier submission has committed, and
it only ever holds committed rows: a submission that is refused or rolled back leaves
nothing behind. A store replaced under the same address (its ledger entry at that
index gone or different) is loaded afresh.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import shapely

from truceline.deconfliction.live import LiveIndex
from truceline.deconfliction.volumes import Volume
from truceline.store import notifications as store
from truceline.store.db import Connection

__all__ = ["live_index"]


@dataclass
class _Held:
    index: LiveIndex
    mark: int = -1  # ledger index of the latest change reflected (-1: none)
    mark_hash: bytes | None = None  # that entry's leaf hash


_HELD: dict[str, _Held] = {}
_GUARD = threading.Lock()


def live_index(conn: Connection) -> LiveIndex:
    """The active volumes of the store behind ``conn``, by notification id, as
    committed. Call it holding the single-writer lock (``store.ledger.lock``), and use
    the index only while holding it."""
    key = conn.engine.url.render_as_string(hide_password=True)
    with _GUARD:
        held = _HELD.get(key)
        mark = store.register_mark(conn)
        if held is None or store.leaf_hash(conn, held.mark) != held.mark_hash:
            active = store.list_notifications(conn, status="active")
            held = _HELD[key] = _Held(LiveIndex(_keyed(active)))
        elif mark > held.mark:
            changed = store.changed_since(conn, held.mark)
            for r in changed:
                held.index.remove(r.id)
            for k, v in _keyed([r for r in changed if r.status == "active"]):
                held.index.add(k, v)
        if mark >= 0:
            held.mark, held.mark_hash = mark, store.leaf_hash(conn, mark)
        return held.index


def _keyed(rows: list[store.NotificationRow]) -> list[tuple[int, Volume]]:
    geoms = shapely.from_geojson([r.footprint for r in rows]) if rows else []
    return [
        (r.id, Volume(g, r.activity, r.t_start, r.t_end, r.alt_min, r.alt_max))
        for r, g in zip(rows, geoms, strict=True)
    ]
