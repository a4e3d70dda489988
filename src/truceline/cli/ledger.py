"""`truceline ledger|keys|witness`: the evidence ledger, the mission's key, witnesses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from truceline.cli._common import console, guard_output, workspace
from truceline.domain.errors import (
    InputError,
    IntegrityError,
    Problem,
    TrucelineError,
)
from truceline.service import ledger as svc
from truceline.service import ledger_audit
from truceline.service.ledger_audit import Issue

__all__ = ["register"]

ledger_app = typer.Typer(help="The evidence ledger: tree heads, proofs, export, offline audit.")
keys_app = typer.Typer(help="The mission's Ed25519 key that signs tree heads.")
witness_app = typer.Typer(help="Run a witness: check each new tree head and cosign it.")


def _force_option() -> Any:
    return typer.Option(False, "--force", help="overwrite an existing --out file")


def _target(ctx: typer.Context, out: Path | None, force: bool) -> Path | None:
    """``--out`` checked before any work: an existing file needs ``--force``, and the
    workspace's own database is never written over."""
    return None if out is None else guard_output(ctx, out, force=force, option="--out")


def _emit(doc: dict[str, Any], out: Path | None) -> None:
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        console.print_json(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable JSON file: {exc}") from exc
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a JSON object")
    return doc


def _fail_on(issues: list[Issue], what: str) -> None:
    if issues:
        raise IntegrityError(
            f"{what}: {len(issues)} problem(s) found", [Problem(str(i)) for i in issues]
        )


@keys_app.command("init")
def keys_init(ctx: typer.Context) -> None:
    """Create the mission's signing key (private key file 0600 in the workspace)."""
    info = svc.init_key(workspace(ctx))
    console.print(f"created key {info.key_id[:8]}; publish this verifier key:")
    console.print(info.vkey, highlight=False, soft_wrap=True)


@keys_app.command("rotate")
def keys_rotate(ctx: typer.Context) -> None:
    """Retire the current key and create a new one (old heads remain verifiable)."""
    info = svc.rotate_key(workspace(ctx))
    console.print(f"new key {info.key_id[:8]}; publish this verifier key:")
    console.print(info.vkey, highlight=False, soft_wrap=True)


@keys_app.command("show")
def keys_show(
    ctx: typer.Context, all_keys: bool = typer.Option(False, "--all", help="retired keys too")
) -> None:
    """Print the current verifier key (C2SP signed-note form) and the fingerprint a party
    pins, or every key with --all (a line starting with # is a comment)."""
    keys = svc.show_keys(workspace(ctx), all_keys)
    if not keys:
        raise TrucelineError("the mission has no signing key yet: run `truceline keys init`")
    for k in keys:
        note = "" if k.retired_at is None else f"  # retired at {k.retired_at}"
        print(k.vkey + note)
        print(f"# fingerprint to pin: sha256:{k.key_id}")


@ledger_app.command("head")
def head(
    ctx: typer.Context,
    out: Path | None = typer.Option(None, "--out", help="write HEAD.json"),
    force: bool = _force_option(),
) -> None:
    """Issue (if the log grew) and print the latest signed tree head."""
    target = _target(ctx, out, force)
    h = svc.issue_tree_head(workspace(ctx))
    _emit(h.to_json(), target)


@ledger_app.command("prove")
def prove(
    ctx: typer.Context,
    index: int = typer.Argument(..., help="leaf index of the entry"),
    size: int | None = typer.Option(None, "--size", help="tree size (default: latest head)"),
    out: Path | None = typer.Option(None, "--out"),
    force: bool = _force_option(),
) -> None:
    """Inclusion proof of one entry (RFC 9162), as JSON."""
    target = _target(ctx, out, force)
    _emit(svc.prove(workspace(ctx), index, size), target)


@ledger_app.command("consistency")
def consistency(
    ctx: typer.Context,
    old: int = typer.Argument(..., help="older tree size"),
    new: int = typer.Argument(..., help="newer tree size"),
    out: Path | None = typer.Option(None, "--out"),
    force: bool = _force_option(),
) -> None:
    """Consistency proof between two tree sizes (RFC 9162), as JSON."""
    target = _target(ctx, out, force)
    _emit(svc.consistency(workspace(ctx), old, new), target)


@ledger_app.command("export")
def export(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="bundle file (JSON lines)"),
    force: bool = _force_option(),
) -> None:
    """Write every entry and a fresh signed head to a self-contained bundle."""
    target = guard_output(ctx, out, force=force, option="--out")
    h = svc.export_bundle(workspace(ctx), target)
    console.print(f"wrote {out}: {h.size} entries, root {h.root_hash}", soft_wrap=True)


