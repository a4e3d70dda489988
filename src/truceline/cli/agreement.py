"""``truceline agreement``: show, validate, load and build agreements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from truceline.cli._common import console, escape, parse_date, workspace
from truceline.cli._output import Col, emit_list, emit_record, format_option, wide_option

__all__ = ["register"]

sub = typer.Typer(
    help="The agreement: show, validate, load, build from a control map.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(sub, name="agreement")


_ZONE_COLS = (
    Col("id", "zone", kind="id"),
    Col("kind"),
    Col("party"),
    Col("weapon_class", "weapon class"),
    Col("band_km", "km", kind="num"),
    Col("bars", show=lambda r: ",".join(r["bars"])),
    Col("area_km2", "area km²", kind="num", show=lambda r: _num(r["area_km2"])),
    Col("length_km", "length km", kind="num", show=lambda r: _num(r["length_km"])),
)
_RULE_COLS = (
    Col("id", "rule", kind="id"),
    Col("kind"),
    Col("params", show=lambda r: _params(r["params"])),
    Col("text"),
)


def _params(params: dict[str, Any]) -> str:
    def one(v: Any) -> str:
        if isinstance(v, list | tuple):
            return ", ".join(map(one, v))
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)

    return "; ".join(f"{k}={one(v)}" for k, v in params.items())


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:,.0f}"


@sub.command("show")
def show(
    ctx: typer.Context,
    agreement_id: str | None = typer.Argument(None, metavar="[ID]"),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """Parties, zones (areas, lengths) and rules of an agreement in the workspace."""
    from truceline.service.agreement_tools import agreement_view

    a = agreement_view(workspace(ctx), agreement_id)

    def table() -> None:
        console.print(
            f"{a['id']} v{a['version']}: {a['title']}\n"
            f"in force {a['valid_from']} to {a['valid_to'] or 'open'}",
            markup=False,
            highlight=False,
        )
        emit_list(a["parties"], (Col("id", "party", kind="id"), Col("name")), "table",
                  title="parties", wide=wide)  # fmt: skip
        emit_list(a["zones"], _ZONE_COLS, "table", title="zones", wide=wide)
        emit_list(a["rules"], _RULE_COLS, "table", title="rules", wide=wide)

    emit_record(a, fmt, table)


@sub.command("validate")
def validate(path: Path = typer.Argument(..., help="agreement TOML file or its directory")) -> None:
    """Read and compile an agreement file without storing it; errors name file, key, reason."""
    from truceline.service.agreement_tools import validate_agreement_file

    a = validate_agreement_file(path)
    zones = ", ".join(f"{n} {k}" for k, n in a.zones_by_kind.items())
    console.print(
        f"[green]valid[/green]: {escape(a.id)} v{a.version}, {a.parties} parties, "
        f"zones: {escape(zones)}; {a.rules} rules"
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
        f"agreement [bold]{escape(r.agreement_id)}[/bold] v{r.version} {verb} "
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
    from truceline.service.agreement_tools import build_agreement

    day = parse_date(date, "--date")
    b = build_agreement(control, day, out, country, template, tolerance_km)
    console.print(
        f"wrote [bold]{escape(str(b.path))}[/bold]: control of {b.control_date}, contact line "
        f"{b.line_km:,.0f} km in {b.pieces} piece(s), held area {b.held_km2:,.0f} km², "
        f"{b.zones} zones"
    )
