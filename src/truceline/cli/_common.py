"""Helpers shared by the command modules: consoles and opening the workspace."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from truceline.service.workspace import Workspace, open_workspace

__all__ = ["console", "err_console", "workspace"]

console = Console()
err_console = Console(stderr=True)


def workspace(ctx: typer.Context, cwd: Path | None = None) -> Workspace:
    """The workspace named by ``--db`` or found from the current directory.

    Its connections are closed when the command's context closes.
    """
    db = (ctx.find_root().obj or {}).get("db")
    ws = open_workspace(db, cwd=cwd)
    ctx.call_on_close(ws.engine.dispose)
    return ws
