"""``truceline fuse``: group new observations into incidents (incrementally)."""

from __future__ import annotations

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from truceline.cli._common import console, err_console, workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("fuse")(fuse)


def fuse(
    ctx: typer.Context,
    distance_m: float | None = typer.Option(
        None, "--distance-m", min=0.0, help="space reach in metres (default: agreement, settings)"
    ),
    window_s: int | None = typer.Option(
        None, "--window-s", min=0, help="time reach in seconds (default: agreement, settings)"
    ),
) -> None:
    """Fuse the observations not yet in an incident: join, found or merge incidents."""
    from truceline.service.fusion import fuse as fuse_service

    ws = workspace(ctx)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("fusing", total=None)

        def stage(msg: str) -> None:  # shown at once: a quick stage is not skipped
            bar.update(task, description=msg)
            bar.refresh()

        result = fuse_service(ws, distance_m=distance_m, window_s=window_s, progress=stage)
    table = Table(title=f"fusion ({result.distance_m:g} m, {result.window_s} s)")
    table.add_column("")
    table.add_column("count", justify="right")
    for name, n in (
        ("observations fused", result.observations_fused),
        ("new incidents", result.new),
        ("updated incidents", result.updated),
        ("merged incidents", result.merged),
        ("bearings not located", result.unlocated),
    ):
        table.add_row(name, str(n))
    for status, n in sorted(result.by_status.items()):
        table.add_row(f"incidents {status}", str(n))
    console.print(table)