@ledger_app.command("verify")
def verify(
    bundle: Path = typer.Argument(..., help="bundle from `truceline ledger export`"),
    head_file: list[Path] = typer.Option(
        ..., "--head", help="a published HEAD.json you kept (repeat for earlier heads)"
    ),
    key: str = typer.Option(..., "--key", help="mission verifier key, or a file holding it"),
    previous: Path | None = typer.Option(None, "--previous", help="a bundle you kept earlier"),
) -> None:
    """Offline audit: check a bundle against a published head, without the database."""
    rep = ledger_audit.verify_bundle(bundle, head_file, key, previous)
    _fail_on(rep.issues, f"bundle {bundle} does not match the head of size {rep.head_size}")
    console.print(
        f"OK: {rep.head_size} entries match the signed root {rep.head_root}", soft_wrap=True
    )


@ledger_app.command("verify-store")
def verify_store(ctx: typer.Context) -> None:
    """Re-check the database: entries, tree nodes, signed heads and every ledgered row."""
    rep = svc.verify_store(workspace(ctx))
    _fail_on(rep.issues, "the store does not match its ledger")
    console.print(f"OK: {rep.entries} entries, {rep.heads} signed heads, {rep.rows} rows checked")


@ledger_app.command("cosign-add")
def cosign_add(
    ctx: typer.Context,
    cosigned: Path = typer.Argument(..., help="the JSON written by `truceline witness check`"),
    witness_key: str | None = typer.Option(None, "--witness-key", help="override its key"),
) -> None:
    """Store a witness's cosignature with the tree head it cosigned."""
    doc = _read_json(cosigned)
    vkey = witness_key or str(doc.get("witness_key", ""))
    if not vkey or "checkpoint" not in doc:
        raise InputError(f"{cosigned}: not a `truceline witness check` output (no witness key)")
    h = svc.add_cosignature(workspace(ctx), str(doc.get("checkpoint", "")), vkey)
    console.print(f"head #{h.id} (size {h.size}) now has {len(h.cosigners)} cosignature(s)")


@witness_app.command("init")
def witness_init(
    name: str = typer.Option(..., "--name", help="witness name, e.g. guarantor.example/w1"),
    key_out: Path = typer.Option(..., "--key-out", help="private key file to create (0600)"),
    state: Path | None = typer.Option(None, "--state", help="state directory to create"),
    log_key: str | None = typer.Option(None, "--log-key", help="mission verifier key / file"),
) -> None:
    """Create a witness key (and state); prints the witness's verifier key to publish."""
    v = ledger_audit.witness_init(name, key_out, state, log_key)
    print(v.vkey)


@witness_app.command("check")
def witness_check(
    ctx: typer.Context,
    head_file: Path = typer.Argument(..., help="HEAD.json (or checkpoint text) to check"),
    state: Path = typer.Option(..., "--state", help="the witness's state directory"),
    proof: Path | None = typer.Option(None, "--proof", help="consistency proof JSON"),
    bundle: Path | None = typer.Option(None, "--bundle", help="or compute it from a bundle"),
    out: Path | None = typer.Option(None, "--out", help="write the cosigned head JSON"),
    force: bool = _force_option(),
) -> None:
    """Verify a new head against the last one seen and cosign it (split views refused)."""
    target = _target(ctx, out, force)
    doc = None if proof is None else _read_json(proof)
    res = ledger_audit.witness_check(head_file, state, doc, bundle, lambda: workspace(ctx))
    _emit(res.to_json(), target)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(ledger_app, name="ledger")
    app.add_typer(keys_app, name="keys")
    app.add_typer(witness_app, name="witness")
