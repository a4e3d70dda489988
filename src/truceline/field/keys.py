"""The device's key pair: ``device.key`` (PEM, private, mode 0600) and ``device.pub``
(PEM, to register with ``truceline sources add ID --public-key device.pub``)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from truceline.domain.errors import Conflict, InputError, NotFound

__all__ = ["PRIVATE", "PUBLIC", "create_keys", "load_key", "public_b64"]

PRIVATE = "device.key"
PUBLIC = "device.pub"


def create_keys(folder: Path) -> Ed25519PrivateKey:
    """Make the device's key pair in ``folder``; refuses to replace an existing one."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / PRIVATE
    if path.exists():
        raise Conflict(f"{path}: a device key exists already; a device keeps its key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    pub = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (folder / PUBLIC).write_bytes(pub)
    return key


def load_key(folder: Path) -> Ed25519PrivateKey:
    path = folder / PRIVATE
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise NotFound(f"{path}: no device key (run `truceline field init`)") from exc
    except ValueError as exc:
        raise InputError(f"{path}: not a PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 key")
    return key


def public_b64(key: Ed25519PrivateKey) -> str:
    """The public key as base64 of its 32 raw bytes (``sources add --public-key`` takes it)."""
    return base64.b64encode(key.public_key().public_bytes_raw()).decode("ascii")
