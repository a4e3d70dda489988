"""A witness: keeps the last tree head it saw, checks each new one and cosigns it.

State (a directory the witness's operator keeps, a party or a guarantor):
``witness.json`` (its name, key file and the mission's verifier key),
``latest.txt`` (the last head it cosigned, as the signed checkpoint text),
``history.jsonl`` (every head it cosigned) and ``evidence-*.json`` (split views).

A new head is cosigned (C2SP tlog-cosignature/v1) only if it carries the
mission's valid signature and either extends the last head by a verified RFC
9162 consistency proof or equals it. Two different roots for one size, or a
newer head that is not an extension, is a split view: refused with both heads
as evidence. A head signed by another key than the mission's key in ``witness.json``
is cosigned only with a bundle whose ``key_rotation`` entries chain that key to the
new one inside the log the head signs (:func:`rotation_chain`); the witness then
follows the new key.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from truceline.domain.errors import Conflict, InputError, IntegrityError, WorkspaceError
from truceline.ledger import keys
from truceline.ledger.audit import read_bundle
from truceline.ledger.merkle import (
    consistency_ranges,
    perfect_parts,
    resolve,
    verify_consistency,
)
from truceline.ledger.note import (
    COSIGNATURE,
    Checkpoint,
    Signer,
    Verifier,
    cosign,
    parse_checkpoint,
    parse_note,
)
from truceline.ledger.rotation import key_chain, verify_head

__all__ = [
    "WitnessResult",
    "check_head",
    "init_witness",
    "last_seen",
    "parse_proof",
    "presented_size",
    "proof_from_bundle",
    "rotation_chain",
]


@dataclass(frozen=True, slots=True)
class WitnessResult:
    size: int
    root_hash: str
    previous_size: int | None
    cosigned: str  # the checkpoint with this witness's cosignature line added
    cosignature: str  # the line alone
    witness_key: str  # this witness's verifier key (type 0x04)
    timestamp: int

    def to_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root_hash": self.root_hash,
            "previous_size": self.previous_size,
            "checkpoint": self.cosigned,
            "cosignature": self.cosignature,
            "witness_key": self.witness_key,
            "timestamp": self.timestamp,
        }


def init_witness(
    name: str, key_out: Path, state: Path | None = None, log_key: str | None = None
) -> Verifier:
    """Create a witness key (file 0600) and, with ``state``, the witness's state directory."""
    signer = Signer.generate(name, COSIGNATURE)
    keys.write_signer(key_out, signer)
    if state is not None:
        if log_key is None:
            raise InputError("a witness state needs the mission's verifier key (--log-key)")
        log_v = keys.read_verifier(log_key)
        state.mkdir(parents=True, exist_ok=True)
        conf = {"name": name, "key_file": str(key_out.resolve()), "log_key": log_v.vkey}
        (state / "witness.json").write_text(json.dumps(conf, indent=2) + "\n", encoding="utf-8")
    return signer.verifier


