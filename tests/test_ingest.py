"""Ingest into a real store (SQLite file and PostgreSQL): good rows in, bad rows listed,
re-ingest adds nothing, strict refuses whole files, everything accepted is ledgered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from truceline.domain.errors import RejectedBatch
from truceline.domain.observations import observation_record, observation_uid
from truceline.ledger.log import entry_data
from truceline.service.ingest import ingest_files
from truceline.service.ledger import verify_store
from truceline.service.workspace import Workspace
from truceline.store.schema import ledger_entries, observations, sources

DATA = Path(__file__).parent / "data"

#: file -> (read, accepted, rejected, client ids accepted)
EXPECTED = {
    "mixed_native.csv": (11, 3, 8, {"m-1", "m-2", "m-6"}),
    "mixed.jsonl": (8, 3, 5, {"j-1", "j-4", "j-5"}),
    "mixed.geojson": (6, 2, 4, {"g-1", "g-6"}),
    "mixed_ucdp.csv": (6, 3, 3, {"900001", "900002", "900006"}),
    "mixed_acled.csv": (5, 3, 2, {"TST1", "TST2", "TST3"}),
}


def _count(ws: Workspace, table: object = observations) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


@pytest.mark.usefixtures("registered_sensors")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_mixed_file_good_in_bad_listed_again_nothing(workspace: Workspace, name: str) -> None:
    read, accepted, rejected, ids = EXPECTED[name]
    report = ingest_files(workspace, [DATA / name])
    (f,) = report.files
    assert (f.read, f.accepted, f.duplicates, f.rejected) == (read, accepted, 0, rejected)
    assert all(p.line is not None and p.reason for p in f.problems)
    assert {p.line for p in f.problems} and len({p.line for p in f.problems}) == rejected
    with workspace.engine.connect() as conn:
        stored = conn.execute(select(observations.c.client_id, observations.c.ledger_index))
        rows = stored.all()
        assert {r.client_id for r in rows} == ids
        assert all(r.ledger_index is not None for r in rows)
        q = select(func.count()).where(ledger_entries.c.kind == "observation")
        assert conn.execute(q).scalar_one() == accepted
    again = ingest_files(workspace, [DATA / name]).files[0]
    assert (again.accepted, again.duplicates, again.rejected) == (0, accepted, rejected)
    assert _count(workspace) == accepted


@pytest.mark.usefixtures("registered_sensors")
def test_strict_refuses_the_whole_file(workspace: Workspace) -> None:
    sources_before = _count(workspace, sources)
    ledger_before = _count(workspace, ledger_entries)
    with pytest.raises(RejectedBatch) as exc:
        ingest_files(workspace, [DATA / "mixed_native.csv"], strict=True)
    assert len(exc.value.errors) == 9 and "nothing of this file was stored" in exc.value.message
    assert _count(workspace) == 0 and _count(workspace, ledger_entries) == ledger_before
    assert _count(workspace, sources) == sources_before


@pytest.mark.usefixtures("registered_sensors")
def test_strict_accepts_a_clean_file(workspace: Workspace, tmp_path: Path) -> None:
    lines = (DATA / "mixed_native.csv").read_text().splitlines()
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join([lines[0], lines[1], lines[2], lines[6]]) + "\n")
    report = ingest_files(workspace, [clean], strict=True)
    assert report.accepted == 3 and report.rejected == 0
    assert _count(workspace) == 3


def test_only_open_sources_and_parties_are_registered_on_first_sight(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    rows = [
        {"client_id": "p-1", "source_id": "desk-b", "source_type": "party"},
        {"client_id": "o-1", "source_id": "wire-9", "source_type": "osint"},
        {"client_id": "m-1", "source_id": "mon-77", "source_type": "monitor"},
        {"client_id": "c-1", "source_id": "cam-77", "source_type": "camera"},
    ]
    path = tmp_path / "first.jsonl"
    base = {"t": 1740802200, "lon": 37.8, "lat": 48.2, "radius_m": 100, "kind": "explosion"}
    path.write_text("".join(json.dumps({**base, **r}) + "\n" for r in rows))
    f = ingest_files(sqlite_workspace, [path]).files[0]
    assert (f.accepted, f.rejected) == (2, 2)
    assert {(p.line, p.field) for p in f.problems} == {(3, "source_id"), (4, "source_id")}
    assert all("not registered" in p.reason for p in f.problems)
    with sqlite_workspace.engine.connect() as conn:
        got = {r.id: r.type for r in conn.execute(select(sources.c.id, sources.c.type))}
        stored = set(conn.execute(select(observations.c.client_id)).scalars())
    assert got == {"desk-b": "party", "wire-9": "osint"} and stored == {"p-1", "o-1"}


@pytest.mark.usefixtures("registered_sensors")
def test_registered_sensors_submit_and_unknown_open_sources_register_once(
    sqlite_workspace: Workspace,
) -> None:
    ingest_files(sqlite_workspace, [DATA / "mixed_native.csv", DATA / "mixed.jsonl"])
    ingest_files(sqlite_workspace, [DATA / "mixed_native.csv"])
    with sqlite_workspace.engine.connect() as conn:
        got = {r.id: r.type for r in conn.execute(select(sources.c.id, sources.c.type))}
    assert got["osint-x"] == "osint" and len(got) == 6


@pytest.mark.usefixtures("registered_sensors")
def test_repeated_rows_within_a_file_are_duplicates(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    lines = (DATA / "mixed_native.csv").read_text().splitlines()
    twice = tmp_path / "twice.csv"
    twice.write_text("\n".join([lines[0], lines[1], lines[1], lines[2]]) + "\n")
    f = ingest_files(sqlite_workspace, [twice]).files[0]
    assert (f.read, f.accepted, f.duplicates, f.rejected) == (3, 2, 1, 0)


@pytest.mark.usefixtures("registered_sensors")
def test_same_content_under_two_names_is_one_record(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.geojson"
    shutil.copy(DATA / "mixed.geojson", copy)
    report = ingest_files(sqlite_workspace, [DATA / "mixed.geojson", copy])
    assert [f.accepted for f in report.files] == [2, 0]
    assert report.duplicates == 2


def test_progress_reaches_the_end(sqlite_workspace: Workspace) -> None:
    seen: list[tuple[int, int, str]] = []
    ingest_files(
        sqlite_workspace,
        [DATA / "mixed.jsonl"],
        progress=lambda _p, d, t, u: seen.append((d, t, u)),
    )
    assert seen and seen[-1][0] == seen[-1][1] == (DATA / "mixed.jsonl").stat().st_size


#: the only reasons a UCDP GED row may be refused
UCDP_REASONS = ("where_prec must be 1..7", "date_start is not a date", "date_end is before")


@pytest.mark.realdata
def test_ucdp_ged_real_file(real_data: Path, sqlite_workspace: Workspace) -> None:
    path = real_data / "ucdp_ged231_ukraine_2014_2022-02-23.csv"
    f = ingest_files(sqlite_workspace, [path]).files[0]
    assert f.format == "ucdp" and f.read == 3077
    assert all(any(r in p.reason for r in UCDP_REASONS) for p in f.problems), f.problems[:5]
    assert f.accepted + f.rejected == 3077 and f.accepted == 3077
    with sqlite_workspace.engine.connect() as conn:
        rows = conn.execute(select(observations.c.radius_m, observations.c.attrs)).all()
    # the README's total of UCDP's best fatality estimates survives intake in attrs
    assert sum(json.loads(r.attrs)["best"] for r in rows) == 8342
    assert sum(1 for r in rows if r.radius_m == 2_000) == 751  # where_prec 1: exact place
    assert ingest_files(sqlite_workspace, [path]).files[0].duplicates == 3077


@pytest.mark.realdata
def test_ucdp_candidate_real_file(real_data: Path) -> None:
    from truceline.intake import read_observations

    path = real_data / "ucdp_candidate_ukraine_2022-02-24_2023-02-28.csv"
    chunks = list(read_observations(path))
    assert sum(c.read for c in chunks) == 894
    problems = [p for c in chunks for p in c.problems]
    assert all(any(r in p.reason for r in UCDP_REASONS) for p in problems), problems[:5]
    t = [x for c in chunks for x in c.batch.column("t").to_pylist()]
    assert min(t) >= 1645660800  # 2022-02-24T00:00Z: no date was misread


_AWKWARD = [
    {"client_id": "w-1", "description": 'quote " back \\ tab \t nul-less \x01 \u2028 é 😀'},
    {"description": "no client id: the uid is the record's content", "t_unc_s": 315575999.5},
    {"client_id": "w-3", "radius_m": 1e-7, "lat": -0.0, "attrs": {"z": 1, "a": [0.5, "ы"]}},
    {"client_id": "w-4", "t_unc_s": 3e8, "count": 7, "credibility": 2, "signature": "c2ln"},
    {"client_id": "", "weapon_class": "tank", "t_unc_s": 0.1, "actor": "A"},
]


def _awkward(copies: int) -> list[dict[str, object]]:
    """``_AWKWARD`` ``copies`` times over, each copy a distinct record."""
    out: list[dict[str, object]] = []
    for i in range(copies):
        for row in _AWKWARD:
            cid = row.get("client_id")
            out.append(
                row | {"lat": 48.0 + i / 1000} | ({"client_id": f"{cid}.{i}"} if cid else {})
            )
    return out


@pytest.mark.parametrize("copies", [1, 60])  # fewer than _ROW_BY_ROW rows, and more
def test_ledger_bytes_are_each_records_rfc8785_envelope(
    workspace: Workspace, tmp_path: Path, copies: int
) -> None:
    """The columnar canonicaliser (a batch of 300 rows) and the per-record one (5 rows)
    give the bytes of ``entry_data`` of the stored record (signature included), and the
    uid of ``observation_uid``."""
    base = {"source_id": "wire-ü", "source_type": "osint", "t": "2025-03-02T22:00:05Z"}
    base |= {"lon": 37.5, "radius_m": 250, "kind": "explosion"}
    rows_in = _awkward(copies)
    path = tmp_path / "awkward.jsonl"
    path.write_text(
        "".join(json.dumps(base | row, ensure_ascii=False) + "\n" for row in rows_in), "utf-8"
    )
    (f,) = ingest_files(workspace, [path]).files
    assert (f.accepted, f.rejected) == (len(rows_in), 0), f.problems
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(observations)).mappings().all()
        datas = dict(conn.execute(select(ledger_entries.c.idx, ledger_entries.c.data)).all())
    assert len(rows) == len(rows_in)
    for row in rows:
        record = observation_record(row)
        assert row["uid"] == observation_uid(record)
        if row["signature"] is not None:
            record["signature"] = row["signature"]
        want = entry_data("observation", row["uid"], record, row["received_at"])
        assert bytes(datas[row["ledger_index"]]) == want


def test_new_records_after_duplicate_chunks_are_stored_and_ledgered(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    """A file ingested again with new records after 60k stored ones (chunks of duplicates
    first, whose entries are then no longer made ahead): the new ones are stored once,
    each with the ledger entry of its stored record, and the store verifies."""
    n, stored_first = 130_000, 60_000
    rng = np.random.default_rng(3)
    table = pa.table(
        {
            "id": pa.array(np.arange(1, n + 1)),
            "t": pa.array((1_740_787_200 + np.arange(n) * 3) * 1000).cast(
                pa.timestamp("ms", "UTC")
            ),
            "lon": rng.uniform(36, 38, n),
            "lat": rng.uniform(47, 49, n),
            "radius_m": pa.array(rng.integers(50, 2000, n)),
            "kind": ["explosion"] * n,
            "source_id": [f"wire-{i % 7}" for i in range(n)],
            "source_type": ["osint"] * n,
        }
    )
    first, whole = tmp_path / "first.parquet", tmp_path / "whole.parquet"
    pq.write_table(table.slice(0, stored_first), first)
    pq.write_table(table, whole)
    ingest_files(sqlite_workspace, [first])
    (f,) = ingest_files(sqlite_workspace, [whole]).files
    assert (f.accepted, f.duplicates, f.rejected) == (n - stored_first, stored_first, 0), (
        f.problems[:3]
    )
    with sqlite_workspace.engine.connect() as conn:
        rows = conn.execute(select(observations)).mappings().all()
        datas = dict(conn.execute(select(ledger_entries.c.idx, ledger_entries.c.data)).all())
    assert len(rows) == n
    for row in rows:
        want = entry_data("observation", row["uid"], observation_record(row), row["received_at"])
        assert bytes(datas[row["ledger_index"]]) == want
    assert verify_store(sqlite_workspace).ok
