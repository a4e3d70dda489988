"""``truceline assess``: the breach assessment for guarantors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from truceline.cli._common import console, guard_folder, parse_date, workspace

__all__ = ["register"]


def assess(
    ctx: typer.Context,
    date_from: str = typer.Option(..., "--from", help="first day (YYYY-MM-DD)"),
    date_to: str = typer.Option(..., "--to", help="last day covered, included (YYYY-MM-DD)"),
    out: Path = typer.Option(..., "--out", help="folder for the HTML, PDF, JSON and map"),
    lang: str = typer.Option("en", "--lang", help="en, uk or ru"),
    edition: str = typer.Option(
        "restricted", "--edition", help="restricted (for guarantors) or public"
    ),
) -> None:
    """Summarise confirmed (and, apart, open) findings of a period for guarantors."""
    from truceline.i18n import check_language
    from truceline.report.editions import check_edition
    from truceline.service.findings import assess as run

    out = guard_folder(out, "--out")
    last = parse_date(date_to, "--to")
    first = parse_date(date_from, "--from")
    paths = run(
        workspace(ctx), first, last + timedelta(days=1), out, check_language(lang),
        edition=check_edition(edition),
    )  # fmt: skip
    for label, p in (("HTML", paths.html), ("PDF", paths.pdf), ("JSON", paths.json)):
        console.print(f"{label:5} {p}")


def register(app: typer.Typer) -> None:
    """Add ``assess`` to ``app``."""
    app.command("assess")(assess)
