"""``truceline alerts`` and ``truceline forecast``: early warnings per reporting
sector, administrative region or kind."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from truceline.cli._common import console, parse_date, workspace
from truceline.cli._output import Col, emit_list, format_option, iso, plain, wide_option

if TYPE_CHECKING:
    from truceline.warning.regions import Regions

__all__ = ["register"]

alerts_app = typer.Typer(help="Early-warning alerts: run, list, subscribe, deliver.")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(alerts_app, name="alerts")
    app.command("forecast")(forecast)


def forecast(
    ctx: typer.Context,
    day: str | None = typer.Option(None, "--day", help="local day, YYYY-MM-DD (default today)"),
    tz: str = typer.Option("Europe/Kyiv", "--tz", help="time zone of the local days"),
    status: str = typer.Option("reported,corroborated,verified", "--status"),
    kind: str | None = typer.Option(None, "--kind", help="comma-separated incident kinds"),
    unit: str = typer.Option("sector", "--unit", help="sector, adm1, kind or adm1-kind"),
    regions: Path | None = typer.Option(
        None, "--regions", help="GeoJSON of administrative regions (--unit adm1)"
    ),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """Each unit's forecast of the next 7 days: total, 90 % interval, P(escalation)."""
    from truceline.service.alerts import forecast_sectors

    found = forecast_sectors(
        workspace(ctx),
        _day(day).date(),
        tz=tz,
        statuses=_csv(status),
        kinds=_csv(kind),
        unit=unit,
        regions=_regions(regions),
    )
    emit_list([plain(f) for f in found], _forecast_cols(unit), fmt, wide=wide)


def _forecast_cols(unit: str) -> tuple[Col, ...]:
    return (
        Col("unit", unit, kind="id"),
        Col("mean", "7-day mean", kind="num", show=lambda r: f"{r['mean']:.1f}"),
        Col("low", "90 % from", kind="num", show=lambda r: f"{r['low']:.0f}"),
        Col("high", "to", kind="num", show=lambda r: f"{r['high']:.0f}"),
        Col("baseline", kind="num", show=lambda r: f"{r['baseline']:.1f}"),
        Col("escalation", "P(escalation)", kind="num", show=lambda r: f"{r['escalation']:.2f}"),
        Col("drivers", show=lambda r: ", ".join(f"{k} {v:+.2f}" for k, v in r["drivers"])),
    )


def _day(value: str | None) -> datetime:
    d = datetime.now(UTC).date() if value is None else parse_date(value, "--day")
    return datetime.combine(d, datetime.min.time(), UTC)


def _regions(path: Path | None) -> Regions | None:
    from truceline.warning.regions import read_regions

    return None if path is None else read_regions(path)


def _csv(value: str | None) -> tuple[str, ...]:
    return () if not value else tuple(v.strip() for v in value.split(",") if v.strip())


@alerts_app.command("run")
def run(
    ctx: typer.Context,
    day: str | None = typer.Option(None, "--day", help="local day, YYYY-MM-DD (default today)"),
    tz: str = typer.Option("Europe/Kyiv", "--tz", help="time zone of the local days"),
    status: str = typer.Option("reported,corroborated,verified", "--status"),
    kind: str | None = typer.Option(None, "--kind", help="comma-separated incident kinds"),
    min_probability: float = typer.Option(0.5, "--min-probability"),
    unit: str = typer.Option("sector", "--unit", help="sector, adm1, kind or adm1-kind"),
    regions: Path | None = typer.Option(
        None, "--regions", help="GeoJSON of administrative regions (--unit adm1)"
    ),
) -> None:
    """Raise the day's alerts per unit, store and log them, push them to subscribers."""
    from truceline.service.alerts import run_alerts
    from truceline.service.webhooks import WebhookSink

    s = run_alerts(
        workspace(ctx),
        _day(day).date(),
        WebhookSink(),
        tz=tz,
        statuses=_csv(status),
        kinds=_csv(kind),
        min_probability=min_probability,
        unit=unit,
        regions=_regions(regions),
    )
    for a in s.alerts:
        console.print(
            f"{a.kind} {a.unit} {a.window_start}..{a.window_end} score {a.score:.4f} "
            f"baseline {a.baseline:.1f} observed {list(a.observed)}",
            highlight=False,
        )
    console.print(
        f"{len(s.alerts)} new alert(s); {s.pushed} pushed, {s.held} held, {s.dead} dead",
        highlight=False,
    )


_ALERT_COLS = (
    Col("id", kind="id"),
    Col("day", kind="id"),
    Col("unit"),
    Col("kind"),
    Col("score", kind="num", show=lambda r: f"{r['score']:.4f}"),
    Col("baseline", kind="num", show=lambda r: f"{r['baseline']:.1f}"),
    Col("ledger_index", "ledger", kind="id"),
)


