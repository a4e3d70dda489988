"""``truceline declare``: file a party's or operator's figure for a period."""

from __future__ import annotations

from pathlib import Path

import typer

from truceline.cli._common import console, err_console, workspace
from truceline.domain.errors import InputError

__all__ = ["register"]


def declare(
    ctx: typer.Context,
    file: Path | None = typer.Option(None, "--file", help="CSV of declarations"),
    party: str | None = typer.Option(None, help="declaring party"),
    declarant: str | None = typer.Option(None, help="declarant (an operator; default the party)"),
    subject: str | None = typer.Option(None, help="personnel | equipment | energy"),
    item: str | None = typer.Option(None, help="e.g. army, tank, delivered_to:A"),
    period: str | None = typer.Option(None, help="month, YYYY-MM"),
    value: float | None = typer.Option(None, help="the figure"),
    unit: str | None = typer.Option(None, help="e.g. persons, items, MWh"),
    plant: str | None = typer.Option(None, help="for energy: the plant's zone id"),
) -> None:
    """Store a declaration (or a CSV of them); late ones are flagged."""
    from truceline.service.declarations import DeclarationIn, declare, declare_file

    ws = workspace(ctx)
    if file is not None:
        rep = declare_file(ws, file)
        for p in rep.problems:
            err_console.print(f"  {p}", highlight=False, markup=False)
        console.print(
            f"{rep.accepted} stored ({rep.late} late), {rep.duplicates} already on record, "
            f"{len(rep.problems)} refused"
        )
        if rep.problems:
            raise typer.Exit(1)
        return
    missing = [n for n, v in (("--subject", subject), ("--item", item), ("--period", period),
                              ("--value", value), ("--unit", unit))
               if v is None or (isinstance(v, str) and not v.strip())]  # fmt: skip
    if missing:
        raise InputError(f"give --file, or {', '.join(missing)}")
    assert subject and item and period and unit and value is not None
    d = DeclarationIn(party, subject, item, period, value, unit, declarant, plant)
    s = declare(ws, d)
    what = "already on record" if s.duplicate else ("stored, LATE" if s.late else "stored")
    console.print(f"declaration {s.id} {what}: {s.party or declarant} {s.subject} {s.item} "
                  f"{s.period} = {s.value:g} {s.unit} (ledger {s.ledger_index})",
                  markup=False, highlight=False)  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``declare`` to ``app``."""
    app.command("declare")(declare)