def _config(state: Path) -> dict[str, str]:
    try:
        conf: dict[str, str] = json.loads((state / "witness.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise WorkspaceError(
            f"{state} is not a witness state: run `truceline witness init --state`"
        ) from exc
    except (OSError, ValueError) as exc:
        raise WorkspaceError(f"{state / 'witness.json'}: {exc}") from exc
    return conf


def parse_proof(doc: dict[str, Any]) -> tuple[int, int, list[bytes]]:
    """(old size, new size, hashes) of a `truceline ledger consistency` JSON document."""
    try:
        return (
            int(doc["old_size"]),
            int(doc["new_size"]),
            [bytes.fromhex(h) for h in doc["proof"]],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"not a consistency proof document: {exc}") from exc


def _split_view(state: Path, why: str, old_text: str, new_text: str) -> IntegrityError:
    now = int(time.time())
    evidence = {"detected_at": now, "reason": why, "previous": old_text, "presented": new_text}
    path = state / f"evidence-{now}.json"
    path.write_text(json.dumps(evidence, indent=2) + "\n", encoding="utf-8")
    return IntegrityError(
        f"split view: {why}. Evidence saved to {path}.\n"
        f"head seen before:\n{old_text}\nhead presented now:\n{new_text}"
    )


def check_head(
    state: Path,
    head_text: str,
    proof: tuple[int, int, list[bytes]] | None = None,
    now: int | None = None,
    chain: list[tuple[int, Verifier]] | None = None,
) -> WitnessResult:
    """Verify ``head_text`` against the last head seen, then cosign it and remember it;
    ``chain`` (from :func:`rotation_chain`) lets a rotated key sign it."""
    conf = _config(state)
    pinned = Verifier.parse(conf["log_key"])
    signer = keys.read_signer(Path(conf["key_file"]))
    if chain is not None and chain[0][1].vkey != pinned.vkey:
        raise InputError("the key chain does not start at this witness's mission key")
    body, log_v = verify_head(head_text, chain or [(0, pinned)])
    cp = parse_checkpoint(body)
    if cp.origin != log_v.name:
        raise IntegrityError(f"checkpoint origin {cp.origin!r} is not the log {log_v.name!r}")
    latest = state / "latest.txt"
    prev = last_seen(state)
    if prev is not None:
        old_text = latest.read_text(encoding="utf-8")
        _check_against(state, prev, cp, old_text, head_text, proof)
    t = int(time.time()) if now is None else now
    sig = cosign(body, signer, t)
    _, sigs = parse_note(head_text)
    mission = [s for s in sigs if s.name == log_v.name and s.key_hash == log_v.key_hash]
    note_text = body + "\n" + "".join(s.line for s in mission)
    latest.write_text(note_text, encoding="utf-8")
    if log_v.vkey != pinned.vkey:  # a rotation proven by the chain: follow the new key
        conf["log_key"] = log_v.vkey
        text = json.dumps(conf, indent=2) + "\n"
        (state / "witness.json").write_text(text, encoding="utf-8")
    with (state / "history.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"seen_at": t, "size": cp.size, "checkpoint": note_text}) + "\n")
    return WitnessResult(
        cp.size,
        cp.root.hex(),
        None if prev is None else prev.size,
        head_text + sig.line,
        sig.line,
        signer.verifier.vkey,
        t,
    )


def _check_against(
    state: Path,
    prev: Checkpoint,
    cp: Checkpoint,
    old_text: str,
    new_text: str,
    proof: tuple[int, int, list[bytes]] | None,
) -> None:
    if cp.size == prev.size:
        if cp.root != prev.root:
            why = f"two different roots for size {cp.size}"
            raise _split_view(state, why, old_text, new_text)
        return
    if cp.size < prev.size:
        raise Conflict(
            f"head of size {cp.size} is older than the last head seen ({prev.size}): not cosigned"
        )
    if proof is None:
        raise InputError(
            f"a consistency proof from size {prev.size} to {cp.size} is needed "
            f"(`truceline ledger consistency {prev.size} {cp.size}`)"
        )
    old, new, hashes = proof
    if (old, new) != (prev.size, cp.size):
        raise InputError(
            f"the proof is from size {old} to {new}, not from {prev.size} to {cp.size}"
        )
    if not verify_consistency(prev.size, cp.size, prev.root, cp.root, hashes):
        why = (
            f"the head of size {cp.size} is not proven an extension of the head of size "
            f"{prev.size} (the consistency proof fails)"
        )
        raise _split_view(state, why, old_text, new_text)


def rotation_chain(path: Path, state: Path, head_text: str) -> list[tuple[int, Verifier]]:
    """The keys chained to the witness's mission key by the ``key_rotation`` entries of a
    bundle, which must hold exactly the log the head (not yet verified) claims."""
    pinned = Verifier.parse(_config(state)["log_key"])
    cp = parse_checkpoint(parse_note(head_text)[0])
    _, sigs = parse_note(head_text)
    if any(s.name == pinned.name and s.key_hash == pinned.key_hash for s in sigs):
        return [(0, pinned)]  # no rotation to follow: the bundle serves the proof only
    b = read_bundle(path, [cp.size])
    if b.size < cp.size or b.roots.get(cp.size) != cp.root:
        raise InputError(f"bundle {path} does not hold the log of the head of size {cp.size}")
    return key_chain(pinned, [(i, rec) for i, rec in b.rotations if i < cp.size])


def last_seen(state: Path) -> Checkpoint | None:
    """The last head this witness cosigned, if any."""
    latest = state / "latest.txt"
    if not latest.exists():
        return None
    return parse_checkpoint(parse_note(latest.read_text(encoding="utf-8"))[0])


def presented_size(head_text: str) -> int:
    """The size a (not yet verified) checkpoint claims."""
    return parse_checkpoint(parse_note(head_text)[0]).size


def proof_from_bundle(path: Path, old: int, new: int) -> tuple[int, int, list[bytes]]:
    """A consistency proof computed by the witness itself from an exported bundle's data,
    streamed: only the proof's nodes are kept as the tree is rebuilt."""
    ranges = consistency_ranges(old, new)
    b = read_bundle(path, nodes=[p for a, z in ranges for p in perfect_parts(a, z)])
    if b.size < new:
        raise InputError(f"bundle {path} has {b.size} entries, fewer than {new}")
    return old, new, resolve(ranges, lambda wanted: {w: b.nodes[w] for w in wanted})
