"""A check's bulk column reads give what a plain row-by-row read gives, on both stores:
NULL apart from an empty string, a text value holding the separator, floats exact."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from sqlalchemy import insert, select

from truceline.service.workspace import Workspace
from truceline.store.column_reads import SEPARATOR, fetch_records, fetch_text_columns
from truceline.store.schema import incidents

T = 1_760_000_000


def _store(ws: Workspace, rows: list[dict[str, object]]) -> None:
    with ws.engine.begin() as conn:
        for i, r in enumerate(rows, start=1):
            conn.execute(insert(incidents).values(
                id=i, t=T + i, t_start=T, t_end=T, lon=30.0 + i / 3, lat=48.0 - i / 7,
                radius_m=100.0, kind="explosion", count=i, status="reported",
                n_observations=1, n_groups=1, confidence=0.1 * i, created_at=T, updated_at=T,
                **r,
            ))  # fmt: skip


def _read(ws: Workspace) -> tuple[dict[str, list[object]], list[tuple[object, ...]]]:
    c = incidents.c
    q = select(c.id, c.t, c.weapon_class, c["count"], c.actor, c.actor_basis).order_by(c.id)
    types = [pa.int64(), pa.int64(), pa.string(), pa.int64(), pa.string(), pa.string()]
    with ws.engine.connect() as conn:
        got = fetch_text_columns(conn, q, types)
        plain = [tuple(r) for r in conn.execute(q)]
    return {k: v.to_pylist() for k, v in got.items()}, plain


def test_text_columns_keep_nulls_empty_strings_and_order(workspace: Workspace) -> None:
    _store(workspace, [
        {"weapon_class": None, "actor": "A", "actor_basis": ""},
        {"weapon_class": "", "actor": None, "actor_basis": None},
        {"weapon_class": "tank", "actor": "B", "actor_basis": "claimed, then denied"},
        {"weapon_class": None, "actor": None, "actor_basis": None},
    ])  # fmt: skip
    got, plain = _read(workspace)
    assert list(zip(*got.values(), strict=True)) == plain
    assert got["weapon_class"] == [None, "", "tank", None]
    assert got["actor_basis"] == ["", None, "claimed, then denied", None]


def test_a_value_holding_the_separator_is_read_row_by_row(workspace: Workspace) -> None:
    basis = f"two{SEPARATOR}parts"
    _store(workspace, [{"actor_basis": basis}, {"actor_basis": None}])
    got, plain = _read(workspace)
    assert list(zip(*got.values(), strict=True)) == plain
    assert got["actor_basis"] == [basis, None]


def test_no_rows_and_floats_exact(workspace: Workspace) -> None:
    c = incidents.c
    got, _ = _read(workspace)
    assert got == {k: [] for k in ("id", "t", "weapon_class", "count", "actor", "actor_basis")}
    _store(workspace, [{}, {}, {}])
    dtype = np.dtype([("id", np.int64), ("lon", np.float64), ("confidence", np.float64)])
    with workspace.engine.connect() as conn:
        rec = fetch_records(conn, select(c.id, c.lon, c.confidence).order_by(c.id), dtype)
        plain = [tuple(r) for r in conn.execute(select(c.id, c.lon, c.confidence).order_by(c.id))]
    assert [tuple(r) for r in rec.tolist()] == plain  # to the last bit
