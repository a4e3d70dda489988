"""``truceline notice``: major-breach triggers and the breach notice for guarantors."""

from __future__ import annotations

from pathlib import Path

import typer

from truceline.cli._common import console, guard_output, workspace
from truceline.domain.errors import IntegrityError, Problem

__all__ = ["register"]

notice_app = typer.Typer(help="Major breaches: triggers for analysts, notices for guarantors.")


@notice_app.command("triggers")
def triggers(ctx: typer.Context) -> None:
    """The agreement's major-breach conditions met by findings (candidates first checked
    by analysts: confirm their findings to make a notice)."""
    from truceline.service.notice import find_triggers

    found = find_triggers(workspace(ctx))
    if not found:
        console.print("no major-breach condition is met")
    for t in found:
        ids = ", ".join(str(i) for i in t.findings)
        console.print(f"{t.summary} [findings {ids}]", markup=False, highlight=False)


@notice_app.command("write")
def write(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="notice file (JSON)"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing --out file"),
) -> None:
    """Write the breach notice of the conditions met by confirmed findings, with proofs."""
    from truceline.service.notice import write_notice

    out = guard_output(ctx, out, force=force, option="--out")
    doc = write_notice(workspace(ctx), out)
    console.print(
        f"wrote {out}: {len(doc['triggers'])} condition(s) met, {len(doc['findings'])} "
        f"confirmed finding(s), {len(doc['entries'])} ledger entries with proofs",
        soft_wrap=True,
    )


@notice_app.command("verify")
def verify(
    notice: Path = typer.Argument(..., help="a notice from `truceline notice write`"),
    key: str = typer.Option(..., "--key", help="mission verifier key, or a file holding it"),
) -> None:
    """Offline: check a notice's signed head, every inclusion proof and the confirmations."""
    from truceline.service.notice import verify_notice

    rep = verify_notice(notice, key)
    if rep.issues:
        raise IntegrityError(
            f"notice {notice}: {len(rep.issues)} problem(s) found",
            [Problem(i) for i in rep.issues],
        )
    console.print(
        f"OK: {rep.findings} confirmed finding(s), {rep.entries} entries included in the "
        f"signed tree of size {rep.size}",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``notice`` to ``app``."""
    app.add_typer(notice_app, name="notice")
