"""``truceline check`` and ``truceline findings list|show|confirm|dismiss|reopen``."""

from __future__ import annotations

from collections.abc import Callable

import typer

from truceline.cli._common import console, err_console, escape, fmt_time, parse_time, workspace
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

findings_app = typer.Typer(help="Review findings: list, show, confirm, dismiss, reopen.")


def _day(value: str | None, what: str) -> int | None:
    return None if value is None else parse_time(value, what)


def check(
    ctx: typer.Context,
    date_from: str | None = typer.Option(None, "--from", help="first day (YYYY-MM-DD)"),
    date_to: str | None = typer.Option(None, "--to", help="day after the last (YYYY-MM-DD)"),
) -> None:
    """Check incidents and declarations against the agreement; store new findings."""
    from truceline.service.compliance import check as run

    ws = workspace(ctx)
    res = run(ws, _day(date_from, "--from"), _day(date_to, "--to"))
    rows = [{"rule_id": r, "kind": k, "new": n, "updated": u} for r, k, n, u in res.by_rule()]
    title = f"findings: {len(res.new)} new, {len(res.updated)} updated"
    emit_list(rows, _BY_RULE_COLS, "table", title=title)
    took = ", ".join(f"{k} {v:.2f} s" for k, v in res.timings.items())
    console.print(
        f"{res.incidents} incidents under {res.versions} agreement version(s); "
        f"{res.unchanged} findings unchanged, {len(res.retired)} dismissed as stale ({took})"
    )
    if res.versions == 0:
        from truceline.service.agreement_tools import has_agreement

        if not has_agreement(ws):
            err_console.print(
                "[yellow]no agreement is loaded, so nothing was checked: "
                "`truceline agreement load PATH`[/yellow]"
            )


_FINDING_TIMES = ("period_start", "period_end", "created_at", "at")
_BY_RULE_COLS = (
    Col("rule_id", "rule", kind="id"),
    Col("kind"),
    Col("new", kind="num"),
    Col("updated", kind="num"),
)
_FINDING_COLS = (
    Col("id", kind="id"),
    Col("period_start", "from", kind="time"),
    Col("rule_id", "rule", kind="id"),
    Col("party", show=lambda r: r["party"] or "-"),
    Col("severity"),
    Col("confidence", "conf", kind="num", show=lambda r: f"{r['confidence']:.2f}"),
    Col("status"),
    Col("summary"),
)


@findings_app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: str | None = typer.Option(None, help="open | confirmed | dismissed"),
    rule: str | None = typer.Option(None, help="rule id"),
    party: str | None = typer.Option(None, help="responsible party"),
    limit: int = typer.Option(200, help="at most this many"),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """List findings, oldest first."""
    from truceline.service.findings import list_findings

    rows = list_findings(workspace(ctx), status=status, rule_id=rule, party=party, limit=limit)
    records = [plain(f, _FINDING_TIMES) for f in rows]
    emit_list(records, _FINDING_COLS, fmt, title=f"{len(rows)} findings", wide=wide)


@findings_app.command("show")
def show(
    ctx: typer.Context,
    finding_id: int = typer.Argument(..., help="finding id"),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """One finding: rule, party and basis, evidence, history."""
    from truceline.service.findings import get_finding

    f = get_finding(workspace(ctx), finding_id)
    record = plain(f, _FINDING_TIMES)

    def table() -> None:
        ev = f.evidence
        lines = [
            f"finding {f.id} ({f.status}) rule {f.rule_id} [{f.rule_kind}]",
            f.summary,
            f"period {fmt_time(f.period_start)} .. {fmt_time(f.period_end)}; severity {f.severity}",
            f"confidence {f.confidence:.2f}; party {f.party or 'not determined'}",
            *([f"basis: {f.party_basis}"] if f.party_basis else []),
            f"evidence: incidents {ev.get('incidents')}, declarations "
            f"{ev.get('declarations')}, ledger {ev.get('ledger')}; "
            f"this finding's leaf {f.ledger_index}",
        ]
        for line in lines:
            console.print(line, markup=False, highlight=False)
        emit_list(record["changes"], STATUS_CHANGE_COLS, "table", title="history", wide=wide)

    emit_record(record, fmt, table)


def _status_cmd(to: str) -> Callable[..., None]:
    def cmd(
        ctx: typer.Context,
        finding_id: int = typer.Argument(..., help="finding id"),
        actor: str = typer.Option(..., "--actor", help="who decides"),
        reason: str = typer.Option(..., "--reason", help="why"),
    ) -> None:
        from truceline.service.findings import set_status

        f = set_status(workspace(ctx), finding_id, to, actor, reason)
        console.print(f"finding {f.id} is now [bold]{escape(f.status)}[/bold]")

    cmd.__doc__ = f"Mark a finding {to} (who and why are recorded in the ledger)."
    return cmd


def register(app: typer.Typer) -> None:
    """Add ``check`` and the ``findings`` sub-app to ``app``."""
    app.command("check")(check)
    for name, to in (("confirm", "confirmed"), ("dismiss", "dismissed"), ("reopen", "open")):
        findings_app.command(name)(_status_cmd(to))
    app.add_typer(findings_app, name="findings")
