"""Parsers: each format's good rows come out normalised, each bad one as a problem."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from truceline.domain.errors import InputError, Problem
from truceline.domain.observations import OBSERVATION_SCHEMA
from truceline.intake import detect_format, read_observations

DATA = Path(__file__).parent / "data"


def _read(name: str, fmt: str | None = None) -> tuple[pa.Table, list[int], list[Problem], int]:
    chunks = list(read_observations(DATA / name, fmt))
    table = pa.Table.from_batches([c.batch for c in chunks], schema=OBSERVATION_SCHEMA)
    lines = [int(x) for c in chunks for x in c.lines]
    return table, lines, [p for c in chunks for p in c.problems], sum(c.read for c in chunks)


def _where(problems: list[Problem]) -> set[tuple[int | None, str | None]]:
    return {(p.line, p.field) for p in problems}


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("mixed_native.csv", "native"),
        ("mixed.jsonl", "jsonl"),
        ("mixed.geojson", "geojson"),
        ("mixed_ucdp.csv", "ucdp"),
        ("mixed_acled.csv", "acled"),
    ],
)
def test_format_detected(name: str, fmt: str) -> None:
    assert detect_format(DATA / name) == fmt


def test_native_csv_good_rows_in_bad_rows_listed() -> None:
    table, lines, problems, read = _read("mixed_native.csv")
    assert table.column("client_id").to_pylist() == ["m-1", "m-2", "m-6"]
    assert lines == [2, 3, 7]
    assert read == 11
    assert _where(problems) == {
        (4, "t"),
        (5, "lon"),
        (6, "kind"),
        (8, "radius_m"),
        (9, "count"),
        (9, "credibility"),
        (10, None),
        (11, None),
        (12, "source_id"),
    }
    by_line = {p.line: p for p in problems}
    assert "time zone" in by_line[4].reason and by_line[4].record == "m-3"
    assert "200" in by_line[5].reason and "between -180 and 180" in by_line[5].reason
    assert "'teleport'" in by_line[6].reason
    assert "expected 13 fields, found 3" == by_line[11].reason
    assert all(p.file == str(DATA / "mixed_native.csv") for p in problems)


def test_native_csv_values_normalised() -> None:
    table, _, _, _ = _read("mixed_native.csv")
    rows = table.to_pylist()
    assert rows[0]["t"] == 1740802200  # 2025-03-01T04:10:00Z
    assert rows[1]["t"] == 1740802200 + 120 - 7200  # +02:00 offset applied
    assert rows[0]["weapon_class"] == "artillery_ge100" and rows[1]["weapon_class"] is None
    assert rows[0]["count"] == 3 and rows[0]["credibility"] == 2 and rows[0]["actor"] == "B"
    assert rows[2]["radius_m"] == 150.0 and rows[2]["t_unc_s"] == 5.0


def test_jsonl_good_rows_in_bad_rows_listed() -> None:
    table, lines, problems, read = _read("mixed.jsonl")
    assert table.column("client_id").to_pylist() == ["j-1", "j-4", "j-5"]
    assert lines == [1, 7, 8]
    assert read == 8  # the blank line is not a record
    assert _where(problems) == {(2, "t"), (3, None), (5, None), (6, "bearing_deg"), (9, "count")}
    rows = {r["client_id"]: r for r in table.to_pylist()}
    assert rows["j-1"]["bearing_deg"] == 75.5 and rows["j-1"]["lon"] is None
    assert rows["j-4"]["attrs"] == '{"url":"https://example.org/post/1"}'  # its RFC 8785 text
    assert (rows["j-5"]["lon"], rows["j-5"]["lat"], rows["j-5"]["count"]) == (37.7, 48.2, 2)
    assert rows["j-5"]["credibility"] == 6 and rows["j-5"]["t_unc_s"] == 0.0  # defaults


def test_lone_surrogate_escape_is_a_bad_row(tmp_path: Path) -> None:
    good = '"source_id": "m", "t": 0, "kind": "explosion", "lon": 37, "lat": 48, "radius_m": 9'
    path = tmp_path / "s.jsonl"
    path.write_text(
        f'{{{good}, "client_id": "a"}}\n{{{good}, "client_id": "b", "description": "\\ud800"}}\n'
    )
    (chunk,) = read_observations(path)
    assert chunk.batch.column("client_id").to_pylist() == ["a"]
    assert [(p.line, p.field) for p in chunk.problems] == [(2, "description")]


def test_geojson_features_numbered() -> None:
    table, lines, problems, read = _read("mixed.geojson")
    assert table.column("client_id").to_pylist() == ["g-1", "g-6"]
    assert lines == [1, 6] and read == 6
    assert _where(problems) == {
        (2, "geometry"),
        (3, "lat"),
        (4, "bearing_sd_deg"),
        (5, "weapon_class"),
    }
    g6 = table.to_pylist()[1]
    assert g6["t"] == 1740996540  # 10:09:00.750Z, floored to the second
    assert (g6["lon"], g6["lat"]) == (38.3, 48.8)


def test_ucdp_mapping() -> None:
    table, lines, problems, _ = _read("mixed_ucdp.csv")
    assert table.column("client_id").to_pylist() == ["900001", "900002", "900006"]
    assert lines == [2, 3, 7]
    assert {(p.line, p.field) for p in problems} >= {
        (4, "where_prec"),
        (5, "date_start"),
        (6, "date_end"),
    }
    assert {p.line for p in problems} == {4, 5, 6}
    r1, r2, r6 = table.to_pylist()
    assert r1["source_id"] == "ucdp-ged" and r1["kind"] == "explosion"
    assert r1["t"] == 1462104000 and r1["t_unc_s"] == 43_200  # noon, +- half a day
    assert r1["radius_m"] == 2_000 and r1["credibility"] == 2
    assert r2["radius_m"] == 150_000 and r2["credibility"] == 3
    assert r2["t_unc_s"] == 31 * 86_400 / 2  # the month's window
    assert r6["kind"] == "explosion" and r6["t_unc_s"] == 3 * 86_400  # date_prec 2 floor
    assert '"best": 2' in r1["attrs"] and '"side_b": "Rebels of Y"' in r1["attrs"]


def test_ucdp_unreadable_date_end_is_refused_not_narrowed(tmp_path: Path) -> None:
    text = (DATA / "mixed_ucdp.csv").read_text(encoding="utf-8").splitlines()
    rows = [text[0], text[1], text[2].replace("2016-05-31", "2016-05-xx")]
    path = tmp_path / "ged.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    table, lines, problems, _ = _read(str(path))
    assert lines == [2]  # the window is not shrunk to date_start's day
    assert [(p.line, p.field) for p in problems] == [(3, "date_end")]


def test_acled_mapping() -> None:
    table, _, problems, _ = _read("mixed_acled.csv")
    rows = table.to_pylist()
    assert [r["client_id"] for r in rows] == ["TST1", "TST2", "TST3"]
    assert [r["kind"] for r in rows] == ["explosion", "shot", "other"]
    assert rows[1]["t"] == 1646222400 and rows[1]["t_unc_s"] == 3.5 * 86_400
    assert [r["radius_m"] for r in rows] == [2_000, 25_000, 100_000]
    assert _where(problems) == {(5, "event_date"), (6, "lat")}


def test_acled_unknown_precision_is_refused_not_guessed(tmp_path: Path) -> None:
    text = (DATA / "mixed_acled.csv").read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    t_at, g_at = header.index("time_precision"), header.index("geo_precision")
    rows = [text[0]]
    for i, (t, g) in enumerate([("9", "1"), ("1", "7"), ("", "")]):
        cells = text[1].split(",")
        cells[0], cells[t_at], cells[g_at] = f"P{i}", t, g
        rows.append(",".join(cells))
    path = tmp_path / "acled.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    table, lines, problems, _ = _read(str(path))
    assert _where(problems) == {(2, "time_precision"), (3, "geo_precision")}
    assert lines == [4] and table.to_pylist()[0]["t_unc_s"] == 43_200


def test_forced_format_with_wrong_columns_is_refused() -> None:
    with pytest.raises(InputError, match="missing column"):
        list(read_observations(DATA / "mixed_native.csv", "ucdp"))


def test_unknown_layout_names_what_it_needs(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="cannot tell the layout"):
        list(read_observations(p))


def test_truncated_geojson_is_an_input_error(tmp_path: Path) -> None:
    p = tmp_path / "x.geojson"
    p.write_text((DATA / "mixed.geojson").read_text()[:700])
    with pytest.raises(InputError, match="invalid JSON"):
        list(read_observations(p))


def test_json_extension_told_apart(tmp_path: Path) -> None:
    lines = tmp_path / "obs.json"
    lines.write_text((DATA / "mixed.jsonl").read_text())
    collection = tmp_path / "fc.json"
    collection.write_text((DATA / "mixed.geojson").read_text())
    one_line = tmp_path / "one.json"
    one_line.write_text('{"type": "FeatureCollection", "features": []}')
    assert [detect_format(p) for p in (lines, collection, one_line)] == [
        "jsonl",
        "geojson",
        "geojson",
    ]
