"""`truceline demo`: the whole pipeline on a fresh workspace, then where the report is."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from truceline.cli._common import console, escape

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("truceline-demo"), "--out", help="folder for the demo"),
        seed: int = typer.Option(2015, "--seed", help="seed of the built-in scenario"),
        events: Path | None = typer.Option(
            None, "--events", help="ingest this file of real events instead of the scenario"
        ),
        agreement: Path | None = typer.Option(
            None, "--agreement", help="agreement folder or TOML (default: examples/minsk-2015)"
        ),
    ) -> None:
        """Build a fresh workspace in OUT and run ingest, fuse, check and report on it."""
        from truceline.service.demo import run_demo

        with console.status("demo") as status:
            r = run_demo(
                out,
                events=events,
                seed=seed,
                agreement=agreement,
                step=lambda msg: status.update(msg),
            )
        t = Table(
            title=f"truceline demo · {r.agreement_id} v{r.agreement_version}", show_header=False
        )
        t.add_column(style="bold")
        t.add_column()
        t.add_row("input", escape(f"{r.input_file.name} ({r.read} read)"))
        t.add_row("observations", f"{r.accepted} accepted, {r.rejected} rejected")
        t.add_row(
            "incidents", ", ".join(f"{s} {n}" for s, n in r.incidents_by_status.items()) or "none"
        )
        t.add_row(
            "findings", ", ".join(f"{k} {n}" for k, n in r.findings_by_rule.items()) or "none"
        )
        t.add_row("ledger", f"signed tree head at size {r.tree_head_size}")
        if r.scenario is not None:
            s = r.scenario
            t.add_row(
                "escalation",
                f"{', '.join(s.escalation_sectors)} from "
                f"{s.escalation_start:%Y-%m-%d} to {s.escalation_end:%Y-%m-%d}",
            )
        t.add_row("busiest day", r.day.isoformat())
        console.print(t)
        console.print(f"Report: [bold]{escape(str(r.report.html))}[/bold]")
        console.print(f"All days: {r.index}", markup=False)
        console.print(
            f"Restricted edition (every incident, for the mission): {r.restricted.html}",
            markup=False,
        )
        console.print(f"Workspace: {r.out_dir} (cd there and run truceline commands)", markup=False)
