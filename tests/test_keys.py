"""The mission's key and signed notes: interoperable formats, file modes, good/bad/wrong key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from truceline.cli import app
from truceline.domain.errors import InputError, SignatureError, WorkspaceError
from truceline.ledger.note import (
    Signer,
    Verifier,
    add_signatures,
    format_checkpoint,
    parse_checkpoint,
    sign_note,
    verify_cosignature,
    verify_note,
)
from truceline.service import ledger as svc
from truceline.service.workspace import Workspace

# golang.org/x/mod/sumdb/note's test key and signed note (the signed-note reference)
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = GO_TEXT + (
    "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)
# a public CT log's checkpoint cosigned by the remora.n621.de witness (tlog-cosignature/v1)
CT_VKEY = (
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
)
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
CT_CHECKPOINT = (
    "arche2025h1.staging.ct.transparency.dev\n1432088532\n"
    "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n\n"
    "\u2014 arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefw"
    "hUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=\n"
    "\u2014 remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVC"
    "IobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==\n"
)


def test_signed_note_matches_the_go_reference() -> None:
    signer = Signer.from_text(GO_SKEY)
    assert signer.verifier.vkey == GO_VKEY
    assert add_signatures(GO_TEXT, [sign_note(GO_TEXT, signer)]) == GO_NOTE
    assert verify_note(GO_NOTE, Verifier.parse(GO_VKEY)) == GO_TEXT


def test_real_checkpoint_and_cosignature_verify() -> None:
    body = verify_note(CT_CHECKPOINT, Verifier.parse(CT_VKEY))
    assert body.startswith("arche2025h1.staging.ct.transparency.dev\n1432088532\n")
    assert verify_cosignature(CT_CHECKPOINT, Verifier.parse(REMORA_VKEY)) == 1779573024
    with pytest.raises(SignatureError):
        verify_note(CT_CHECKPOINT.replace("1432088532", "1432088533"), Verifier.parse(CT_VKEY))


def test_good_bad_and_wrong_key_signatures() -> None:
    mission, other = Signer.generate("mission.example/log"), Signer.generate("mission.example/log")
    body = format_checkpoint("mission.example/log", 5, bytes(range(32)))
    note = add_signatures(body, [sign_note(body, mission)])
    assert verify_note(note, mission.verifier) == body
    with pytest.raises(SignatureError, match="no signature by key"):
        verify_note(note, other.verifier)  # wrong key (same name, other key hash)
    forged = note.replace("\n5\n", "\n6\n")
    with pytest.raises(SignatureError, match="does not match"):
        verify_note(forged, mission.verifier)  # bad: the body was changed
    sig = sign_note(body, other)
    spoof = add_signatures(body, [type(sig)(mission.name, mission.verifier.key_hash, sig.blob)])
    with pytest.raises(SignatureError, match="does not match"):
        verify_note(spoof, mission.verifier)  # right name and key hash, wrong signer
    with pytest.raises(InputError):
        Verifier.parse(GO_VKEY.replace("c74f20a3", "c74f20a4"))


@pytest.mark.parametrize("size", ["\u00b2", "\u0663", "07", "-1", ""])
def test_checkpoint_size_is_ascii_decimal(size: str) -> None:
    body = format_checkpoint("log.example", 3, bytes(32)).replace("\n3\n", f"\n{size}\n")
    with pytest.raises(InputError, match="not a decimal number"):
        parse_checkpoint(body)


def test_keys_cli_init_show_rotate(
    sqlite_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = sqlite_workspace
    assert ws.root is not None
    monkeypatch.chdir(ws.root)
    runner = CliRunner()
    assert runner.invoke(app, ["keys", "show"]).exit_code == 1  # no key yet
    res = runner.invoke(app, ["keys", "init"])
    assert res.exit_code == 0, res.output
    assert (ws.root / "keys" / "ledger.key").is_file()
    shown = runner.invoke(app, ["keys", "show"]).output.splitlines()
    first = shown[0]
    v = Verifier.parse(first)  # the C2SP verifier-key form
    assert shown[1] == f"# fingerprint to pin: sha256:{v.key_id}"
    assert v.name == "truceline.local/log" and first in res.output.replace("\n", "")
    assert runner.invoke(app, ["keys", "init"]).exit_code == 1  # only once
    assert runner.invoke(app, ["keys", "rotate"]).exit_code == 0
    second = runner.invoke(app, ["keys", "show"]).output.splitlines()[0]
    assert second != first
    every = runner.invoke(app, ["keys", "show", "--all"]).output
    assert first in every and "retired" in every and second in every


def test_key_file_is_private_and_never_in_the_db(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    info = svc.init_key(ws)
    path = svc.key_path(ws)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Signer.from_text(path.read_text()).verifier.vkey == info.vkey
    db = Path(ws.url.removeprefix("sqlite:///"))
    # WAL mode: recent writes sit in the -wal file, not yet in the database file
    raw = b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    assert Verifier.parse(info.vkey).public in raw  # the key's row is in the bytes searched
    assert Signer.from_text(path.read_text()).to_text().split("+")[-1].encode() not in raw
    with pytest.raises(WorkspaceError, match="already has a signing key"):
        svc.init_key(ws)
    h1 = svc.issue_tree_head(ws)
    new = svc.rotate_key(ws)
    assert new.vkey != info.vkey
    h2 = svc.issue_tree_head(ws)  # re-signed by the new key
    assert h2.id != h1.id and h2.key_id == new.key_id
    verify_note(h1.checkpoint, Verifier.parse(info.vkey))  # old heads stay valid
    verify_note(h2.checkpoint, Verifier.parse(new.vkey))
    path.chmod(0o644)
    with pytest.raises(WorkspaceError, match="0600"):
        svc.issue_tree_head(ws)
