"""``truceline sources``: register, grade, list and show sources; declare coverage."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from pathlib import Path

import typer

from truceline.cli._common import console, escape, fmt_time, parse_time, workspace
from truceline.cli._output import Col, emit_list, emit_record, format_option, plain, wide_option
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
        f"source [bold]{escape(s.id)}[/bold] ({escape(s.type)}) registered: "
        f"group {escape(s.independence_group)}, "
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
    console.print(
        f"source [bold]{escape(s.id)}[/bold] updated: group {escape(s.independence_group)}"
    )


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
        f"source [bold]{escape(g.source_id)}[/bold] graded {g.reliability} "
        f"from {fmt_time(g.valid_from)}"
        f" (ledger #{g.ledger_index})"
    )


_SOURCE_TIMES = ("created_at", "valid_from", "t_start", "t_end")
_SOURCE_COLS = (
    Col("id", kind="id"),
    Col("type"),
    Col("name"),
    Col("party"),
    Col("independence_group", "group"),
    Col("reliability", "grade"),
    Col("signature_policy", "signatures"),
    Col("public_key", "key", show=lambda r: "yes" if r["public_key"] else ""),
)
_GRADE_COLS = (
    Col("valid_from", "from", kind="time"),
    Col("reliability", "grade"),
    Col("actor"),
    Col("reason"),
    Col("ledger_index", "ledger", kind="id"),
)
_COVERAGE_COLS = (
    Col("id", kind="id"),
    Col("kind"),
    Col("t_start", "from", kind="time"),
    Col("t_end", "to", kind="time"),
    Col("geometry", "area", show=lambda r: str((r["geometry"] or {}).get("type", ""))),
    Col("note"),
)


@sources_app.command("list")
def list_(ctx: typer.Context, fmt: str = format_option(), wide: bool = wide_option()) -> None:
    """Every source with the grade in force now."""
    from truceline.service.sources import list_sources

    rows = [plain(s, _SOURCE_TIMES) for s in list_sources(workspace(ctx))]
    emit_list(rows, _SOURCE_COLS, fmt, wide=wide)


@sources_app.command("show")
def show(
    ctx: typer.Context,
    source_id: str = typer.Argument(...),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """A source, its grade history and its coverage."""
    from truceline.service.sources import show_source

    d = show_source(workspace(ctx), source_id)
    record = plain(d.source, _SOURCE_TIMES)
    record["grades"] = [plain(g, _SOURCE_TIMES) for g in d.grades]
    record["coverage"] = [plain(c, _SOURCE_TIMES) for c in d.coverage]

    def table() -> None:
        s = d.source
        console.print(
            f"{s.id} {s.type} {s.name!r} party={s.party or '-'} "
            f"group={s.independence_group} signatures={s.signature_policy} "
            f"key={s.public_key or '-'} grade now={s.reliability}",
            markup=False,
            highlight=False,
        )
        emit_list(record["grades"], _GRADE_COLS, "table", title="grades", wide=wide)
        emit_list(record["coverage"], _COVERAGE_COLS, "table", title="coverage", wide=wide)

    emit_record(record, fmt, table)


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
    from truceline.service.coverage import add_coverage_windows, coverage_windows

    gj = None
    if geometry is not None:
        try:
            gj = json.loads(geometry.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{geometry}: cannot read GeoJSON ({exc})") from exc
    t0, t1 = parse_time(start, "--from"), parse_time(end, "--to")
    windows = coverage_windows(t0, t1, None if hours is None else _hours(hours))
    ws = workspace(ctx)
    out = add_coverage_windows(
        ws, source_id, kind, windows, gj, buffer_m=buffer_m, note=note, actor=actor
    )
    console.print(
        f"{len(out)} coverage record(s) ({kind}) of {source_id} recorded, ledger "
        f"#{out[0].ledger_index}..#{out[-1].ledger_index}",
        markup=False,
        highlight=False,
    )


@coverage_app.command("summary")
def coverage_summary(
    ctx: typer.Context,
    start: str = typer.Option(..., "--from", help="ISO time or epoch seconds"),
    end: str = typer.Option(..., "--to", help="ISO time or epoch seconds"),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """Share of each sector's area x period that some source could observe."""
    from truceline.service.coverage import sector_coverage

    fr = sector_coverage(workspace(ctx), parse_time(start, "--from"), parse_time(end, "--to"))
    rows = [
        {"sector": sid, "observed": round(f, 6),
         "note": "nobody could see: silence here is not calm" if f == 0 else ""}
        for sid, f in sorted(fr.items())
    ]  # fmt: skip
    cols = (
        Col("sector", kind="id"),
        Col("observed", kind="num", show=lambda r: f"{100 * r['observed']:.1f} %"),
        Col("note"),
    )
    emit_list(rows, cols, fmt, wide=wide)
