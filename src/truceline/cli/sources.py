"""``truceline sources``: register, grade, list and show sources; declare coverage."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from truceline.cli._common import console, fmt_time, parse_time, workspace
from truceline.domain.errors import InputError

__all__ = ["register"]

sources_app = typer.Typer(help="The source registry: types, grades, independence, coverage.")
coverage_app = typer.Typer(help="What a source could observe, and when.")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    sources_app.add_typer(coverage_app, name="coverage")
    app.add_typer(sources_app, name="sources")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "analyst"


@sources_app.command("add")
def add(
    ctx: typer.Context,
    source_id: str = typer.Argument(..., help="the source's id, as its reports carry it"),
    type_: str = typer.Option(..., "--type", help="monitor|camera|acoustic|uav|party|osint"),
    name: str | None = typer.Option(None, "--name"),
    party: str | None = typer.Option(None, "--party", help="party a party's channel speaks for"),
    group: str | None = typer.Option(None, "--group", help="independence group (default: own)"),
    signature: str | None = typer.Option(None, "--signature", help="required|optional"),
    public_key: str | None = typer.Option(None, "--public-key", help="base64 or PEM file"),
    grade: str = typer.Option("F", "--grade", help="Admiralty reliability A-F"),
    valid_from: str = typer.Option("0", "--from", help="grade in force from (ISO or epoch)"),
    actor: str = typer.Option(_user(), "--actor"),
    reason: str = typer.Option("registered", "--reason"),
) -> None:
    """Register a source."""
    from truceline.service.sources import register_source

    ws = workspace(ctx)
    s = register_source(
        ws,
        source_id,
        type_,
        name=name,
        party=party,
        group=group,
        signature_policy=signature,
        public_key=public_key,
        reliability=grade,
        valid_from=parse_time(valid_from, "--from"),
        actor=actor,
        reason=reason,
    )
    console.print(
        f"source [bold]{s.id}[/bold] ({s.type}) registered: group {s.independence_group}, "
        f"grade {s.reliability}, signatures {s.signature_policy}, ledger #{s.ledger_index}"
    )


@sources_app.command("set")
def set_(
    ctx: typer.Context,
    source_id: str = typer.Argument(...),
    name: str | None = typer.Option(None, "--name"),
    party: str | None = typer.Option(None, "--party"),
    group: str | None = typer.Option(None, "--group"),
    signature: str | None = typer.Option(None, "--signature"),
    public_key: str | None = typer.Option(None, "--public-key"),
    actor: str = typer.Option(_user(), "--actor"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Change a source's name, party, independence group, signature policy or key."""
    from truceline.service.sources import update_source

    ws = workspace(ctx)
    s = update_source(
        ws,
        source_id,
        name=name,
        party=party,
        group=group,
        signature_policy=signature,
        public_key=public_key,
        actor=actor,
        reason=reason,
    )
    console.print(f"source [bold]{s.id}[/bold] updated: group {s.independence_group}")


