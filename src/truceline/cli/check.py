"""``truceline check`` and ``truceline findings list|show|confirm|dismiss|reopen``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import typer
from rich.table import Table

from truceline.cli._common import console, err_console, workspace
from truceline.compliance.periods import to_epoch
from truceline.service.workspace import Workspace

__all__ = ["register"]

findings_app = typer.Typer(help="Review findings: list, show, confirm, dismiss, reopen.")


def _day(value: str | None, what: str) -> int | None:
    return None if value is None else to_epoch(value, what)


def _when(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")


def check(
    ctx: typer.Context,
    date_from: str | None = typer.Option(None, "--from", help="first day (YYYY-MM-DD)"),
    date_to: str | None = typer.Option(None, "--to", help="day after the last (YYYY-MM-DD)"),
) -> None:
    """Check incidents and declarations against the agreement; store new findings."""
    from truceline.service.compliance import check as run

    ws = workspace(ctx)
    res = run(ws, _day(date_from, "--from"), _day(date_to, "--to"))
    table = Table(title=f"findings: {len(res.new)} new, {len(res.updated)} updated")
    for col in ("rule", "kind", "new", "updated"):
        table.add_column(col, justify="right" if col in ("new", "updated") else "left")
    for rule_id, kind, n_new, n_upd in res.by_rule():
        table.add_row(rule_id, kind, str(n_new), str(n_upd))
    console.print(table)
    took = ", ".join(f"{k} {v:.2f} s" for k, v in res.timings.items())
    console.print(
        f"{res.incidents} incidents under {res.versions} agreement version(s); "
        f"{res.unchanged} findings unchanged, {len(res.retired)} dismissed as stale ({took})"
    )
    if res.versions == 0 and not _has_agreement(ws):
        err_console.print(
            "[yellow]no agreement is loaded, so nothing was checked: "
            "`truceline agreement load PATH`[/yellow]"
        )


def _has_agreement(ws: Workspace) -> bool:
    from truceline.service.agreements import agreement_versions

    with ws.engine.connect() as conn:
        return bool(agreement_versions(conn))


@findings_app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: str | None = typer.Option(None, help="open | confirmed | dismissed"),
    rule: str | None = typer.Option(None, help="rule id"),
    party: str | None = typer.Option(None, help="responsible party"),
    limit: int = typer.Option(200, help="at most this many"),
) -> None:
    """List findings, oldest first."""
    from truceline.service.findings import list_findings

    rows = list_findings(workspace(ctx), status=status, rule_id=rule, party=party, limit=limit)
    table = Table(title=f"{len(rows)} findings")
    for col in ("id", "when", "rule", "party", "severity", "conf.", "status", "summary"):
        table.add_column(col)
    for f in rows:
        table.add_row(
            str(f.id), _when(f.period_start), f.rule_id, f.party or "-", f.severity,
            f"{f.confidence:.2f}", f.status, f.summary,
        )  # fmt: skip
    console.print(table)


@findings_app.command("show")
def show(ctx: typer.Context, finding_id: int = typer.Argument(..., help="finding id")) -> None:
    """One finding: rule, party and basis, evidence, history."""
    from truceline.service.findings import get_finding

    f = get_finding(workspace(ctx), finding_id)
    console.print(f"[bold]finding {f.id}[/bold] ({f.status}) rule {f.rule_id} [{f.rule_kind}]")
    console.print(f"{f.summary}", highlight=False)
    console.print(f"period {_when(f.period_start)} .. {_when(f.period_end)}; severity {f.severity}")
    console.print(f"confidence {f.confidence:.2f}; party {f.party or 'not determined'}")
    if f.party_basis:
        console.print(f"basis: {f.party_basis}", highlight=False)
    ev = f.evidence
    console.print(
        f"evidence: incidents {ev['incidents']}, declarations {ev['declarations']}, "
        f"ledger {ev['ledger']}; this finding's leaf {f.ledger_index}"
    )
    for c in f.changes:
        console.print(f"  {_when(c.at)} {c.from_status} -> {c.to_status} by {c.actor}: {c.reason}")


def _status_cmd(to: str) -> Callable[..., None]:
    def cmd(
        ctx: typer.Context,
        finding_id: int = typer.Argument(..., help="finding id"),
        actor: str = typer.Option(..., "--actor", help="who decides"),
        reason: str = typer.Option(..., "--reason", help="why"),
    ) -> None:
        from truceline.service.findings import set_status

        f = set_status(workspace(ctx), finding_id, to, actor, reason)
        console.print(f"finding {f.id} is now [bold]{f.status}[/bold]")

    cmd.__doc__ = f"Mark a finding {to} (who and why are recorded in the ledger)."
    return cmd


def register(app: typer.Typer) -> None:
    """Add ``check`` and the ``findings`` sub-app to ``app``."""
    app.command("check")(check)
    for name, to in (("confirm", "confirmed"), ("dismiss", "dismissed"), ("reopen", "open")):
        findings_app.command(name)(_status_cmd(to))
    app.add_typer(findings_app, name="findings")
