"""``truceline agreement``: show, validate, load and build agreements."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from truceline.cli._common import console, parse_date, workspace

__all__ = ["register"]

sub = typer.Typer(
    help="The agreement: show, validate, load, build from a control map.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(sub, name="agreement")


@sub.command("show")
def show(
    ctx: typer.Context, agreement_id: str | None = typer.Argument(None, metavar="[ID]")
) -> None:
    """Parties, zones (areas, lengths) and rules of an agreement in the workspace."""
    from truceline.compliance.agreement.summary import summarise
    from truceline.service.agreements import find_agreement

    s = summarise(find_agreement(workspace(ctx), agreement_id))
    console.print(f"[bold]{s.id}[/bold] v{s.version}: {s.title}\nin force {s.validity}")
    parties = Table("party", "name", title="parties")
    for p in s.parties:
        parties.add_row(p.id, p.name)
    zones = Table(
        "zone",
        "kind",
        "party",
        "weapon class",
        "km",
        "bars",
        "area km²",
        "length km",
        title="zones",
    )
    for z in s.zones:
        zones.add_row(
            z.id, z.kind, z.party, z.weapon_class, z.band_km, z.bars, z.area_km2, z.length_km
        )
    rules = Table("rule", "kind", "params", "text", title="rules")
    for r in s.rules:
        rules.add_row(r.id, r.kind, r.params, r.text)
    for t in (parties, zones, rules):
        console.print(t)


@sub.command("validate")
def validate(path: Path = typer.Argument(..., help="agreement TOML file or its directory")) -> None:
    """Read and compile an agreement file without storing it; errors name file, key, reason."""
    from truceline.compliance.agreement import load_agreement_file

    a = load_agreement_file(path)
    kinds: dict[str, int] = {}
    for z in a.zones:
        kinds[z.kind] = kinds.get(z.kind, 0) + 1
    zones = ", ".join(f"{n} {k}" for k, n in kinds.items())
    console.print(
        f"[green]valid[/green]: {a.id} v{a.version}, {len(a.parties)} parties, "
        f"zones: {zones}; {len(a.rules)} rules"
    )


@sub.command("load")
def load(
    ctx: typer.Context, path: Path = typer.Argument(..., help="agreement TOML or its directory")
) -> None:
    """Load an agreement (a new version closes the previous one) into the workspace."""
    from truceline.service.agreements import load_agreement

    r = load_agreement(workspace(ctx), path)
    verb = "loaded" if r.added else "already loaded (nothing added)"
    closed = f"; closed version(s) {', '.join(map(str, r.closed))}" if r.closed else ""
    console.print(
        f"agreement [bold]{r.agreement_id}[/bold] v{r.version} {verb} "
        f"(sha256 {r.sha256[:12]}…, ledger {r.ledger_index}){closed}"
    )


@sub.command("build")
def build(
    control: Path = typer.Option(..., "--control", help="territorial-control GeoJSON"),
    date: str = typer.Option(..., "--date", help="YYYY-MM-DD: the control on this date"),
    out: Path = typer.Option(..., "--out", help="directory to write the agreement to"),
    country: Path | None = typer.Option(None, "--country", help="country outline GeoJSON"),
    template: Path | None = typer.Option(None, "--template", help="TOML with parties and terms"),
    tolerance_km: float = typer.Option(
        3.0, help="outline tolerance: boundary this close is not contact line"
    ),
) -> None:
    """Derive an agreement's geometry from a control map: line, areas, buffer, bands, sectors."""
    from truceline.compliance.agreement.build import build_from_control

    day = parse_date(date, "--date")
    b = build_from_control(control, day, out, country, template, tolerance_km)
    console.print(
        f"wrote [bold]{b.path}[/bold]: control of {b.control_date}, contact line "
        f"{b.line_km:,.0f} km in {b.pieces} piece(s), held area {b.held_km2:,.0f} km², "
        f"{len(b.agreement.zones)} zones"
    )
