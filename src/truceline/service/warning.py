"""Early-warning use cases on files: the backtest of a series read from a file
(air-raid alerts, UCDP GED, a table of published counts, or observations in the
native layout or ACLED's, counted by administrative region and/or kind).

Reads the file with the warning readers, runs the pure backtest per horizon and
writes the metrics table (CSV and JSON), the per-unit scores and the charts into
an output folder.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from truceline.domain.errors import InputError
from truceline.warning.backtest import BacktestConfig, BacktestResult, run_backtest
from truceline.warning.readers import DEFAULT_TZ, read_series
from truceline.warning.regions import read_regions
from truceline.warning.series import DailySeries

__all__ = ["BacktestReport", "BacktestResult", "backtest_file", "detect_layout"]

LAYOUT_COLUMNS = {
    "alerts": ({"started_at", "oblast"}, {"started_at", "region"}),
    "ucdp": ({"adm_1", "date_start", "date_end"},),
    "counts": ({"date", "region", "count"},),
    "events": (
        {"source_id", "t", "kind"},
        {"event_id_cnty", "event_date", "latitude", "longitude"},
    ),
}
#: file endings that only the intake's observation readers read
EVENT_SUFFIXES = (".parquet", ".pq", ".jsonl", ".ndjson", ".json", ".geojson")


@dataclass(frozen=True, slots=True)
class BacktestReport:
    """What a backtest run wrote and its results, one per horizon."""

    series: DailySeries
    results: list[BacktestResult]
    files: list[Path]


def detect_layout(path: Path) -> str:
    """``alerts``, ``ucdp``, ``counts`` or ``events`` from the file's ending and header."""
    if path.suffix.lower() in EVENT_SUFFIXES:
        return "events"
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = set(next(csv.reader(f), []))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the CSV header: {exc}") from exc
    for layout, options in LAYOUT_COLUMNS.items():
        if any(cols <= header for cols in options):
            return layout
    raise InputError(
        f"{path}: not a known series layout (air-raid alerts, UCDP GED, date,region,count, "
        "native observations or ACLED)"
    )


def backtest_file(
    path: Path,
    *,
    train_until: date,
    horizons: list[int],
    out_dir: Path,
    eval_until: date | None = None,
    train_from: date | None = None,
    units: tuple[str, ...] | None = None,
    layout: str | None = None,
    unit: str = "adm1",
    regions: Path | None = None,
    region_field: str | None = None,
    tz: str = DEFAULT_TZ,
    reps: int = 400,
    plots: bool = True,
) -> BacktestReport:
    """Run the backtest for each horizon and write its tables (and charts) to ``out_dir``."""
    if not horizons or any(h < 1 or h > 91 for h in horizons):
        raise InputError("--horizon: each horizon must be 1 to 91 days")
    bounds = None if regions is None else read_regions(regions, region_field)
    series = read_series(
        path, layout or detect_layout(path), tz=tz, units=units, unit=unit, regions=bounds
    )
    if train_from is not None:
        series = series.since(train_from)
    results = [
        run_backtest(series, BacktestConfig(train_until, h, eval_until, reps=reps))
        for h in horizons
    ]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        files = _write_tables(results, out_dir)
        if plots:
            files += _write_plots(results, out_dir)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot write the backtest output: {exc}") from exc
    return BacktestReport(series, results, files)


def _clean(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, tuple):
        return [_clean(x) for x in v]
    return v


def _score_rows(results: list[BacktestResult]) -> list[dict[str, object]]:
    return [{k: _clean(v) for k, v in asdict(s).items()} for r in results for s in r.scores]


def _write_tables(results: list[BacktestResult], out: Path) -> list[Path]:
    rows = _score_rows(results)
    units = [{"horizon": r.config.horizon, **asdict(u)} for r in results for u in r.units]
    first = results[0]
    meta = {
        "units": list(first.series.units),
        "time_zone": first.series.tz,
        "notes": list(first.series.notes),
        "train_until": first.config.train_until.isoformat(),
        "eval_from": first.series.day(int(first.origins[0]) + 1).isoformat(),
        "eval_until": first.series.day(int(first.origins[-1]) + first.config.horizon).isoformat(),
        "escalation": asdict(first.config.escalation),
        "detector": asdict(first.config.detector),
        "detector_score": {
            **asdict(first.detector),
            "false_alarm_rate": first.detector.false_alarm_rate,
        },
        "coefficients": {str(r.config.horizon): r.coefficients for r in results},
        "pool_weights": {str(r.config.horizon): r.pool_weights for r in results},
    }
    paths = [out / "metrics.csv", out / "metrics.json", out / "per_unit.csv"]
    _csv(paths[0], rows)
    paths[1].write_text(json.dumps({"meta": _clean_tree(meta), "metrics": rows}, indent=2))
    _csv(paths[2], units)
    return paths


def _clean_tree(v: object) -> object:
    if isinstance(v, dict):
        return {k: _clean_tree(x) for k, x in v.items()}
    return _clean(v)


def _csv(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        for row in rows:
            w.writerow({k: json.dumps(v) if isinstance(v, list) else v for k, v in row.items()})


def _write_plots(results: list[BacktestResult], out: Path) -> list[Path]:
    from truceline.warning.plots import detector_png, forecast_png, reliability_png

    paths = []
    for r in results:
        p = out / f"forecast_h{r.config.horizon}.png"
        p.write_bytes(forecast_png(r))
        paths.append(p)
    for name, draw in (("reliability.png", reliability_png), ("detector.png", detector_png)):
        (out / name).write_bytes(draw(results[0]))
        paths.append(out / name)
    return paths
