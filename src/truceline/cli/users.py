"""``truceline users``: who may call the HTTP API, in which role."""

from __future__ import annotations

import typer
from rich.table import Table

from truceline.cli._common import console, err_console, fmt_time, workspace

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
def list_(ctx: typer.Context) -> None:
    """List users (never their tokens)."""
    from truceline.service.users import list_users

    table = Table("name", "role", "party", "source", "created", "revoked")
    for u in list_users(workspace(ctx)):
        created, revoked = fmt_time(u.created_at), fmt_time(u.revoked_at)
        table.add_row(u.name, u.role, u.party or "", u.source or "", created, revoked)
    console.print(table)


@users_app.command("revoke")
def revoke(ctx: typer.Context, name: str = typer.Argument(...)) -> None:
    """Revoke a user's token (refused by a running server within seconds)."""
    from truceline.service.users import revoke_user

    revoke_user(workspace(ctx), name)
    console.print(f"user {name} revoked", highlight=False, markup=False)
