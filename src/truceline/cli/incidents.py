"""``truceline incidents``: list, show, and the analyst's verify/reject/dispute/reopen."""

from __future__ import annotations

import json
from collections.abc import Callable

import typer

from truceline.cli._common import console, fmt_time, parse_time, workspace
from truceline.cli._output import (
    STATUS_CHANGE_COLS,
    Col,
    emit_list,
    emit_record,
    format_option,
    plain,
    wide_option,
)

__all__ = ["register"]

incidents_app = typer.Typer(help="Incidents: what happened, its evidence, its status history.")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(incidents_app, name="incidents")


def _fmt_actor(actor: str | None, confidence: float | None) -> str:
    return "" if actor is None else f"{actor} ({confidence or 0:.2f})"


def _fmt_side(side: dict[str, float] | None) -> str:
    return "" if not side else " ".join(f"{k}:{v:.2f}" for k, v in sorted(side.items()))


_INCIDENT_TIMES = ("t", "t_start", "t_end", "at")

_LIST_COLS = (
    Col("id", kind="id"),
    Col("t", "time", kind="time"),
    Col("kind"),
    Col("status"),
    Col("confidence", "conf", kind="num", show=lambda r: f"{r['confidence']:.2f}"),
    Col("n_groups", "groups", kind="num"),
    Col("n_observations", "obs", kind="num"),
    Col("actor", show=lambda r: _fmt_actor(r["actor"], r["actor_confidence"])),
    Col("side", show=lambda r: _fmt_side(r["side"])),
)


@incidents_app.command("list")
def list_(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status"),
    since: str | None = typer.Option(None, "--since", help="ISO time or epoch seconds"),
    until: str | None = typer.Option(None, "--until", help="ISO time or epoch seconds"),
    limit: int = typer.Option(50, "--limit"),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """Incidents, newest first."""
    from truceline.service.incidents import list_incidents

    ws = workspace(ctx)
    found = list_incidents(
        ws,
        status=status,
        limit=limit,
        since=None if since is None else parse_time(since, "--since"),
        until=None if until is None else parse_time(until, "--until"),
    )
    rows = [plain(i, _INCIDENT_TIMES) for i in found]
    emit_list(rows, _LIST_COLS, fmt, wide=wide)


_OBS_COLS = (
    Col("id", "obs", kind="id"),
    Col("t", "time", kind="time"),
    Col("source_id", "source", kind="id"),
    Col("independence_group", "group"),
    Col("kind"),
    Col("credibility", "cred", kind="num"),
    Col("actor"),
    Col("ledger_index", "ledger", kind="id"),
)


@incidents_app.command("show")
def show(
    ctx: typer.Context,
    incident_id: int = typer.Argument(...),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """An incident, its observations and its history."""
    from truceline.service.incidents import show_incident

    d = show_incident(workspace(ctx), incident_id)
    record = plain(d.incident, _INCIDENT_TIMES)
    record["observations"] = [plain(o, _INCIDENT_TIMES) for o in d.observations]
    record["history"] = [plain(h, _INCIDENT_TIMES) for h in d.history]

    def table() -> None:
        i = d.incident
        console.print(
            f"incident {i.id} {i.kind} x{i.count} {i.status}  {fmt_time(i.t)} "
            f"({fmt_time(i.t_start)} .. {fmt_time(i.t_end)})\n"
            f"  at lat {i.lat:.5f} lon {i.lon:.5f} ± {i.radius_m:.0f} m (95 %)"
            + ("" if i.ellipse is None else f" ellipse {json.dumps(i.ellipse)}")
            + f"\n  occurred: confidence {i.confidence:.2f} from {i.n_groups} independent group(s)"
            + f"\n  actor: {i.actor or 'not attributed'}"
            + ("" if i.actor is None else f" ({i.actor_confidence or 0:.2f}; {i.actor_basis})")
            + (f"\n  side: {_fmt_side(i.side)}" if i.side else "")
            + (f"\n  merged into {i.merged_into}" if i.merged_into else ""),
            highlight=False,
            markup=False,
        )
        emit_list(record["observations"], _OBS_COLS, "table", title="observations", wide=wide)
        emit_list(record["history"], STATUS_CHANGE_COLS, "table", title="history", wide=wide)

    emit_record(record, fmt, table)


@incidents_app.command("refresh")
def refresh(ctx: typer.Context) -> None:
    """Attribution, silent-sensor disputes and side of the line for fused incidents."""
    from truceline.service.verification import update_verification

    ws = workspace(ctx)
    u = update_verification(ws)
    console.print(
        f"{u.attributed} attribution(s) changed, {u.disputed} incident(s) disputed by a "
        f"silent sensor, {u.sides} side(s) of the line computed"
    )


def _act(action: str) -> Callable[..., None]:
    def command(
        ctx: typer.Context,
        incident_id: int = typer.Argument(...),
        reason: str = typer.Option(..., "--reason", help="why (stored and ledgered)"),
        actor: str = typer.Option(..., "--actor", help="who decides"),
    ) -> None:
        from truceline.service.incidents import change_status

        ws = workspace(ctx)
        c = change_status(ws, incident_id, action, reason=reason, actor=actor)
        console.print(
            f"incident {c.incident_id}: {c.from_status} -> {c.to_status} by {c.actor} "
            f"(ledger #{c.ledger_index})",
            markup=False,
            highlight=False,
        )

    command.__doc__ = f"{action.capitalize()} an incident, with a reason."
    return command


for _action in ("verify", "reject", "dispute", "reopen"):
    incidents_app.command(_action)(_act(_action))
