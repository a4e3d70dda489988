"""Ledger use cases: the mission's key, signed tree heads, proofs, export and cosignatures.

A tree head is a C2SP checkpoint (origin, size, root) signed by the mission's
Ed25519 key as a C2SP signed note; witnesses' cosignatures (tlog-cosignature/v1)
are stored beside it and appended to its text when it is published.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from truceline.domain.errors import InputError, IntegrityError, NotFound, WorkspaceError
from truceline.ledger import backing, keys, storecheck
from truceline.ledger.heads import Candidate, check_proof, extended_root, node_problem
from truceline.ledger.merkle import EMPTY_ROOT, frontier, verify_consistency
from truceline.ledger.note import (
    Checkpoint,
    Signer,
    Verifier,
    add_signatures,
    format_checkpoint,
    parse_checkpoint,
    parse_note,
    sign_note,
    verify_cosignature,
    verify_note,
)
from truceline.ledger.rotation import ROTATION, rotation_record
from truceline.ledger.storecheck import StoreReport
from truceline.service.workspace import Workspace
from truceline.store import ledger as store
from truceline.store.db import Connection, store_errors
from truceline.store.ledger_check import LedgerView

__all__ = [
    "KeyInfo",
    "TreeHead",
    "add_cosignature",
    "consistency",
    "current_head",
    "current_key",
    "export_bundle",
    "init_key",
    "issue_tree_head",
    "key_path",
    "latest_tree_head",
    "ledger_size",
    "list_keys",
    "prove",
    "rotate_key",
    "show_keys",
    "tree_head",
    "verify_store",
]

BUNDLE_FORMAT = "truceline-ledger-bundle/1"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    key_id: str
    name: str
    vkey: str  # the C2SP verifier key: publish this
    created_at: int
    retired_at: int | None = None


@dataclass(frozen=True, slots=True)
class TreeHead:
    size: int
    root_hash: str  # hex
    issued_at: int
    checkpoint: str  # signed note, with the witnesses' cosignature lines
    id: int = 0
    key_id: str = ""
    cosigners: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["cosigners"] = list(self.cosigners)
        return d


def key_path(ws: Workspace) -> Path:
    p = Path(ws.settings.ledger_key_file)
    if p.is_absolute():
        return p
    if ws.root is None:
        raise WorkspaceError("no workspace directory: set TRUCELINE_LEDGER_KEY_FILE to a path")
    return ws.root / p


def list_keys(conn: Connection) -> list[KeyInfo]:
    """Every key the mission has signed heads with, oldest first."""
    out = []
    for k in store.keys(conn):
        v = Verifier(k.name, 0x01, k.public_key)
        out.append(KeyInfo(k.key_id, k.name, v.vkey, k.created_at, k.retired_at))
    return out


def show_keys(ws: Workspace, all_keys: bool = False) -> list[KeyInfo]:
    """The current key (or every key, retired ones too) for a party to pin."""
    with store_errors("reading the signing keys"), ws.engine.connect() as conn:
        return list_keys(conn) if all_keys else [k for k in [current_key(conn)] if k]


def current_key(conn: Connection) -> KeyInfo | None:
    keys_ = [k for k in list_keys(conn) if k.retired_at is None]
    return keys_[-1] if keys_ else None


def _register(conn: Connection, signer: Signer, now: int) -> KeyInfo:
    v = signer.verifier
    store.insert_key(conn, v.key_id, v.name, v.public, now)
    return KeyInfo(v.key_id, v.name, v.vkey, now)


def init_key(ws: Workspace) -> KeyInfo:
    """Create the mission's signing key (once): private key file 0600, public key in the DB."""
    path = key_path(ws)
    with store_errors("creating the signing key"), ws.engine.begin() as conn:
        if current_key(conn) is not None:
            raise WorkspaceError(
                "the mission already has a signing key: use `truceline keys rotate`"
            )
        signer = Signer.generate(ws.settings.log_origin)
        keys.write_signer(path, signer)
        return _register(conn, signer, int(time.time()))


