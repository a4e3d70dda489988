"""The ``truceline`` command.

Each module of this package registers its commands on the one Typer app; a
command parses its arguments, calls one service function and renders the
result. Expected failures print one line, ``Name: message``, and exit 1.
"""

from __future__ import annotations

import importlib
import sys

import typer

from truceline.cli._common import err_console
from truceline.domain.errors import TrucelineError

__all__ = ["app", "main"]

app = typer.Typer(
    name="truceline",
    help="Ceasefire monitoring and verification: intake, verification, compliance, evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES = (
    "workspace",
    "agreement",
    "sources",
    "ingest",
    "fuse",
    "incidents",
    "check",
    "declarations",
    "report",
    "assess",
    "ledger",
    "demo",
    "users",
    "serve",
)


@app.callback()
def _root(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None,
        "--db",
        envvar="TRUCELINE_DATABASE_URL",
        help="SQLAlchemy URL of the store (default: the workspace found from here)",
    ),
) -> None:
    ctx.obj = {"db": db}


for _name in _COMMAND_MODULES:
    importlib.import_module(f"truceline.cli.{_name}").register(app)


def main() -> None:
    """Entry point: run the app, turning expected errors into one line and exit 1.

    Click (in standalone mode) reports usage errors itself; truceline's own
    errors propagate out of it and are printed here without a traceback.
    """
    try:
        app()
    except TrucelineError as exc:
        err_console.print(f"[red]{type(exc).__name__}[/red]: {exc.message}", highlight=False)
        for p in exc.errors[:50]:
            err_console.print(f"  {p}", highlight=False, markup=False)
        if len(exc.errors) > 50:
            err_console.print(f"  ... and {len(exc.errors) - 50} more", highlight=False)
        sys.exit(1)
