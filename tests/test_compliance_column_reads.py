"""A check's bulk column reads give what a plain row-by-row read gives, on both stores:
NULL apart from an empty string, a text value holding the separator, floats to the
last bit (as text where the database sends them exactly, else value by value)."""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, text

from truceline.service.workspace import Workspace
from truceline.store.column_reads import SEPARATOR, floats_as_text, hard_floats, read_columns
from truceline.store.schema import incidents

T = 1_760_000_000


def _store(ws: Workspace, rows: list[dict[str, object]]) -> None:
    with ws.engine.begin() as conn:
        for i, r in enumerate(rows, start=1):
            conn.execute(insert(incidents).values({
                "id": i, "t": T + i, "t_start": T, "t_end": T, "lon": 30.0 + i / 3,
                "lat": 48.0 - i / 7, "radius_m": 100.0, "kind": "explosion", "count": i,
                "status": "reported", "n_observations": 1, "n_groups": 1,
                "confidence": 0.1 * i, "created_at": T, "updated_at": T, **r,
            }))  # fmt: skip


def _read(ws: Workspace) -> tuple[dict[str, list[object]], list[tuple[object, ...]]]:
    c = incidents.c
    q = select(c.id, c.t, c.weapon_class, c["count"], c.actor, c.actor_basis).order_by(c.id)
    types = [pa.int64(), pa.int64(), pa.string(), pa.int64(), pa.string(), pa.string()]
    with ws.engine.connect() as conn:
        got = read_columns(conn, q, types)
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


def _bits(values: list[float | None]) -> list[bytes | None]:
    return [None if v is None else struct.pack(">d", v) for v in values]


def _floats(ws: Workspace, fast: bool | None = None) -> tuple[dict[str, list[object]], list]:
    """``id``, ``lon`` (never NULL) and ``actor_confidence`` read in bulk, and row by row;
    ``fast`` False: as if the connection's check of float text had failed."""
    c = incidents.c
    q = select(c.id, c.lon, c.actor_confidence).order_by(c.id)
    types = [pa.int64(), pa.float64(), pa.float64()]
    with ws.engine.connect() as conn:
        if fast is False:
            conn.connection.info["truceline.floats_as_text"] = False
        got = read_columns(conn, q, types, key="id")
        plain = [tuple(r) for r in conn.execute(q)]
        conn.connection.info.pop("truceline.floats_as_text", None)
    return {k: v.to_pylist() for k, v in got.items()}, plain


def test_no_rows_and_floats_exact(workspace: Workspace) -> None:
    got, _ = _read(workspace)
    assert got == {k: [] for k in ("id", "t", "weapon_class", "count", "actor", "actor_basis")}
    assert _floats(workspace)[0] == {"id": [], "lon": [], "actor_confidence": []}
    _store(workspace, [{"actor_confidence": None}, {"actor_confidence": 0.1}, {}])
    for fast in (None, False):
        got, plain = _floats(workspace, fast)
        assert got["actor_confidence"] == [None, 0.1, None]
        for k, name in enumerate(("lon", "actor_confidence")):
            assert _bits(got[name]) == _bits([r[k + 1] for r in plain])  # to the last bit


def test_a_float_column_of_nulls_only(workspace: Workspace) -> None:
    _store(workspace, [{}, {}])
    for fast in (None, False):
        got, plain = _floats(workspace, fast)
        assert got["actor_confidence"] == [None, None]
        assert _bits(got["lon"]) == _bits([r[1] for r in plain])


def test_postgresql_sends_floats_as_text_and_sqlite_value_by_value(workspace: Workspace) -> None:
    with workspace.engine.connect() as conn:
        assert floats_as_text(conn) is (conn.dialect.name == "postgresql")


def test_the_hard_values_catch_a_lossy_text_form(pg_url: str) -> None:
    """The check's values tell a lossy form from an exact one: PostgreSQL's decimal text
    of a float8 round-trips with ``extra_float_digits`` 1 (its default since 12) and not
    with 0 (15 significant digits)."""
    from truceline.store.db import open_engine

    engine = open_engine(pg_url)
    want = hard_floats()
    arr = "SELECT string_agg(x::text, ' ' ORDER BY k) FROM unnest(CAST(:xs AS float8[])) "
    arr += "WITH ORDINALITY AS t(x, k)"
    try:
        with engine.begin() as conn:
            for digits, exact in ((1, True), (0, False)):
                conn.execute(text(f"SET LOCAL extra_float_digits = {digits}"))
                joined = conn.execute(text(arr), {"xs": want.tolist()}).scalar_one()
                back = pc.cast(pa.array(joined.split(" ")), pa.float64()).to_numpy()
                same = (back.view(np.int64) == want.view(np.int64)) | np.isnan(want)
                assert bool(same.all()) is exact
    finally:
        engine.dispose()


_IEEE = st.floats(allow_nan=False)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lon=st.lists(_IEEE, min_size=1, max_size=40), other=st.lists(st.none() | _IEEE, max_size=40))
def test_stored_floats_read_back_bit_identical(
    workspace: Workspace, lon: list[float], other: list[float | None]
) -> None:
    """Any float stored reads back with the same bits through the bulk read, as the
    driver reads it value by value; that is what was written, but for the negative zero
    SQLite does not keep."""
    other = (other + [None] * len(lon))[: len(lon)]
    with workspace.engine.begin() as conn:
        conn.execute(delete(incidents))
    _store(workspace, [{"lon": x, "actor_confidence": y} for x, y in zip(lon, other, strict=True)])
    sqlite = workspace.engine.dialect.name == "sqlite"

    def stored(v: float | None) -> float | None:
        return 0.0 if sqlite and v == 0.0 else v

    for fast in (None, False):
        got, plain = _floats(workspace, fast)
        assert _bits(got["lon"]) == _bits([r[1] for r in plain]) == _bits([stored(x) for x in lon])
        assert _bits(got["actor_confidence"]) == _bits([r[2] for r in plain])
        assert _bits(got["actor_confidence"]) == _bits([stored(y) for y in other])