@alerts_app.command("list")
def list_(
    ctx: typer.Context,
    since: str | None = typer.Option(None, "--since", help="first day, YYYY-MM-DD"),
    unit: str | None = typer.Option(None, "--unit"),
    limit: int = typer.Option(50, "--limit"),
    fmt: str = format_option(),
    wide: bool = wide_option(),
) -> None:
    """Stored alerts, newest first."""
    from truceline.service.alerts import list_alerts

    first = None if since is None else parse_date(since, "--since")
    rows = [
        {"id": a.id, "ledger_index": a.ledger_index, "created_at": iso(a.created_at), **a.record}
        for a in list_alerts(workspace(ctx), first, unit, limit)
    ]
    emit_list(rows, _ALERT_COLS, fmt, wide=wide)


@alerts_app.command("subscribe")
def subscribe(
    ctx: typer.Context,
    subscriber: str = typer.Argument(..., help="who is told (a name)"),
    url: str = typer.Option(..., "--url", help="webhook receiving signed POSTs"),
    secret_env: str = typer.Option(
        ..., "--secret-env", help="environment variable with the secret"
    ),
    units: str | None = typer.Option(None, "--units", help="comma-separated (default all)"),
    kinds: str = typer.Option("surge,escalation", "--kinds"),
    min_probability: float = typer.Option(0.5, "--min-probability"),
    cooldown_hours: float = typer.Option(24.0, "--cooldown-hours"),
    quiet: str | None = typer.Option(None, "--quiet", help="quiet hours START-END, e.g. 22-7"),
    tz: str = typer.Option("Europe/Kyiv", "--tz"),
) -> None:
    """Subscribe a webhook to alerts under a policy."""
    import os

    from truceline.domain.errors import InputError
    from truceline.service.alerts import Policy
    from truceline.service.alerts import subscribe as do

    secret = os.environ.get(secret_env)
    if not secret:
        raise InputError(f"--secret-env: environment variable {secret_env} is not set")
    qs = qe = None
    if quiet:
        try:
            qs, qe = (int(x) for x in quiet.split("-"))
        except ValueError:
            raise InputError(f"--quiet: expected START-END hours, got {quiet!r}") from None
    policy = Policy(
        subscriber, _csv(units), _csv(kinds), min_probability, cooldown_hours, qs, qe, tz
    )
    sub_id = do(workspace(ctx), url, secret, policy)
    console.print(f"subscription {sub_id} for {subscriber}", highlight=False)


@alerts_app.command("unsubscribe")
def unsubscribe(ctx: typer.Context, sub_id: int = typer.Argument(...)) -> None:
    """Revoke a subscription."""
    from truceline.service.alerts import unsubscribe as do

    do(workspace(ctx), sub_id)
    console.print(f"subscription {sub_id} revoked", highlight=False)


_SUB_COLS = (
    Col("id", kind="id"),
    Col("subscriber"),
    Col("url"),
    Col("units", show=lambda r: ",".join(r["units"]) or "all"),
    Col("kinds", show=lambda r: ",".join(r["kinds"])),
    Col("min_probability", "min p", kind="num"),
    Col("cooldown_hours", "cooldown h", kind="num"),
    Col(
        "quiet",
        show=lambda r: (
            "" if r["quiet_start"] is None else f"{r['quiet_start']}-{r['quiet_end']} {r['tz']}"
        ),
    ),
)
_DEAD_COLS = (
    Col("id", "delivery", kind="id"),
    Col("alert_id", "alert", kind="id"),
    Col("subscription_id", "subscription", kind="id"),
    Col("attempts", kind="num"),
    Col("last_error", "error"),
)


@alerts_app.command("subscriptions")
def subscriptions(
    ctx: typer.Context, fmt: str = format_option(), wide: bool = wide_option()
) -> None:
    """Active subscriptions (secrets are never shown)."""
    from dataclasses import asdict

    from truceline.service.alerts import subscriptions as do

    rows = [{"id": sid, "url": url, **asdict(p)} for sid, _, url, p in do(workspace(ctx))]
    emit_list(rows, _SUB_COLS, fmt, wide=wide)


@alerts_app.command("dead")
def dead(ctx: typer.Context, fmt: str = format_option(), wide: bool = wide_option()) -> None:
    """The dead-letter list: deliveries given up after the last retry."""
    from dataclasses import asdict

    from truceline.service.alerts import dead_letters

    rows = [{**asdict(d), "updated_at": iso(d.updated_at)} for d in dead_letters(workspace(ctx))]
    emit_list(rows, _DEAD_COLS, fmt, wide=wide)


@alerts_app.command("deliver")
def deliver(ctx: typer.Context) -> None:
    """Push pending deliveries and those held for quiet hours that are now over."""
    from truceline.service.alerts import deliver as do
    from truceline.service.webhooks import WebhookSink

    ok, dead_ = do(workspace(ctx), WebhookSink())
    console.print(f"{ok} delivered, {dead_} dead", highlight=False)
