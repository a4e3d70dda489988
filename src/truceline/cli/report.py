"""`truceline report`: write the daily report (HTML, JSON, map PNG) of one day."""

from __future__ import annotations

from pathlib import Path

import typer

from truceline.cli._common import console, guard_folder, parse_date, workspace

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

    @app.command("report")
    def report(
        ctx: typer.Context,
        day: str | None = typer.Option(
            None,
            "--date",
            help="the UTC day YYYY-MM-DD (default: the latest day with data inside the "
            "agreement's validity)",
        ),
        out: Path = typer.Option(Path("reports"), "--out", help="folder to write the report in"),
        edition: str = typer.Option(
            "public",
            "--edition",
            help="public (parties named only on confirmed findings, weapon positions "
            "coarsened, no observer) or restricted (everything, marked as such)",
        ),
        lang: str = typer.Option("en", "--lang", help="en, uk or ru"),
        pdf: bool = typer.Option(False, "--pdf", help="also print the report to PDF"),
        head: bool = typer.Option(
            True, "--issue-head/--no-issue-head", help="issue a signed tree head first"
        ),
    ) -> None:
        """Write the daily report of a day as HTML and JSON, with a map picture."""
        from truceline.service.reports import choose_day, daily_report, write_report_index

        out = guard_folder(out, "--out")
        ws = workspace(ctx)
        chosen = choose_day(ws, parse_date(day, "--date") if day else None)
        paths = daily_report(
            ws,
            chosen,
            out,
            edition=edition,
            lang=lang,
            issue_head=head,
            with_index_link=True,
            pdf=pdf,
        )
        index = write_report_index(ws, out, edition=edition, lang=lang)
        console.print(f"[bold]Daily report {chosen.isoformat()}[/bold] ({edition}, {lang})")
        console.print(f"  HTML  {paths.html}")
        console.print(f"  JSON  {paths.json}")
        console.print(f"  map   {paths.map_png}")
        if paths.pdf is not None:
            console.print(f"  PDF   {paths.pdf}")
        console.print(f"  index {index}")
