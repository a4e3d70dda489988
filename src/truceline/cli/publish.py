"""``truceline publish FILE...``: send observation files to the NATS JetStream stream."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from truceline.cli._common import console

__all__ = ["register"]

NATS_URL = typer.Option(
    "nats://127.0.0.1:4222", "--nats", envvar="TRUCELINE_NATS_URL", help="NATS server URL"
)
STREAM = typer.Option("TRUCELINE_OBSERVATIONS", "--stream", help="JetStream stream name")
PREFIX = typer.Option("truceline.observations", "--subject-prefix", help="subject prefix")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("publish")(publish)


def publish(
    files: list[Path] = typer.Argument(..., help="observation files (CSV, Parquet, JSON, ...)"),
    fmt: str | None = typer.Option(None, "--format", "-f", help="as for `truceline ingest`"),
    nats_url: str = NATS_URL,
    stream: str = STREAM,
    prefix: str = PREFIX,
) -> None:
    """Validate observations and publish each good one (message id = its idempotency key)."""
    from truceline.stream.jetstream import StreamNames, publish_files

    report = publish_files(nats_url, files, fmt, StreamNames(stream, prefix))
    table = Table(title="publish")
    for col in ("read", "published", "duplicates", "rejected"):
        table.add_column(col, justify="right")
    table.add_row(*map(str, (report.read, report.published, report.duplicates, report.rejected)))
    console.print(table)
    if report.rejected:
        console.print(f"{report.rejected} record(s) refused (see `ingest --errors`)")
