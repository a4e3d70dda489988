"""Helpers shared by the command modules: consoles and opening the workspace."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import typer
from rich.console import Console

from truceline.domain.errors import InputError
from truceline.service.workspace import Workspace, open_workspace

__all__ = ["console", "err_console", "fmt_time", "parse_date", "parse_time", "workspace"]

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


def parse_date(text: str, option: str) -> date:
    """A ``YYYY-MM-DD`` option value, or an ``InputError`` naming the option."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option}: expected YYYY-MM-DD, got {text!r}") from None


def parse_time(value: str, option: str) -> int:
    """Epoch seconds from ISO 8601 (a date, or a date and time; UTC unless an offset
    is given) or from an integer of epoch seconds."""
    v = value.strip()
    if v.lstrip("-").isdigit():
        return int(v)
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{option}: {value!r} is not an ISO 8601 time or epoch seconds") from exc
    return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())


def fmt_time(t: int | None) -> str:
    """An epoch time as ``YYYY-MM-DD HH:MM:SSZ`` (empty for none)."""
    return "" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
