"""The bulk insert (COPY on PostgreSQL, executemany on SQLite) stores values exactly."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from sqlalchemy import select

from truceline.service.sources import ensure_sources
from truceline.service.workspace import Workspace
from truceline.store.observations import insert_observations, stored_mask
from truceline.store.schema import observations


def test_bulk_insert_round_trips_floats_and_awkward_text(workspace: Workspace) -> None:
    rng = np.random.default_rng(7)
    n = 2_000
    lon = np.concatenate([rng.uniform(-180, 180, n - 3), [5e-324, -0.0, 1 / 3]])
    radius = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n)
    texts = ['a,"b"\nc', "", "ü — ✓", " lead", "x\r\ny"]
    desc = [texts[i % len(texts)] if i % 7 else None for i in range(n)]
    table = pa.table(
        {
            "uid": [f"u{i:05d}" for i in range(n)],
            "source_id": ["s1"] * n,
            "t": pa.array(np.arange(n, dtype=np.int64) + 1_740_787_200),
            "t_unc_s": np.zeros(n),
            "lon": lon,
            "lat": pa.nulls(n, pa.float64()),
            "radius_m": radius,
            "kind": ["shot"] * n,
            "count": pa.array(np.ones(n, np.int64)),
            "credibility": pa.array(np.full(n, 6, np.int64)),
            "description": pa.array(desc, pa.string()),
            "received_at": pa.array(np.zeros(n, np.int64)),
        }
    )
    with workspace.engine.begin() as conn:
        ensure_sources(conn, {("s1", "camera")})
        insert_observations(conn, table)
    o = observations.c
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(o.lon, o.lat, o.radius_m, o.description).order_by(o.uid)).all()
        asked = pa.array(["u01999", "nope", "u00003", 'q"\\', "u01999"])
        found = stored_mask(conn, asked).tolist()
    assert [r.lon for r in rows] == lon.tolist()
    assert [r.radius_m for r in rows] == radius.tolist()
    assert all(r.lat is None for r in rows)
    assert [r.description for r in rows] == desc  # empty text stays text, null stays null
    assert found == [True, False, True, False, True]


def test_bulk_insert_keeps_nulls_among_numbers_null(workspace: Workspace) -> None:
    """A number column with some nulls: each null stays NULL (not NaN, not 0) and each
    integer stays an integer, beyond 2**53 too."""
    n = 600  # many: few values take another path
    bearing = [12.5, None, -0.0, None, 1e-300, 359.999] * 100
    index = [None, 2**62 + 1, 0, None, 7, -3] * 100
    table = pa.table(
        {
            "uid": [f"n{i:03d}" for i in range(n)],
            "source_id": ["s1"] * n,
            "t": pa.array(np.arange(n, dtype=np.int64)),
            "t_unc_s": np.zeros(n),
            "bearing_deg": pa.array(bearing, pa.float64()),
            "kind": ["shot"] * n,
            "count": pa.array(np.ones(n, np.int64)),
            "credibility": pa.array(np.full(n, 6, np.int64)),
            "received_at": pa.array(np.zeros(n, np.int64)),
            "ledger_index": pa.array(index, pa.int64()),
        }
    )
    with workspace.engine.begin() as conn:
        ensure_sources(conn, {("s1", "camera")})
        insert_observations(conn, table)
    o = observations.c
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(o.bearing_deg, o.ledger_index).order_by(o.uid)).all()
    assert [r.bearing_deg for r in rows] == bearing
    assert [r.ledger_index for r in rows] == index
    assert all(type(r.ledger_index) is int for r in rows if r.ledger_index is not None)
