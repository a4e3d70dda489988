"""``truceline backup OUT`` and ``truceline restore IN --to DIR``."""

from __future__ import annotations

from pathlib import Path

import typer

from truceline.cli._common import console, err_console, guard_output, workspace
from truceline.cli._output import Col, emit_list

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to ``app``."""
    app.command("backup")(backup)
    app.command("restore")(restore)


def backup(
    ctx: typer.Context,
    out: Path = typer.Argument(..., help="the backup file to write"),
    force: bool = typer.Option(False, "--force", help="overwrite OUT if it exists"),
) -> None:
    """Copy the store to OUT while it is in use (SQLite: online backup; PostgreSQL: pg_dump)."""
    from truceline.service.backup import backup as run

    target = guard_output(ctx, out, force=force, option="OUT")
    r = run(workspace(ctx), target)
    console.print(
        f"backup {r.path} written ({r.kind}, {r.bytes:,} bytes): "
        f"{sum(r.counts.values()):,} rows in {len(r.counts)} tables",
        markup=False,
        highlight=False,
    )


def restore(
    backup_file: Path = typer.Argument(..., metavar="IN", help="a file `truceline backup` wrote"),
    to: Path = typer.Option(..., "--to", help="a new workspace folder to restore into"),
    to_db: str | None = typer.Option(
        None, "--to-db", help="restore into this (empty) database instead of DIR/truceline.db"
    ),
) -> None:
    """Restore a backup into a new workspace, then re-check its ledger (verify-store)."""
    from truceline.service.backup import restore as run

    r = run(backup_file, to, to_db)
    rows = [{"table": k, "rows": v} for k, v in r.counts.items()]
    emit_list(rows, (Col("table", kind="id"), Col("rows", kind="num")), "table", title="restored")
    for issue in r.check.issues[:50]:
        err_console.print(f"  {issue}", markup=False, highlight=False)
    if not r.check.ok:
        err_console.print(
            f"[red]the restored store does not match its ledger[/red]: {len(r.check.issues)} "
            "issue(s)"
        )
        raise typer.Exit(1)
    console.print(
        f"restored into {r.workspace} ({r.url.split('://', 1)[0]}); verify-store OK: "
        f"{r.check.entries} entries, {r.check.heads} signed heads, {r.check.rows} rows checked",
        markup=False,
        highlight=False,
    )
