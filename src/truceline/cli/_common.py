"""Helpers shared by the command modules: consoles, opening the workspace, times,
and the guard on output paths.

Kept light on purpose: importing it must not pull in the store (SQLAlchemy,
Alembic) or any numeric library, so ``truceline --help`` starts in a blink.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from truceline import startup
from truceline.domain.errors import InputError

if TYPE_CHECKING:
    from truceline.service.workspace import Workspace

__all__ = [
    "configure_consoles",
    "console",
    "err_console",
    "escape",
    "fmt_time",
    "guard_folder",
    "guard_output",
    "parse_date",
    "parse_time",
    "workspace",
]

console = Console()
err_console = Console(stderr=True)


def configure_consoles() -> None:
    """Messages are not wrapped when they do not go to a terminal (a pipe, a file,
    a test runner): a line of output stays one line whatever the width."""
    for c in (console, err_console):
        c.soft_wrap = not c.is_terminal


def workspace(ctx: typer.Context, cwd: Path | None = None) -> Workspace:
    """The workspace named by ``--db`` or found from the current directory.

    Its connections are closed when the command's context closes.
    """
    from truceline.service.workspace import open_workspace

    db = (ctx.find_root().obj or {}).get("db")
    ws = open_workspace(db, cwd=cwd)
    ctx.call_on_close(ws.engine.dispose)
    startup.started()  # the command's own work begins
    return ws


def guard_output(ctx: typer.Context | None, path: Path, *, force: bool, option: str) -> Path:
    """``path``, checked before a command writes to it: never the workspace's own
    database (or its WAL and journal files), never a device or other special file,
    and never an existing file unless ``force`` (``--force``)."""
    target = path.expanduser()
    resolved = target.resolve()
    if resolved in _store_files(ctx):
        raise InputError(f"{option} {path}: that is the workspace's database; choose another file")
    if target.exists() or target.is_symlink():
        if not target.is_file() or target.is_symlink() and not resolved.is_file():
            raise InputError(f"{option} {path}: not a regular file; choose another path")
        if not force:
            raise InputError(f"{option} {path}: the file exists (give --force to overwrite it)")
    return target


def guard_folder(path: Path, option: str) -> Path:
    """``path`` as a folder to write files into: refused when it is an existing file."""
    target = path.expanduser()
    if target.exists() and not target.is_dir():
        raise InputError(f"{option} {path}: a file, not a folder; choose a folder")
    return target


def _store_files(ctx: typer.Context | None) -> set[Path]:
    """The files of the workspace this command would use: its settings file and,
    for SQLite, the database with its WAL, shared-memory and journal files."""
    from truceline.service.workspace import WORKSPACE_FILE, find_workspace, workspace_settings

    url = None if ctx is None else (ctx.find_root().obj or {}).get("db")
    root = find_workspace(Path.cwd().resolve())
    files = set() if root is None else {(root / WORKSPACE_FILE).resolve()}
    if url is None and root is not None:
        url = workspace_settings(root).database_url
    return files | (set() if url is None else _sqlite_files(url))


def _sqlite_files(url: str) -> set[Path]:
    prefix = url.split("///", 1)
    if not url.startswith("sqlite") or len(prefix) != 2 or ":memory:" in url:
        return set()
    db = Path(prefix[1].split("?", 1)[0]).resolve()
    return {db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm"),
            db.with_name(db.name + "-journal")}  # fmt: skip


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


def fmt_time(t: int | float | None) -> str:
    """An epoch time as ISO 8601 UTC, ``YYYY-MM-DDTHH:MM:SSZ`` (empty for none)."""
    if t is None:
        return ""
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"{t} (epoch s)"