def rotate_key(ws: Workspace) -> KeyInfo:
    """Retire the current key and sign from now on with a new one (old heads stay valid).

    The rotation is a ``key_rotation`` ledger entry signed by the old key naming the new
    one (``ledger.rotation``), so a party that pinned the old key can follow it."""
    path = key_path(ws)
    now = int(time.time())
    with store_errors("rotating the signing key"), ws.engine.begin() as conn:
        old = current_key(conn)
        signer = Signer.generate(ws.settings.log_origin)
        if old is not None:
            old_signer = keys.read_signer(path)
            if old_signer.verifier.key_id != old.key_id:
                raise WorkspaceError(
                    f"the key file {path} is not the mission's current key {old.vkey}: "
                    "a rotation must be signed by the key it rotates from"
                )
            store.retire_key(conn, old.key_id, now)
            record = rotation_record(old_signer, signer.verifier, now)
            store.append(conn, ROTATION, [(signer.verifier.key_id, record)], at=now)
        info = _register(conn, signer, now)
        keys.write_signer(path, signer, overwrite=True)
    return info


def _signer(ws: Workspace, conn: Connection) -> Signer:
    """The current signing key, created on first use; it must match the DB's current key."""
    cur = current_key(conn)
    if cur is None:
        signer = Signer.generate(ws.settings.log_origin)
        keys.write_signer(key_path(ws), signer)
        _register(conn, signer, int(time.time()))
        return signer
    signer = keys.read_signer(key_path(ws))
    if signer.verifier.key_id != cur.key_id:
        raise WorkspaceError(
            f"the key file {key_path(ws)} is not the mission's current key {cur.vkey}"
        )
    return signer


def _head(conn: Connection, row: store.StoredHead) -> TreeHead:
    cos = store.cosignature_lines(conn, row.id)
    text = row.checkpoint + "".join(line for _, line in cos)
    return TreeHead(
        row.size,
        row.root_hash.hex(),
        row.issued_at,
        text,
        row.id,
        row.key_id,
        tuple(w for w, _ in cos),
    )


def latest_tree_head(conn: Connection) -> TreeHead | None:
    """The most recently issued tree head, with its cosignatures."""
    row = store.latest_head(conn)
    return None if row is None else _head(conn, row)


def tree_head(conn: Connection, size: int) -> TreeHead:
    row = store.head_of_size(conn, size)
    if row is None:
        raise NotFound(f"no tree head of size {size} was issued")
    return _head(conn, row)


def issue_tree_head(ws: Workspace) -> TreeHead:
    """Sign a checkpoint of the ledger as it is now; returns the latest one when unchanged.

    A new head is signed only if the log extends the last signed head as published
    (``ledger.heads``); otherwise ``IntegrityError``, with both kept as evidence."""
    with store_errors("issuing a tree head"), ws.engine.begin() as conn:
        signer = _signer(ws, conn)
        key_id = signer.verifier.key_id
        n = store.size(conn)
        last = store.latest_head(conn)
        old = _published(conn, last)
        if last is not None and n < old.size:
            _refuse(
                ws,
                last,
                f"the ledger has {n} entries but head #{last.id} signed "
                f"{old.size}: entries were removed",
                n,
                b"",
            )
        cand = _candidate(conn, old, n)
        if cand.problem:
            _refuse(ws, last, cand.problem, n, cand.root if cand.size == n else b"")
        if last is not None and last.size == n and last.key_id == key_id:
            return _head(conn, last)
        now = int(time.time())
        body = format_checkpoint(ws.settings.log_origin, n, cand.root, (f"time {now}",))
        text = add_signatures(body, [sign_note(body, signer)])
        new_id = store.insert_head(conn, n, cand.root, now, key_id, text)
        return TreeHead(n, cand.root.hex(), now, text, new_id, key_id)


