"""``truceline backtest``: the early-warning models scored on a file's history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from truceline.cli._common import console, parse_date
from truceline.cli._output import Col, emit_list

if TYPE_CHECKING:
    from truceline.service.warning import BacktestResult

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("backtest")(backtest)


def _f(v: float, fmt: str = ".3f") -> str:
    return "" if v != v else format(v, fmt)


def _ci(ci: tuple[float, float]) -> str:
    return "" if ci[0] != ci[0] else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


_SCORE_COLS = (
    Col("model", kind="id"),
    Col("crps", "CRPS", kind="num"),
    Col("skill", kind="num"),
    Col("ci", "90 % CI", kind="num"),
    Col("units", "units+", kind="num"),
    Col("mae", "MAE", kind="num"),
    Col("brier", "Brier", kind="num"),
    Col("bskill", "B.skill", kind="num"),
    Col("auc", "AUC", kind="num"),
)


def _print_scores(r: BacktestResult) -> None:
    """The models' scores at one horizon; numbers are never cut (the table widens)."""
    rows = [
        {"model": s.model, "crps": _f(s.crps), "skill": _f(s.crps_skill, "+.3f"),
         "ci": _ci(s.crps_skill_ci), "units": _f(s.units_better, ".2f"), "mae": _f(s.mae, ".2f"),
         "brier": _f(s.brier, ".4f"), "bskill": _f(s.brier_skill, "+.3f"), "auc": _f(s.auc)}
        for s in r.scores
    ]  # fmt: skip
    emit_list(rows, _SCORE_COLS, "table", title=f"h={r.config.horizon}")


def backtest(
    file: Path = typer.Argument(
        ..., help="air-raid alerts, UCDP GED, date,region,count CSV, or observations"
    ),
    unit: str = typer.Option(
        "adm1", "--unit", help="adm1 (region), kind or adm1-kind (kind: observation files)"
    ),
    regions: Path | None = typer.Option(
        None, "--regions", help="GeoJSON of administrative regions (observation files)"
    ),
    region_field: str | None = typer.Option(
        None, "--region-field", help="property naming a region (default: name_en, name, ...)"
    ),
    train_until: str = typer.Option(..., "--train-until", help="last training day, YYYY-MM-DD"),
    eval_until: str | None = typer.Option(None, "--eval-until", help="last evaluated day"),
    train_from: str | None = typer.Option(None, "--train-from", help="first day used"),
    horizon: list[int] = typer.Option([1], "--horizon", help="days ahead; repeat for several"),
    out: Path = typer.Option(Path("backtest"), "--out", help="folder for tables and charts"),
    units: str | None = typer.Option(None, "--units", help="comma-separated units to keep"),
    tz: str = typer.Option("Europe/Kyiv", "--tz", help="time zone of the local days"),
    reps: int = typer.Option(400, "--reps", help="bootstrap replicates"),
    plots: bool = typer.Option(True, "--plots/--no-plots"),
) -> None:
    """Rolling-origin backtest: fit on days up to --train-until, score every later origin."""
    from truceline.service.warning import backtest_file

    report = backtest_file(
        file,
        train_until=parse_date(train_until, "--train-until"),
        eval_until=None if eval_until is None else parse_date(eval_until, "--eval-until"),
        train_from=None if train_from is None else parse_date(train_from, "--train-from"),
        horizons=horizon,
        out_dir=out,
        units=None if units is None else tuple(u.strip() for u in units.split(",")),
        unit=unit,
        regions=regions,
        region_field=region_field,
        tz=tz,
        reps=reps,
        plots=plots,
    )
    for note in report.series.notes:
        console.print(f"note: {note}", highlight=False)
    for r in report.results:
        _print_scores(r)
    d = report.results[0].detector
    console.print(
        f"detector: {d.false_alarms} false alarm(s) in {d.quiet_unit_days} quiet unit-days "
        f"({d.false_alarm_rate:.2%}); {d.detected}/{d.episodes} escalations detected, "
        f"median delay {d.median_delay_days} day(s)",
        highlight=False,
    )
    console.print(f"wrote {len(report.files)} file(s) to {out}", highlight=False)
