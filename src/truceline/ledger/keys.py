"""Key files: private keys live in files of mode 0600, never in the database."""

from __future__ import annotations

import os
from pathlib import Path

from truceline.domain.errors import InputError, WorkspaceError
from truceline.ledger.note import Signer, Verifier

__all__ = ["read_signer", "read_verifier", "write_signer"]


def write_signer(path: Path, signer: Signer, *, overwrite: bool = False) -> None:
    """Write ``signer`` to ``path`` with mode 0600 (atomically; refuses to clobber)."""
    if path.exists() and not overwrite:
        raise WorkspaceError(f"{path} already exists: refusing to overwrite a private key")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(signer.to_text())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_signer(path: Path) -> Signer:
    """The private key in ``path``; refuses a file others can read."""
    try:
        mode = path.stat().st_mode & 0o777
        text = path.read_text(encoding="ascii")
    except FileNotFoundError as exc:
        raise WorkspaceError(f"no key file at {path}: run `truceline keys init`") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"cannot read key file {path}: {exc}") from exc
    if mode & 0o077:
        raise WorkspaceError(f"key file {path} has mode {mode:o}: make it 0600 (chmod 600)")
    try:
        return Signer.from_text(text)
    except InputError as exc:
        raise WorkspaceError(f"{path}: {exc.message}") from exc


def read_verifier(text_or_path: str) -> Verifier:
    """A verifier key given inline (``name+hash+key``) or as a file holding one."""
    if not text_or_path.strip():
        raise InputError("no verifier key given")
    p = Path(text_or_path)
    if "+" not in text_or_path or p.is_file():
        try:
            text_or_path = p.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError(f"cannot read verifier key file {p}: {exc}") from exc
    lines = [ln.split("#")[0].strip() for ln in text_or_path.splitlines()]
    keys_ = [ln for ln in lines if ln]  # `keys show` output: the key, then # comments
    return Verifier.parse(keys_[0] if keys_ else text_or_path)