@sources_app.command("grade")
def grade(
    ctx: typer.Context,
    source_id: str = typer.Argument(...),
    reliability: str = typer.Argument(..., help="Admiralty reliability A-F"),
    valid_from: str | None = typer.Option(None, "--from", help="in force from (default now)"),
    actor: str = typer.Option(_user(), "--actor"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Grade a source from a time on; earlier grades stay in force before it."""
    from truceline.service.sources import grade_source

    vf = None if valid_from is None else parse_time(valid_from, "--from")
    ws = workspace(ctx)
    g = grade_source(ws, source_id, reliability, valid_from=vf, actor=actor, reason=reason)
    console.print(
        f"source [bold]{g.source_id}[/bold] graded {g.reliability} from {fmt_time(g.valid_from)}"
        f" (ledger #{g.ledger_index})"
    )


@sources_app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every source with the grade in force now."""
    from truceline.service.sources import list_sources

    table = Table("id", "type", "name", "party", "group", "grade", "signatures", "key")
    ws = workspace(ctx)
    found = list_sources(ws)
    for s in found:
        table.add_row(
            s.id,
            s.type,
            s.name,
            s.party or "",
            s.independence_group,
            s.reliability,
            s.signature_policy,
            "yes" if s.public_key else "",
        )
    console.print(table)


@sources_app.command("show")
def show(ctx: typer.Context, source_id: str = typer.Argument(...)) -> None:
    """A source, its grade history and its coverage."""
    from truceline.service.sources import show_source

    ws = workspace(ctx)
    d = show_source(ws, source_id)
    s = d.source
    console.print(
        f"[bold]{s.id}[/bold] {s.type} {s.name!r} party={s.party or '-'} "
        f"group={s.independence_group} signatures={s.signature_policy} "
        f"key={s.public_key or '-'} grade now={s.reliability}"
    )
    grades = Table("from", "grade", "actor", "reason", "ledger", title="grades")
    for g in d.grades:
        grades.add_row(
            fmt_time(g.valid_from), g.reliability, g.actor, g.reason, str(g.ledger_index)
        )
    console.print(grades)
    cov = Table("id", "kind", "from", "to", "area", "note", title="coverage")
    for c in d.coverage:
        area = "" if c.geometry is None else str(c.geometry.get("type"))
        cov.add_row(str(c.id), c.kind, fmt_time(c.t_start), fmt_time(c.t_end), area, c.note or "")
    console.print(cov)


def _hours(value: str) -> tuple[int, int]:
    try:
        a, b = (datetime.strptime(v.strip(), "%H:%M") for v in value.split("-"))
    except ValueError as exc:
        raise InputError(f"--hours: {value!r} is not HH:MM-HH:MM") from exc
    return a.hour * 3600 + a.minute * 60, b.hour * 3600 + b.minute * 60


@coverage_app.command("add")
def coverage_add(
    ctx: typer.Context,
    source_id: str = typer.Argument(...),
    kind: str = typer.Option("observed", "--kind", help="observed|outage|denied"),
    start: str = typer.Option(..., "--from", help="ISO time or epoch seconds"),
    end: str = typer.Option(..., "--to", help="ISO time or epoch seconds"),
    geometry: Path | None = typer.Option(None, "--geometry", help="GeoJSON file (lon/lat)"),
    buffer_m: float | None = typer.Option(None, "--buffer", help="buffer a route/point, m"),
    hours: str | None = typer.Option(None, "--hours", help="daily hours, UTC: 06:00-18:00"),
    note: str | None = typer.Option(None, "--note"),
    actor: str = typer.Option(_user(), "--actor"),
) -> None:
    """Declare a field of view, a patrol route, an outage or a denied movement."""
    from truceline.fusion.coverage import daily_windows
    from truceline.service.coverage import add_coverage_windows

    gj = None
    if geometry is not None:
        try:
            gj = json.loads(geometry.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{geometry}: cannot read GeoJSON ({exc})") from exc
    t0, t1 = parse_time(start, "--from"), parse_time(end, "--to")
    windows = [(t0, t1)] if hours is None else daily_windows(t0, t1, *_hours(hours))
    ws = workspace(ctx)
    out = add_coverage_windows(
        ws, source_id, kind, windows, gj, buffer_m=buffer_m, note=note, actor=actor
    )
    console.print(
        f"{len(out)} coverage record(s) ({kind}) of {source_id} recorded, ledger "
        f"#{out[0].ledger_index}..#{out[-1].ledger_index}"
    )


@coverage_app.command("summary")
def coverage_summary(
    ctx: typer.Context,
    start: str = typer.Option(..., "--from", help="ISO time or epoch seconds"),
    end: str = typer.Option(..., "--to", help="ISO time or epoch seconds"),
) -> None:
    """Share of each sector's area x period that some source could observe."""
    from truceline.service.coverage import sector_coverage

    ws = workspace(ctx)
    fr = sector_coverage(ws, parse_time(start, "--from"), parse_time(end, "--to"))
    table = Table("sector", "observed", "note")
    for sid, f in sorted(fr.items()):
        note = "nobody could see: silence here is not calm" if f == 0 else ""
        table.add_row(sid, f"{100 * f:.1f} %", note)
    console.print(table)
