"""``truceline init``: create a workspace and load its agreement."""

from __future__ import annotations

from pathlib import Path

import typer

from truceline.cli._common import console, escape

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``init`` to ``app``."""
    app.command("init")(init)


def init(
    ctx: typer.Context,
    directory: Path = typer.Argument(Path("."), help="workspace directory (created if absent)"),
    agreement: Path | None = typer.Option(
        None, "--agreement", "-a", help="agreement TOML file (or its directory) to load"
    ),
) -> None:
    """Create a workspace: the store (migrated to the newest schema) and the agreement."""
    from truceline.service.workspace import create_workspace

    db = (ctx.find_root().obj or {}).get("db")
    ws = create_workspace(directory, db)
    console.print(f"workspace [bold]{escape(str(directory))}[/bold] ready, store {escape(ws.url)}")
    if agreement is not None:
        from truceline.service.agreements import load_agreement

        loaded = load_agreement(ws, agreement)
        console.print(
            f"agreement [bold]{escape(loaded.agreement_id)}[/bold] v{loaded.version} loaded "
            f"(sha256 {loaded.sha256[:12]}…)"
        )
