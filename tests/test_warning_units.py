"""Series by administrative region and by kind: from a native observation file and
from the store's incidents, with regions from a real GeoJSON file."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from truceline.cli import app
from truceline.domain.errors import InputError
from truceline.service.alerts import forecast_sectors, incident_series
from truceline.service.warning import detect_layout
from truceline.service.workspace import Workspace
from truceline.store.schema import incidents
from truceline.warning.readers import read_events
from truceline.warning.regions import read_regions

START = date(2023, 1, 1)


def _square(name: str, x0: float, y0: float) -> dict[str, object]:
    ring = [[x0, y0], [x0 + 1, y0], [x0 + 1, y0 + 1], [x0, y0 + 1], [x0, y0]]
    return {
        "type": "Feature",
        "properties": {"name_en": name, "code": name[:1]},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def _regions(tmp_path: Path) -> Path:
    """West: 30..31 E, East: 31..32 E (a shared border at 31 E), both 48..49 N."""
    f = tmp_path / "regions.geojson"
    doc = {
        "type": "FeatureCollection",
        "features": [_square("West", 30, 48), _square("East", 31, 48)],
    }
    f.write_text(json.dumps(doc))
    return f


def test_regions_place_points_and_name_fields(tmp_path: Path) -> None:
    r = read_regions(_regions(tmp_path))
    got = r.assign([30.5, 31.5, 31.0, 35.0, np.nan], [48.5, 48.5, 48.5, 48.5, 48.5])
    assert got.tolist() == ["West", "East", "West", "", ""]  # the border: the first listed
    assert read_regions(_regions(tmp_path), "code").names == ("W", "E")
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        json.dumps({"type": "FeatureCollection", "features": [{"properties": {"x": 1}}]})
    )
    with pytest.raises(InputError, match="no region name field.*pass one of: x"):
        read_regions(bad)


def _native(tmp_path: Path, days: int = 3) -> Path:
    """West: 2 explosions a day; East: 1 shot a day and, on day 1, 3 more; plus one
    correction, one bearing, one point outside and one refused record."""
    f = tmp_path / "obs.csv"
    cols = ["source_id", "client_id", "t", "lon", "lat", "radius_m", "kind", "corrects"]
    cols += ["obs_lon", "obs_lat", "bearing_deg", "bearing_sd_deg"]
    rows: list[dict[str, object]] = []

    def add(i: int, hour: int, lon: float, kind: str, **extra: object) -> None:
        t = datetime.combine(START + timedelta(days=i), datetime.min.time(), UTC)
        t += timedelta(hours=hour)  # 09:00 UTC is noon in Kyiv
        row = {"source_id": "m1", "client_id": f"r{len(rows)}", "t": t.isoformat()}
        row.update(lon=lon, lat=48.5, radius_m=100, kind=kind, **extra)
        rows.append(row)

    rng = np.random.default_rng(3)
    for i in range(days):
        for _ in range(2 if days <= 3 else int(rng.poisson(3))):
            add(i, 9, 30.5, "explosion")
        for _ in range(1 if days <= 3 else int(rng.poisson(2))):
            add(i, 9, 31.5, "shot")
    for _ in range(3):
        add(1, 9, 31.5, "shot")
    add(1, 9, 30.5, "explosion", corrects="0" * 64)
    add(1, 9, 35.0, "explosion")  # outside both regions
    rows.append(
        {
            "source_id": "a1",
            "client_id": "b1",
            "t": "2023-01-02T09:00:00Z",
            "kind": "shot",
            "obs_lon": 30.5,
            "obs_lat": 48.5,
            "bearing_deg": 90,
            "bearing_sd_deg": 5,
        }
    )
    add(2, 9, 30.5, "no-such-kind")
    with f.open("w", newline="") as out:
        w = csv.DictWriter(out, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    return f


def test_native_events_count_by_region_kind_and_both(tmp_path: Path) -> None:
    f, regions = _native(tmp_path), read_regions(_regions(tmp_path))
    assert detect_layout(f) == "events"
    s = read_events(f, unit="adm1", regions=regions)
    assert s.units == ("East", "West") and s.start == START
    assert s.counts.tolist() == [[1, 4, 1], [2, 2, 2]]
    notes = " | ".join(s.notes)
    assert "1 record(s) refused by the intake" in notes and "kind" in notes
    assert "1 correction(s)" in notes and "2 observation(s) in no region" in notes
    k = read_events(f, unit="kind")
    assert k.units == ("explosion", "shot") and k.counts.sum(axis=1).tolist() == [7, 7]
    both = read_events(f, unit="adm1-kind", regions=regions)
    assert both.units == ("East/shot", "West/explosion")
    with pytest.raises(InputError, match="needs a boundaries file"):
        read_events(f, unit="adm1")


def test_backtest_reads_a_native_file_by_region_and_by_kind(tmp_path: Path) -> None:
    f, regions = _native(tmp_path, days=300), _regions(tmp_path)
    for unit, units in (("adm1", ["East", "West"]), ("kind", ["explosion", "shot"])):
        out = tmp_path / unit
        args = ["backtest", str(f), "--unit", unit, "--regions", str(regions)]
        args += ["--train-until", "2023-08-31", "--horizon", "7", "--out", str(out)]
        r = CliRunner().invoke(app, [*args, "--reps", "10", "--no-plots"])
        assert r.exit_code == 0, r.output
        doc = json.loads((out / "metrics.json").read_text())
        assert doc["meta"]["units"] == units
        assert any(m["model"] == "nb-glm" and m["crps"] > 0 for m in doc["metrics"])
    r = CliRunner().invoke(
        app, ["backtest", str(f), "--unit", "adm1", "--train-until", "2023-08-31"]
    )
    assert isinstance(r.exception, InputError) and "--regions" in str(r.exception)


def _incident(t: int, lon: float, kind: str, sector: str) -> dict[str, object]:
    return dict(
        t=t,
        t_start=t,
        t_end=t + 60,
        lon=lon,
        lat=48.5,
        radius_m=100.0,
        kind=kind,
        count=1,
        status="reported",
        n_observations=1,
        n_groups=1,
        confidence=0.5,
        sector=sector,
        created_at=t,
        updated_at=t,
    )


def test_store_series_by_region_and_kind(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    day = date(2024, 3, 1)
    noon = int(datetime.combine(day, datetime.min.time(), UTC).timestamp()) + 9 * 3600
    rows = [_incident(noon, 30.5, "explosion", "S1"), _incident(noon + 1, 30.5, "shot", "S1")]
    rows += [_incident(noon - 86_400, 31.5, "shot", "S1"), _incident(noon, 40.0, "shot", "S2")]
    with sqlite_workspace.engine.begin() as conn:
        conn.execute(insert(incidents), rows)
    regions = read_regions(_regions(tmp_path))
    s = incident_series(
        sqlite_workspace, day, "Europe/Kyiv", ("reported",), unit="adm1", regions=regions
    )
    assert s.units == ("East", "West", "outside the regions")
    assert s.counts[:, -2:].tolist() == [[1, 0], [0, 2], [0, 1]]
    assert "1 incident(s) in no region" in " ".join(s.notes)
    k = incident_series(sqlite_workspace, day, "Europe/Kyiv", ("reported",), unit="kind")
    assert k.units == ("explosion", "shot") and k.counts[:, -1].tolist() == [1, 2]
    both = incident_series(
        sqlite_workspace, day, "Europe/Kyiv", ("reported",), unit="adm1-kind", regions=regions
    )
    assert both.units == ("East/shot", "West/explosion", "West/shot", "outside the regions")
    assert [f.unit for f in forecast_sectors(sqlite_workspace, day, unit="kind")] == list(k.units)
    with pytest.raises(InputError, match="use one of"):
        incident_series(sqlite_workspace, day, "Europe/Kyiv", ("reported",), unit="raion")
    args = ["--db", sqlite_workspace.url, "forecast", "--day", day.isoformat(), "--unit", "adm1"]
    r = CliRunner().invoke(app, [*args, "--regions", str(_regions(tmp_path)), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert [f["unit"] for f in json.loads(r.stdout)] == ["East", "West", "outside the regions"]
