"""Invariant: whatever mix of good and broken records a file holds, exactly the good ones
come out, and each broken one is reported once, at its line, naming the broken field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truceline.intake import read_observations

#: one way to break one field, each
BREAKS: list[tuple[str, Any]] = [
    ("lon", 999.0),
    ("lat", -91.0),
    ("kind", "zzz"),
    ("t", "noon"),
    ("t", "2025-03-01T00:00:00"),  # no time zone
    ("count", 0),
    ("count", 2**31),  # beyond the store's INTEGER column
    ("credibility", 7),
    ("radius_m", -1.0),
    ("weapon_class", "slingshot"),
    ("source_id", None),
    ("bearing_deg", 361.0),
]


def _good(i: int) -> dict[str, Any]:
    return {
        "client_id": f"c{i}",
        "source_id": f"s{i % 3}",
        "t": f"2025-03-01T{i % 24:02d}:00:00Z",
        "lon": 30.0 + i / 100,
        "lat": 48.0,
        "radius_m": 100.0,
        "kind": "explosion",
        "weapon_class": "tank",
    }


def _broken(i: int, field: str, value: Any) -> dict[str, Any]:
    row = _good(i)
    if field == "bearing_deg":
        row.update(obs_lon=30.0, obs_lat=48.0, bearing_sd_deg=2.0)
        del row["lon"], row["lat"]
    row[field] = value
    return row


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=st.lists(st.none() | st.sampled_from(range(len(BREAKS))), min_size=1, max_size=30))
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_exactly_the_good_rows_pass(tmp_path: Path, suffix: str, plan: list[int | None]) -> None:
    rows = [_good(i) if b is None else _broken(i, *BREAKS[b]) for i, b in enumerate(plan)]
    path = tmp_path / f"obs{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        first = 1
    else:
        cols = sorted({k for r in rows for k in r})
        lines = [",".join(cols)] + [
            ",".join("" if r.get(c) is None else str(r[c]) for c in cols) for r in rows
        ]
        path.write_text("\n".join(lines) + "\n")
        first = 2
    chunks = list(read_observations(path))
    good = [x for ch in chunks for x in ch.batch.column("client_id").to_pylist()]
    assert good == [f"c{i}" for i, b in enumerate(plan) if b is None]
    problems = [p for ch in chunks for p in ch.problems]
    assert sorted((p.line, p.field) for p in problems) == sorted(
        (i + first, BREAKS[b][0]) for i, b in enumerate(plan) if b is not None
    )
    assert all(p.record == f"c{(p.line or 0) - first}" for p in problems)


def test_count_fits_the_store(tmp_path: Path) -> None:
    path = tmp_path / "obs.jsonl"
    rows = [{**_good(0), "count": 2**31 - 1}, {**_good(1), "count": 2**31}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (chunk,) = read_observations(path)
    assert chunk.batch.column("count").to_pylist() == [2**31 - 1]
    assert [(p.line, p.field) for p in chunk.problems] == [(2, "count")]


def test_foreign_state_codes_are_iso_alpha3(tmp_path: Path) -> None:
    """A foreign unit whose state is not an ISO 3166-1 alpha-3 code is a bad record (a typo
    must not hide a force from the foreign-forces rule); an empty state is "unknown"."""
    states: list[Any] = ["FRA", "usa", "", None, "XYZ", "FRANCE", 250, "UK"]
    rows = [
        {**_good(i), "kind": "foreign_unit", "attrs": {"state": s, "role": "combat"}}
        for i, s in enumerate(states)
    ]
    path = tmp_path / "obs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (chunk,) = read_observations(path)
    assert chunk.batch.column("client_id").to_pylist() == ["c0", "c1", "c2", "c3"]
    bad = {p.record: p for p in chunk.problems}
    assert sorted(bad) == ["c4", "c5", "c6", "c7"]
    for p in bad.values():
        assert p.field == "attrs.state"
        assert "ISO 3166-1 alpha-3" in p.reason and "e.g. USA" in p.reason
    assert "'XYZ'" in bad["c4"].reason and "'UK'" in bad["c7"].reason


def test_inspected_counts_are_checked(tmp_path: Path) -> None:
    """An inspection's counts per weapon class: whole numbers from 0, known classes only."""
    counts: list[Any] = [{"tank": 8, "artillery_ge100": 0}, {"slingshot": 2}, {"tank": -1},
                         {"tank": 1.5}, [], "8 tanks"]  # fmt: skip
    rows = [
        {**_good(i), "kind": "inspection", "attrs": {"inspected": c}} for i, c in enumerate(counts)
    ]
    path = tmp_path / "obs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (chunk,) = read_observations(path)
    assert chunk.batch.column("client_id").to_pylist() == ["c0"]
    assert [(p.record, p.field) for p in chunk.problems] == [
        (f"c{i}", "attrs.inspected") for i in range(1, 6)
    ]
    assert "'slingshot' is not one of" in chunk.problems[0].reason
