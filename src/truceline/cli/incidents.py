"""``truceline incidents``: list, show, and the analyst's verify/reject/dispute/reopen."""

from __future__ import annotations

import json
from collections.abc import Callable

import typer
from rich.table import Table

from truceline.cli._common import console, fmt_time, parse_time, workspace

__all__ = ["register"]

incidents_app = typer.Typer(help="Incidents: what happened, its evidence, its status history.")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(incidents_app, name="incidents")


def _fmt_side(side: dict[str, float] | None) -> str:
    return "" if not side else " ".join(f"{k}:{v:.2f}" for k, v in sorted(side.items()))


@incidents_app.command("list")
def list_(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status"),
    since: str | None = typer.Option(None, "--since", help="ISO time or epoch seconds"),
    until: str | None = typer.Option(None, "--until", help="ISO time or epoch seconds"),
    limit: int = typer.Option(50, "--limit"),
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
    table = Table("id", "time", "kind", "status", "conf", "groups", "obs", "actor", "side")
    for i in found:
        actor = "" if i.actor is None else f"{i.actor} ({i.actor_confidence or 0:.2f})"
        table.add_row(
            str(i.id),
            fmt_time(i.t),
            i.kind,
            i.status,
            f"{i.confidence:.2f}",
            str(i.n_groups),
            str(i.n_observations),
            actor,
            _fmt_side(i.side),
        )
    console.print(table)


@incidents_app.command("show")
def show(ctx: typer.Context, incident_id: int = typer.Argument(...)) -> None:
    """An incident, its observations and its history."""
    from truceline.service.incidents import show_incident

    ws = workspace(ctx)
    d = show_incident(ws, incident_id)
    i = d.incident
    console.print(
        f"[bold]incident {i.id}[/bold] {i.kind} x{i.count} {i.status}  {fmt_time(i.t)} "
        f"({fmt_time(i.t_start)} .. {fmt_time(i.t_end)})\n"
        f"  at lat {i.lat:.5f} lon {i.lon:.5f} ± {i.radius_m:.0f} m (95 %)"
        + ("" if i.ellipse is None else f" ellipse {json.dumps(i.ellipse)}")
        + f"\n  occurred: confidence {i.confidence:.2f} from {i.n_groups} independent group(s)"
        + f"\n  actor: {i.actor or 'not attributed'}"
        + ("" if i.actor is None else f" ({i.actor_confidence or 0:.2f}; {i.actor_basis})")
        + (f"\n  side: {_fmt_side(i.side)}" if i.side else "")
        + (f"\n  merged into {i.merged_into}" if i.merged_into else ""),
        highlight=False,
    )
    obs = Table(
        "obs", "time", "source", "group", "kind", "cred", "actor", "ledger", title="observations"
    )
    for o in d.observations:
        obs.add_row(
            str(o["id"]),
            fmt_time(o["t"]),
            o["source_id"],
            o["independence_group"],
            o["kind"],
            str(o["credibility"]),
            o["actor"] or "",
            str(o["ledger_index"]),
        )
    console.print(obs)
    hist = Table("at", "from", "to", "actor", "reason", "ledger", title="history")
    for h in d.history:
        hist.add_row(
            fmt_time(h.at), h.from_status or "", h.to_status, h.actor, h.reason, str(h.ledger_index)
        )
    console.print(hist)


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
            f"(ledger #{c.ledger_index})"
        )

    command.__doc__ = f"{action.capitalize()} an incident, with a reason."
    return command


for _action in ("verify", "reject", "dispute", "reopen"):
    incidents_app.command(_action)(_act(_action))
