"""Auditors' and witnesses' use cases: offline bundle audit, witness init and check.

These need no database (a witness may ask a workspace for a consistency proof when it
runs beside one); the CLI parses arguments, calls one of these and renders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from truceline.domain.errors import WorkspaceError
from truceline.ledger import audit
from truceline.ledger import witness as core
from truceline.ledger.audit import AuditReport, Issue
from truceline.ledger.keys import read_verifier
from truceline.ledger.note import Verifier
from truceline.ledger.witness import WitnessResult
from truceline.service.workspace import Workspace

__all__ = ["AuditReport", "Issue", "verify_bundle", "witness_check", "witness_init"]


def verify_bundle(
    bundle: Path, heads: Sequence[Path], key: str, previous: Path | None = None
) -> AuditReport:
    """Check an exported bundle against published heads and the pinned mission key."""
    return audit.audit_files(bundle, list(heads), read_verifier(key), previous)


def witness_init(name: str, key_out: Path, state: Path | None, log_key: str | None) -> Verifier:
    """Create a witness key (and state); returns its verifier key to publish."""
    return core.init_witness(name, key_out, state, log_key)


def witness_check(
    head_file: Path,
    state: Path,
    proof: dict[str, Any] | None = None,
    bundle: Path | None = None,
    workspace: Callable[[], Workspace] | None = None,
) -> WitnessResult:
    """Check a new head against the last one the witness saw and cosign it: the proof
    from ``proof``, else computed from ``bundle``, else asked of the workspace."""
    from truceline.service import ledger as svc

    text = audit.read_head_text(head_file)
    last, new = core.last_seen(state), core.presented_size(text)
    old = None if last is None or new <= last.size else last.size  # a proof is needed
    proof_doc = None
    if proof is not None:
        proof_doc = core.parse_proof(proof)
    elif old is not None and bundle is not None:
        proof_doc = core.proof_from_bundle(bundle, old, new)
    elif old is not None and workspace is not None:
        try:
            ws = workspace()
        except WorkspaceError:
            ws = None
        if ws is not None:
            proof_doc = core.parse_proof(svc.consistency(ws, old, new))
    chain = None if bundle is None else core.rotation_chain(bundle, state, text)
    return core.check_head(state, text, proof_doc, chain=chain)