def _published(conn: Connection, last: store.StoredHead | None) -> Checkpoint:
    """The last head as its signed text says (size 0 when none was issued)."""
    if last is None:
        return Checkpoint("", 0, EMPTY_ROOT)
    try:
        return parse_checkpoint(verify_note(last.checkpoint, _verifier_of(conn, last.key_id)))
    except (InputError, ValueError) as exc:
        raise IntegrityError(
            f"head #{last.id}, the last one signed, no longer verifies ({exc}): tree_heads "
            "was edited; refusing to sign; run `truceline ledger verify-store`"
        ) from exc


def _candidate(conn: Connection, old: Checkpoint, n: int) -> Candidate:
    """The root of size ``n`` if the log extends ``old`` and the store backs every entry
    since (``ledger.backing``), else the reason it does not."""
    try:
        front = store.fetch_nodes(conn, frontier(old.size))
        window = list(store.entries(conn, n, old.size))
        cand = extended_root(
            old.size, old.root, front, [(i, d, lh) for i, _, _, d, lh, _ in window]
        )
        if cand.problem:
            return cand
        cover = store.covered(conn)
        if cover < n:
            why = f"entries {cover}..{n - 1} were appended behind the API: their tiles are missing"
            return Candidate(n, cand.root, why)
        why = node_problem(cand.nodes, store.nodes_after(conn, old.size))
        if not why:
            why = _unbacked(conn, [backing.entry(i, k, r, d) for i, k, r, d, _, _ in window])
        if why:
            return Candidate(n, cand.root, why)
        proof = store.consistency_proof(conn, old.size, n)
        return check_proof(old.size, old.root, cand, proof, store.root(conn, n))
    except IntegrityError as exc:
        return Candidate(n, b"", exc.message)


def _unbacked(conn: Connection, window: list[backing.WindowEntry]) -> str:
    """The first entry of ``window`` the store does not back ('' when all are)."""
    if not window:
        return ""
    view = LedgerView(conn)
    problems = backing.unbacked(
        window,
        view.window_rows(window[0].idx, window[-1].idx + 1),
        lambda ids: view.incident_rows(ids),
        lambda ids, obs: view.memberships(ids, obs),
        {k.key_id for k in store.keys(conn)},
        view.escalations(),
    )
    if not problems:
        return ""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"the store does not back {problems[0]}{more}"


def _refuse(
    ws: Workspace, last: store.StoredHead | None, why: str, n: int, root: bytes
) -> NoReturn:
    """Refuse to sign: keep the last signed head and what would have been signed."""
    unsigned = {"size": n, "root_hash": root.hex() if root else None, "problem": why}
    doc = {"last_signed": None if last is None else last.checkpoint, "refused": unsigned}
    saved = ""
    if ws.root is not None:
        path = ws.root / "evidence" / f"refused-head-{time.time_ns()}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        saved = f"; both kept in {path}"
    raise IntegrityError(
        f"refusing to sign a tree head of size {n}: {why}; the log does not extend the "
        f"last signed head{saved}; run `truceline ledger verify-store`\n"
        f"last signed:\n{doc['last_signed']}"
    )


def prove(ws: Workspace, index: int, size: int | None = None) -> dict[str, Any]:
    """Inclusion proof of entry ``index`` in the tree of ``size`` (default: the latest head)."""
    with store_errors("proving inclusion"), ws.engine.connect() as conn:
        n = _size_or_head(conn, size)
        if not 0 <= index < n:
            raise NotFound(f"entry {index} is not in the tree of size {n}")
        kind, ref, data, lh = store.entry(conn, index)
        proof = store.inclusion_proof(conn, index, n)
        return {
            "index": index,
            "size": n,
            "kind": kind,
            "ref": ref,
            "data": data.decode("utf-8"),
            "leaf_hash": lh.hex(),
            "root_hash": store.root(conn, n).hex(),
            "proof": [p.hex() for p in proof],
        }


def _size_or_head(conn: Connection, size: int | None) -> int:
    if size is not None:
        _tree_exists(conn, size)
        return size
    head = latest_tree_head(conn)
    return head.size if head is not None else store.size(conn)


