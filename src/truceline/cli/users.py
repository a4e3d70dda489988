"""``truceline users``: who may call the HTTP API, in which role."""

from __future__ import annotations

import typer

from truceline.cli._common import console, err_console, workspace
from truceline.cli._output import Col, emit_list, format_option, plain, wide_option

__all__ = ["register"]

users_app = typer.Typer(help="API users: roles and tokens (a token is shown once).")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(users_app, name="users")


@users_app.command("add")
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="the user's name (no spaces)"),
    role: str = typer.Option(..., "--role", help="monitor|sensor|analyst|party|guarantor|public"),
    party: str | None = typer.Option(None, "--party", help="for a party liaison: its party"),
    source: str | None = typer.Option(
        None, "--source", help="for a monitor or sensor: the registered source it submits as"
    ),
) -> None:
    """Add a user and print its API token once (only its hash is stored)."""
    from truceline.service.users import add_user

    issued = add_user(workspace(ctx), name, role, party, source)
    u = issued.user
    err_console.print(
        f"user {u.name} ({u.role.value}"
        f"{', party ' + u.party if u.party else ''}"
        f"{', source ' + u.source if u.source else ''}) added; "
        "its token follows, shown this once:",
        highlight=False,
        markup=False,
    )
    typer.echo(issued.token)


@users_app.command("list")
def list_(ctx: typer.Context, fmt: str = format_option(), wide: bool = wide_option()) -> None:
    """List users (never their tokens)."""
    from truceline.service.users import list_users

    rows = [plain(u, ("created_at", "revoked_at")) for u in list_users(workspace(ctx))]
    emit_list(rows, _USER_COLS, fmt, wide=wide)


_USER_COLS = (
    Col("name", kind="id"),
    Col("role"),
    Col("party", kind="id"),
    Col("source", kind="id"),
    Col("created_at", "created", kind="time"),
    Col("revoked_at", "revoked", kind="time"),
)


@users_app.command("revoke")
def revoke(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Revoke a user's token (refused by a running server within seconds)."""
    from truceline.service.users import revoke_user

    revoke_user(workspace(ctx), name)
    console.print(f"user {name} revoked", highlight=False, markup=False)
