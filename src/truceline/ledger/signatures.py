"""Ed25519 signatures of submissions: a source signs the canonical bytes of its record.

Signing uses ``cryptography``; checking uses libsodium through PyNaCl (the same
RFC 8032 signatures, verified in about half the time of OpenSSL's, and with the GIL
released). A batch is checked on a few threads (:func:`verify_many`) while the
caller gets on with the rest of its work.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from threading import Lock
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from truceline.ledger.canonical import canonical_bytes

__all__ = ["VERIFY_THREADS", "PendingChecks", "sign_record", "verify_many", "verify_record"]

#: threads that check a batch's signatures (libsodium runs without the GIL, so each
#: one uses a core)
VERIFY_THREADS = max(1, min(4, os.cpu_count() or 1))
#: below this many signatures a batch is checked on the caller's thread (handing work
#: to a thread and back costs more than a few checks)
_INLINE = 64
_MISMATCH = "signature does not match the record and the source's key"

_pool: ThreadPoolExecutor | None = None
_pool_lock = Lock()


def sign_record(private_key: Ed25519PrivateKey, record: Mapping[str, Any]) -> str:
    """Base64 Ed25519 signature over the RFC 8785 bytes of ``record``."""
    return base64.b64encode(private_key.sign(canonical_bytes(record))).decode("ascii")


def _check(public_key: bytes, message: bytes, signature: str) -> str | None:
    try:
        sig = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return "signature is not valid base64"
    if len(sig) != 64:
        return f"signature must be 64 bytes, got {len(sig)}"
    try:
        crypto_sign_open(sig + message, public_key)
    except (CryptoError, ValueError, TypeError):  # a key that is no curve point too
        return _MISMATCH
    return None


def verify_record(public_key: bytes, record: Mapping[str, Any], signature: str) -> str | None:
    """None when ``signature`` is ``record``'s by ``public_key``, else the reason it is not."""
    return _check(public_key, canonical_bytes(record), signature)


def _checks(
    keys: Sequence[bytes], messages: Sequence[bytes], signatures: Sequence[str]
) -> list[str | None]:
    return [_check(k, m, s) for k, m, s in zip(keys, messages, signatures, strict=True)]


class PendingChecks:
    """Signature checks under way; :meth:`reasons` waits for them."""

    def __init__(self, parts: list[Future[list[str | None]]]) -> None:
        self._parts = parts

    def reasons(self) -> list[str | None]:
        """For each signature, None when it holds, else why not (in the order given)."""
        return [r for part in self._parts for r in part.result()]


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(VERIFY_THREADS, thread_name_prefix="truceline-verify")
        return _pool


def verify_many(
    keys: Sequence[bytes], messages: Sequence[bytes], signatures: Sequence[str]
) -> PendingChecks:
    """Start checking each ``signatures[i]`` over ``messages[i]`` (canonical record bytes)
    against ``keys[i]``: on :data:`VERIFY_THREADS` threads, or at once when there are few.
    The reasons are :func:`verify_record`'s."""
    n = len(signatures)
    if n < _INLINE or VERIFY_THREADS == 1:
        done: Future[list[str | None]] = Future()
        done.set_result(_checks(keys, messages, signatures))
        return PendingChecks([done])
    step = -(-n // VERIFY_THREADS)
    pool = _executor()
    parts = [
        pool.submit(_checks, keys[i : i + step], messages[i : i + step], signatures[i : i + step])
        for i in range(0, n, step)
    ]
    return PendingChecks(parts)