def _tree_exists(conn: Connection, size: int) -> None:
    """A size the user asks for beyond the log is not found (not an integrity failure)."""
    have = store.size(conn)
    if size > have:
        raise NotFound(f"no tree of size {size}: the ledger has {have} entries")


def consistency(ws: Workspace, old: int, new: int) -> dict[str, Any]:
    """Consistency proof between tree sizes ``old`` and ``new``."""
    if not 0 <= old <= new:
        raise InputError(f"no consistency proof from size {old} to size {new}: need old <= new")
    with store_errors("proving consistency"), ws.engine.connect() as conn:
        _tree_exists(conn, new)
        proof = store.consistency_proof(conn, old, new)
        r_old, r_new = store.root(conn, old), store.root(conn, new)
    if not verify_consistency(old, new, r_old, r_new, proof):
        raise IntegrityError(
            f"the stored tree gives no valid consistency proof from {old} to {new}: "
            "run `truceline ledger verify-store`"
        )
    return {
        "old_size": old,
        "new_size": new,
        "old_root": r_old.hex(),
        "new_root": r_new.hex(),
        "proof": [p.hex() for p in proof],
    }


def export_bundle(ws: Workspace, out: Path) -> TreeHead:
    """Write every entry up to a fresh signed head, and that head, as JSON lines."""
    head = issue_tree_head(ws)
    with store_errors("exporting the ledger"), ws.engine.connect() as conn:
        vkeys = {k.key_id: k.vkey for k in list_keys(conn)}
        header = {"format": BUNDLE_FORMAT, "key": vkeys.get(head.key_id), **head.to_json()}
        with out.open("w", encoding="utf-8") as f:
            f.write(json.dumps(header) + "\n")
            for idx, kind, ref, data, lh, _ in store.entries(conn, head.size):
                rec = {"idx": idx, "kind": kind, "ref": ref}
                rec |= {"data": data.decode("utf-8"), "leaf_hash": lh.hex()}
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return head


def add_cosignature(ws: Workspace, cosigned: str, witness_key: str) -> TreeHead:
    """Store a witness's cosignature of one of our heads; a different root is a split view."""
    v = keys.read_verifier(witness_key)
    verify_cosignature(cosigned, v)
    body, sigs = parse_note(cosigned)
    cp = parse_checkpoint(body)
    line = next(s.line for s in sigs if s.name == v.name and s.key_hash == v.key_hash)
    with store_errors("adding a cosignature"), ws.engine.begin() as conn:
        ours = tree_head(conn, cp.size)
        if ours.root_hash != cp.root.hex():
            raise IntegrityError(
                f"split view: witness {v.name} cosigned size {cp.size} with root "
                f"{cp.root.hex()}, but our head #{ours.id} has root {ours.root_hash}\n"
                f"witness saw:\n{cosigned}\nwe issued:\n{ours.checkpoint}"
            )
        verify_note(cosigned, _verifier_of(conn, ours.key_id))
        if v.vkey not in ours.cosigners:
            store.insert_cosignature(conn, ours.id, v.vkey, line)
        return tree_head(conn, cp.size)


def _verifier_of(conn: Connection, key_id: str) -> Verifier:
    [k] = [k for k in store.keys(conn) if k.key_id == key_id]
    return Verifier(k.name, 0x01, k.public_key)


def verify_store(ws: Workspace) -> StoreReport:
    """Re-check the store: entries vs leaf hashes, tree nodes, signed heads, record rows."""
    with store_errors("verifying the store"), ws.engine.connect() as conn:
        return storecheck.verify_store(LedgerView(conn))


def current_head(ws: Workspace) -> TreeHead | None:
    """The latest signed tree head (None before the first is issued)."""
    with store_errors("reading the tree head"), ws.engine.connect() as conn:
        return latest_tree_head(conn)


def ledger_size(ws: Workspace) -> int:
    """How many entries the ledger holds."""
    with store_errors("reading the ledger size"), ws.engine.connect() as conn:
        return store.size(conn)
