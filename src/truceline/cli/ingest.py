"""``truceline ingest FILE...``: read observation files into the store."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from truceline.cli._common import err_console, guard_output, workspace
from truceline.cli._output import Col, emit_list
from truceline.domain.errors import InputError, Problem

if TYPE_CHECKING:
    from truceline.service.ingest import FileReport

__all__ = ["register"]

_SHOWN = 50
_BAR_BYTES = 5 << 20  # files at least this big get a progress bar


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("ingest")(ingest)


@contextmanager
def _errors_file(path: Path | None) -> Iterator[Callable[[Problem], None] | None]:
    """A sink that writes each problem to ``path`` as it is found (none without a path)."""
    if path is None:
        yield None
        return
    try:
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["file", "line", "field", "record", "reason"])
            yield lambda p: w.writerow(
                [p.file or "", p.line or "", p.field or "", p.record or "", p.reason]
            )
    except OSError as exc:
        raise InputError(f"{path}: cannot write the errors file: {exc}") from exc


@contextmanager
def _progress(files: Sequence[Path]) -> Iterator[Progress | None]:
    if sum(f.stat().st_size for f in files if f.is_file()) < _BAR_BYTES:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        yield bar


def ingest(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="observation files (CSV, Parquet, JSON, ...)"),
    fmt: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="native|parquet|jsonl|geojson|acled|ucdp (default: from extension and header)",
    ),
    strict: bool = typer.Option(False, "--strict", help="any bad record refuses its whole file"),
    errors: Path | None = typer.Option(None, "--errors", help="write every problem to this CSV"),
    force: bool = typer.Option(False, "--force", help="overwrite the --errors file if it exists"),
) -> None:
    """Validate and store observations; bad records are listed, the good ones go in."""
    from truceline.service.ingest import ingest_files

    if errors is not None:
        errors = guard_output(ctx, errors, force=force, option="--errors")
    ws = workspace(ctx)
    tasks: dict[str, TaskID] = {}
    with _progress(files) as bar:

        def progress(path: str, done: int, total: int, _unit: str) -> None:
            if bar is not None:
                if path not in tasks:
                    tasks[path] = bar.add_task(Path(path).name, total=total)
                bar.update(tasks[path], completed=done)

        with _errors_file(errors) as sink:
            report = ingest_files(
                ws, files, fmt=fmt, strict=strict, progress=progress, on_problem=sink
            )
    _show_problems(report.problems, report.problem_count)
    _summary(report.files)
    if report.accepted == 0 and report.duplicates == 0 and report.rejected > 0:
        raise typer.Exit(1)


def _show_problems(problems: Sequence[Problem], count: int) -> None:
    if not problems:
        return
    err_console.print(f"[yellow]{count} problem(s)[/yellow] (records refused):")
    for p in problems[:_SHOWN]:
        err_console.print(f"  {p}", markup=False, highlight=False)
    if count > _SHOWN:
        err_console.print(f"  ... and {count - _SHOWN} more (use --errors FILE.csv)")


_SUMMARY_COLS = (
    Col("file", kind="id"),
    Col("format", kind="id"),
    *(Col(k, kind="num") for k in ("read", "accepted", "duplicates", "rejected")),
)


def _summary(files: Sequence[FileReport]) -> None:
    rows = [
        {"file": Path(f.path).name, "format": f.format, "read": f.read, "accepted": f.accepted,
         "duplicates": f.duplicates, "rejected": f.rejected}
        for f in files
    ]  # fmt: skip
    emit_list(rows, _SUMMARY_COLS, "table", title="ingest")
