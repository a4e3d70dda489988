"""The ``truceline`` command.

Each module of this package registers its commands on a Typer app through its
``register(app)``; a command parses its arguments, calls one service function
and renders the result. Expected failures print one line, ``Name: message``,
and exit 1.

Modules are imported only when one of their commands runs, so that
``truceline --help`` and a quick command start in a blink: ``COMMANDS`` names
each top-level command, the module that registers it and its one-line help.
A new command module adds one line here.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from truceline import __version__, startup
from truceline.cli._common import configure_consoles, err_console
from truceline.domain.errors import TrucelineError

__all__ = ["COMMANDS", "Command", "app", "main"]


class Command(NamedTuple):
    name: str  # the top-level command or group
    module: str  # truceline.cli.<module> registers it with register(app)
    help: str  # one line, shown by `truceline --help`


COMMANDS: list[Command] = [
    Command("init", "workspace", "Create a workspace: the store and the agreement."),
    Command("agreement", "agreement", "The agreement: show, validate, load, build."),
    Command("sources", "sources", "The source registry: types, grades, coverage."),
    Command("ingest", "ingest", "Validate and store observations; bad records listed."),
    Command("publish", "publish", "Send observation files to the NATS JetStream stream."),
    Command("worker", "worker", "Store observations from the NATS JetStream stream."),
    Command("fuse", "fuse", "Fuse new observations into incidents."),
    Command("incidents", "incidents", "Incidents: list, show, verify, reject, dispute."),
    Command("check", "check", "Check incidents and declarations against the agreement."),
    Command("findings", "check", "Review findings: list, show, confirm, dismiss, reopen."),
    Command("declare", "declarations", "Store a party's or operator's declaration."),
    Command("notify", "notify", "Deconfliction register: notify, amend, answer, conflicts."),
    Command("report", "report", "Write the daily report (HTML, JSON, map)."),
    Command("assess", "assess", "Write a breach assessment for a period."),
    Command("notice", "notice", "Major breaches: triggers, and notices for guarantors."),
    Command("ledger", "ledger", "The ledger: tree heads, proofs, export, verify."),
    Command("keys", "ledger", "The mission's signing keys."),
    Command("witness", "ledger", "Witness a log: check consistency, cosign heads."),
    Command("field", "field", "A field device: sign observations offline, sync later."),
    Command("export", "export", "Export incidents or findings: STIX 2.1, HXL CSV, GeoJSON."),
    Command("backup", "backup", "Copy the store to a file, consistently, while in use."),
    Command("restore", "backup", "Restore a backup into a new workspace; verify its ledger."),
    Command("demo", "demo", "Run the whole pipeline on a built-in scenario."),
    Command("users", "users", "API users: roles and tokens (a token is shown once)."),
    Command("serve", "serve", "Serve the HTTP API over this workspace."),
    Command("backtest", "warning", "Score the early-warning models on a file's history."),
    Command("alerts", "alerts", "Early-warning alerts: run, list, subscribe, deliver."),
    Command("forecast", "alerts", "Each sector's 7-day forecast and escalation probability."),
]


class _LazyGroup(TyperGroup):
    """The root group: imports a command's module only when the command is needed."""

    _listing = False

    # (click's types are left as Any: typer vendors click from 0.20 on)
    def list_commands(self, ctx: Any) -> list[str]:
        return [c.name for c in COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        spec = next((c for c in COMMANDS if c.name == cmd_name), None)
        if spec is None:
            return None
        if self._listing:  # the help page needs names and one-liners only
            return TyperCommand(spec.name, short_help=spec.help)
        return _load(spec.module).get_command(ctx, cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


_loaded: dict[str, TyperGroup] = {}


def _load(module: str) -> TyperGroup:
    """The commands that ``truceline.cli.<module>`` registers, as one click group."""
    group = _loaded.get(module)
    if group is None:
        sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        importlib.import_module(f"truceline.cli.{module}").register(sub)
        group = _loaded[module] = typer.main.get_group(sub)
    return group


app = typer.Typer(
    name="truceline",
    cls=_LazyGroup,
    help="Ceasefire monitoring and verification: intake, verification, compliance, evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"truceline {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None,
        "--db",
        envvar="TRUCELINE_DATABASE_URL",
        help="SQLAlchemy URL of the store (default: the workspace found from here)",
    ),
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_version, help="Print the version and exit."
    ),
) -> None:
    configure_consoles()
    ctx.obj = {"db": db}


def main(args: Any = None) -> None:
    """Entry point: run the app, turning expected errors into one line and exit 1.

    Click (in standalone mode) reports usage errors itself; truceline's own
    errors propagate out of it and are printed here without a traceback.
    """
    startup.begin()  # (already begun when started from truceline.__main__)
    try:
        app(args=args)
    except TrucelineError as exc:
        configure_consoles()
        err_console.print(f"[red]{type(exc).__name__}[/red]: ", end="", highlight=False)
        err_console.print(exc.message, highlight=False, markup=False)
        for p in exc.errors[:50]:
            err_console.print(f"  {p}", highlight=False, markup=False)
        if len(exc.errors) > 50:
            err_console.print(f"  ... and {len(exc.errors) - 50} more", highlight=False)
        sys.exit(1)
