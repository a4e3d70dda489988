"""``truceline notify``: the deconfliction register (notify, amend, cancel, withdraw,
answer)."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import typer

from truceline.cli._common import console, fmt_time, parse_time, workspace
from truceline.cli._output import Col, emit_list, emit_record, format_option, plain, wide_option
from truceline.domain.errors import InputError, Problem

if TYPE_CHECKING:
    from truceline.service.deconfliction_replies import NotificationView

__all__ = ["register"]

notify_app = typer.Typer(help="Deconfliction register: planned activities and protected sites.")

_FOOT = "footprint JSON: {polygon: [[lon,lat],...]} | {circle: [lon,lat], radius_m} | {route: [[lon,lat],...], width_m}"  # noqa: E501


def _spec(
    activity: str,
    footprint: str,
    start: str,
    end: str | None,
    alt_min: float | None,
    alt_max: float | None,
    personnel: int | None,
    details: str | None,
) -> dict[str, Any]:
    try:
        foot = json.loads(footprint)
        extra = json.loads(details) if details else {}
    except json.JSONDecodeError as exc:
        raise InputError(
            f"--footprint/--details: not JSON ({exc.msg})",
            [Problem(f"not JSON ({exc.msg})", field="footprint")],
        ) from None
    spec: dict[str, Any] = {
        "activity": activity,
        "footprint": foot,
        "t_start": parse_time(start, "--start"),
        "details": extra,
    }
    if end is not None:
        spec["t_end"] = parse_time(end, "--end")
    for key, v in (("alt_min_m", alt_min), ("alt_max_m", alt_max), ("personnel", personnel)):
        if v is not None:
            spec[key] = v
    return spec


def _cites(cite: list[str] | None) -> dict[int, int]:
    out: dict[int, int] = {}
    for c in cite or []:
        nid, _, ver = c.partition(":")
        if not (nid.isdigit() and ver.isdigit()):
            raise InputError(f"--cite: expected ID:VERSION, got {c!r}")
        out[int(nid)] = int(ver)
    return out


def _print_submission(s: Any) -> None:
    console.print(
        f"notification {s.id} version {s.version} ({s.action}), ledger {s.ledger_index}; "
        f"{len(s.conflicts)} conflict(s); "
        f"answers awaited from {', '.join(s.answers_from) or 'none'}",
        highlight=False,
    )
    for c in s.conflicts:
        console.print(f"  {_conflict_line(c)}", highlight=False, markup=False)


def _conflict_line(c: dict[str, Any]) -> str:
    secs = "until withdrawn" if c["seconds"] is None else f"{c['seconds']} s"
    alt = "all altitudes" if c["alt_m"] is None else f"{c['alt_m']:g} m"
    return f"{c['kind']}: {c['summary']} (area {c['area_m2']:.0f} m2, time {secs}, altitude {alt})"


@notify_app.command("add")
def add(
    ctx: typer.Context,
    party: str = typer.Option(..., help="notifying party or organisation"),
    activity: str = typer.Option(
        ..., help="flight, convoy, rotation, exercise, ... or a site kind"
    ),
    footprint: str = typer.Option(..., help=_FOOT),
    start: str = typer.Option(..., help="window start (ISO 8601 or epoch s)"),
    end: str | None = typer.Option(None, help="window end (a site: omit, until withdrawn)"),
    alt_min: float | None = typer.Option(None, help="altitude band bottom (m)"),
    alt_max: float | None = typer.Option(None, help="altitude band top (m)"),
    personnel: int | None = typer.Option(None, help="personnel involved"),
    details: str | None = typer.Option(None, help="JSON of the notifier's own details (units...)"),
    cite: list[str] | None = typer.Option(None, help="ID:VERSION of a met notification (repeat)"),
) -> None:
    """Notify a planned activity or a protected site; conflicts are listed at once."""
    from truceline.service.deconfliction import notify

    spec = _spec(activity, footprint, start, end, alt_min, alt_max, personnel, details)
    _print_submission(notify(workspace(ctx), party, spec, _cites(cite)))


@notify_app.command("amend")
def amend_cmd(
    ctx: typer.Context,
    nid: int = typer.Argument(..., help="notification id"),
    party: str = typer.Option(...),
    activity: str = typer.Option(...),
    footprint: str = typer.Option(..., help=_FOOT),
    start: str = typer.Option(...),
    end: str | None = typer.Option(None),
    alt_min: float | None = typer.Option(None),
    alt_max: float | None = typer.Option(None),
    personnel: int | None = typer.Option(None),
    details: str | None = typer.Option(None),
    cite: list[str] | None = typer.Option(None, help="ID:VERSION of a met notification (repeat)"),
) -> None:
    """File a new version of an active notification."""
    from truceline.service.deconfliction import amend

    spec = _spec(activity, footprint, start, end, alt_min, alt_max, personnel, details)
    _print_submission(amend(workspace(ctx), nid, party, spec, _cites(cite)))


@notify_app.command("cancel")
def cancel_cmd(
    ctx: typer.Context,
    nid: int = typer.Argument(...),
    party: str = typer.Option(...),
    reason: str = typer.Option("", help="why"),
) -> None:
    """Cancel a planned activity (history kept)."""
    from truceline.service.deconfliction import cancel

    _print_submission(cancel(workspace(ctx), nid, party, reason))


@notify_app.command("withdraw")
def withdraw_cmd(
    ctx: typer.Context,
    nid: int = typer.Argument(...),
    party: str = typer.Option(...),
    reason: str = typer.Option("", help="why"),
) -> None:
    """Withdraw a protected site: it no longer stands (history kept)."""
    from truceline.service.deconfliction import withdraw

    _print_submission(withdraw(workspace(ctx), nid, party, reason))


@notify_app.command("list")
def list_cmd(
    ctx: typer.Context,
    as_party: str | None = typer.Option(None, "--as", help="view as this party (need to know)"),
    all_: bool = typer.Option(False, "--all", help="cancelled and withdrawn ones too"),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """The notifications, as the viewer may see them."""
    from truceline.service.deconfliction_replies import list_views

    views = list_views(workspace(ctx), as_party, None if all_ else "active")
    emit_list([_record(v) for v in views], _NOTE_COLS, fmt, wide=wide)


@notify_app.command("show")
def show(
    ctx: typer.Context,
    nid: int = typer.Argument(...),
    as_party: str | None = typer.Option(None, "--as", help="view as this party (need to know)"),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """One notification, its answers and (for its notifier) its versions; need to know
    applied."""
    from truceline.service.deconfliction_replies import view

    record = _record(view(workspace(ctx), nid, as_party))

    def table() -> None:
        emit_list([record], _NOTE_COLS, "table", wide=wide)
        emit_list(record["answers"], _ANSWER_COLS, "table", title="answers", wide=wide)
        if record["history"]:
            emit_list(record["history"], _VERSION_COLS, "table", title="versions", wide=wide)

    emit_record(record, fmt, table)


@notify_app.command("conflicts")
def conflicts_cmd(
    ctx: typer.Context,
    nid: int = typer.Argument(...),
    as_party: str | None = typer.Option(None, "--as"),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """The conflicts found for a notification."""
    from truceline.service.deconfliction_replies import conflicts

    rows = [plain(c, _TIMES) for c in conflicts(workspace(ctx), nid, as_party)]
    emit_list(rows, _CONFLICT_COLS, fmt, wide=wide)


_TIMES = ("t_start", "t_end", "sent_at", "due_at", "answered_at", "escalated_at", "at", "found_at")


def _until(r: dict[str, Any]) -> dict[str, Any]:
    """``r`` with its footprint as JSON and no end time for a site (until withdrawn)."""
    from truceline.deconfliction.volumes import FOREVER

    return {**r, "footprint": json.loads(r["footprint"]),
            "t_end": None if r["t_end"] >= FOREVER else r["t_end"]}  # fmt: skip


def _record(v: NotificationView) -> dict[str, Any]:
    """A notification as JSON-ready values: times in ISO 8601, ``t_end`` null for a
    site that stands until withdrawn, footprints as objects."""
    raw = _until({f.name: getattr(v, f.name) for f in fields(v)})
    raw["history"] = [_until(h) for h in v.history]
    out: dict[str, Any] = plain(raw, _TIMES)
    return out


_NOTE_COLS = (
    Col("id", kind="id"),
    Col("version", "v", kind="num"),
    Col("party", kind="id"),
    Col("activity"),
    Col("status"),
    Col("t_start", "from", kind="time"),
    Col("t_end", "to", kind="time", show=lambda r: r["t_end"] or "until withdrawn"),
)
_ANSWER_COLS = (
    Col("party", kind="id"),
    Col("version", "v", kind="num"),
    Col("due_at", "due", kind="time"),
    Col("answer"),
    Col("answered_at", "answered", kind="time"),
    Col("escalated_at", "escalated", kind="time"),
    Col("reason"),
)
_VERSION_COLS = (
    Col("version", "v", kind="num"),
    Col("action"),
    Col("activity"),
    Col("t_start", "from", kind="time"),
    Col("t_end", "to", kind="time", show=lambda r: r["t_end"] or "until withdrawn"),
    Col("at", kind="time"),
    Col("reason"),
    Col("ledger_index", "ledger", kind="id"),
)
_CONFLICT_COLS = (
    Col("version", "v", kind="num"),
    Col("kind"),
    Col("other_party", "with", kind="id"),
    Col("summary"),
    Col("area_m2", "area m2", kind="num", show=lambda r: f"{r['area_m2']:.0f}"),
    Col("seconds", "time s", kind="num", show=lambda r: _or(r["seconds"], "until withdrawn")),
    Col("alt_m", "altitude m", kind="num", show=lambda r: _or(r["alt_m"], "all")),
)


def _or(value: float | None, otherwise: str) -> str:
    return otherwise if value is None else f"{value:g}"


@notify_app.command("ack")
def ack(
    ctx: typer.Context,
    nid: int = typer.Argument(...),
    party: str = typer.Option(...),
    version: int | None = typer.Option(None),
) -> None:
    """Acknowledge a notification."""
    from truceline.service.deconfliction_replies import answer

    a = answer(workspace(ctx), nid, party, None, version)
    console.print(f"{a.party} {a.answer} notification {nid} version {a.version}")


@notify_app.command("object")
def object_cmd(
    ctx: typer.Context,
    nid: int = typer.Argument(...),
    party: str = typer.Option(...),
    reason: str = typer.Option(..., help="why the party objects"),
    version: int | None = typer.Option(None),
) -> None:
    """Object to a notification, with a reason."""
    from truceline.service.deconfliction_replies import answer

    a = answer(workspace(ctx), nid, party, reason, version)
    console.print(f"{a.party} {a.answer} notification {nid} version {a.version}")


@notify_app.command("escalate")
def escalate_cmd(ctx: typer.Context) -> None:
    """Escalate to the analysts every answer past its deadline."""
    from truceline.service.deconfliction_replies import escalate

    due = escalate(workspace(ctx))
    for a in due:
        console.print(f"escalated: {a.party} did not answer notification {a.notification_id} "
                      f"v{a.version} by {fmt_time(a.due_at)}")  # fmt: skip
    console.print(f"{len(due)} escalated")


@notify_app.command("hotline")
def hotline_cmd(
    ctx: typer.Context,
    caller: str | None = typer.Option(None, help="who called (omit to list the log)"),
    summary: str | None = typer.Option(None, help="what was said"),
    party: str | None = typer.Option(None),
    notification: int | None = typer.Option(None, help="the notification it was about"),
) -> None:
    """Log a hotline call, or list the log."""
    from truceline.service.deconfliction_replies import hotline, hotline_log

    ws = workspace(ctx)
    if caller is None and summary is None:
        for c in hotline_log(ws, notification):
            console.print(f"{c['id']} {fmt_time(c['at'])} {c['caller']} ({c['party'] or '-'}) "
                          f"[{c['notification_id'] or '-'}] {c['summary']}",
                          highlight=False, markup=False)  # fmt: skip
        return
    cid = hotline(ws, caller or "", summary or "", party, notification)
    console.print(f"hotline call {cid} logged")


def register(app: typer.Typer) -> None:
    """Add ``notify`` to ``app``."""
    app.add_typer(notify_app, name="notify")
