"""`truceline export`: incidents or findings of a period as STIX 2.1, HXL CSV or GeoJSON."""

from __future__ import annotations

from pathlib import Path

import typer

from truceline.cli._common import console, guard_output, parse_date, workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``export`` to ``app``."""

    @app.command("export")
    def export(
        ctx: typer.Context,
        what: str = typer.Argument(..., help="incidents or findings"),
        fmt: str = typer.Option("stix", "--format", help="stix (2.1 bundle), hxl (CSV) or geojson"),
        date_from: str = typer.Option(..., "--from", help="first day (YYYY-MM-DD, UTC)"),
        date_to: str = typer.Option(..., "--to", help="last day, included (YYYY-MM-DD, UTC)"),
        edition: str = typer.Option(
            "public", "--edition", help="public (as the public reports) or restricted"
        ),
        out: Path | None = typer.Option(None, "--out", help="file to write (default: stdout)"),
        force: bool = typer.Option(False, "--force", help="overwrite an existing --out file"),
    ) -> None:
        """Export records for intelligence, humanitarian and GIS tools."""
        from datetime import UTC, datetime, timedelta

        from truceline.service.exports import export_records

        def epoch(d: object) -> int:
            return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())  # type: ignore[attr-defined]

        target = None if out is None else guard_output(ctx, out, force=force, option="--out")
        first = parse_date(date_from, "--from")
        last = parse_date(date_to, "--to")
        text = export_records(
            workspace(ctx), what, fmt, epoch(first), epoch(last + timedelta(days=1)),
            edition=edition,
        )  # fmt: skip
        if target is None:
            typer.echo(text)
        else:
            target.write_text(text + "\n", encoding="utf-8")
            console.print(f"{what} as {fmt} ({edition}): {target}")
