"""Ed25519 signatures of submissions: a source signs the canonical bytes of its record."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from truceline.ledger.canonical import canonical_bytes

__all__ = ["sign_record", "verify_record"]


def sign_record(private_key: Ed25519PrivateKey, record: Mapping[str, Any]) -> str:
    """Base64 Ed25519 signature over the RFC 8785 bytes of ``record``."""
    return base64.b64encode(private_key.sign(canonical_bytes(record))).decode("ascii")


def verify_record(public_key: bytes, record: Mapping[str, Any], signature: str) -> str | None:
    """None when ``signature`` is ``record``'s by ``public_key``, else the reason it is not."""
    try:
        sig = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return "signature is not valid base64"
    if len(sig) != 64:
        return f"signature must be 64 bytes, got {len(sig)}"
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(sig, canonical_bytes(record))
    except InvalidSignature:
        return "signature does not match the record and the source's key"
    return None
