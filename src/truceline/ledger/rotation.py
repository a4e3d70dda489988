"""Key rotation anchored in the log: the old key signs the new one, in a ledger entry.

The mission keeps its origin (the log's name) across rotations; what anchors a new
key is a ``key_rotation`` entry whose record names the old and the new verifier
keys and carries the old key's Ed25519 signature over

    truceline key rotation/v1\\n<old verifier key>\\n<new verifier key>\\n

A party pins the first key (its fingerprint, ``keys show``); a head signed by any
later key is accepted only through an unbroken chain of such entries from the pinned
key, each inside the log the head signs (``ledger verify``, ``witness check``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from truceline.domain.errors import InputError, IntegrityError, SignatureError
from truceline.ledger.note import Signer, Verifier, parse_checkpoint, verify_note

__all__ = [
    "ROTATION",
    "key_chain",
    "rotation_message",
    "rotation_record",
    "verify_head",
    "verify_rotation",
]

ROTATION = "key_rotation"


def rotation_message(old_vkey: str, new_vkey: str) -> bytes:
    return f"truceline key rotation/v1\n{old_vkey}\n{new_vkey}\n".encode()


def rotation_record(old: Signer, new: Verifier, at: int) -> dict[str, Any]:
    """The ledger record of a rotation from ``old`` to ``new``, signed by ``old``."""
    msg = rotation_message(old.verifier.vkey, new.vkey)
    sig = base64.b64encode(old.private.sign(msg)).decode()
    return {"old_key": old.verifier.vkey, "new_key": new.vkey, "at": at, "signature": sig}


def verify_rotation(record: Mapping[str, Any]) -> tuple[Verifier, Verifier]:
    """The (old, new) keys of a rotation record whose signature by the old key holds."""
    try:
        old = Verifier.parse(str(record["old_key"]))
        new = Verifier.parse(str(record["new_key"]))
        sig = base64.b64decode(str(record["signature"]), validate=True)
        Ed25519PublicKey.from_public_bytes(old.public).verify(
            sig, rotation_message(old.vkey, new.vkey)
        )
    except (KeyError, TypeError, ValueError, binascii.Error, InputError) as exc:
        raise SignatureError(f"not a key rotation record: {exc}") from exc
    except InvalidSignature as exc:
        raise SignatureError(
            f"the rotation to {record.get('new_key')} is not signed by the key it rotates from"
        ) from exc
    return old, new


def key_chain(
    pinned: Verifier, rotations: Iterable[tuple[int, Mapping[str, Any]]]
) -> list[tuple[int, Verifier]]:
    """``(first index it may sign from, key)`` from the pinned key on: each rotation entry
    ``(index, record)`` must be signed by the key then current; a head signed by a key
    must include the entry that introduced it (size > index)."""
    chain = [(0, pinned)]
    for idx, rec in rotations:
        old, new = verify_rotation(rec)
        if old.vkey != chain[-1][1].vkey:
            raise IntegrityError(
                f"entry {idx}: a key rotation from {old.vkey}, which is not the current key "
                f"{chain[-1][1].vkey}: the chain from the pinned key is broken"
            )
        chain.append((idx + 1, new))
    return chain


def verify_head(text: str, chain: list[tuple[int, Verifier]]) -> tuple[str, Verifier]:
    """The body of a head signed by a key of ``chain`` that the head's log includes."""
    failures = []
    for since, key in reversed(chain):
        try:
            body = verify_note(text, key)
        except SignatureError as exc:
            failures.append(exc.message)
            continue
        size = parse_checkpoint(body).size
        if size < since:
            raise IntegrityError(
                f"a head of size {size} is signed by {key.vkey}, which the log introduces "
                f"only at entry {since - 1}"
            )
        return body, key
    raise SignatureError(
        "the head is signed by no key of the chain from the pinned key: " + failures[0]
    )
