"""C2SP signed notes, checkpoints and cosignatures (Ed25519), by the published specs.

* signed-note (c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank
  line, then signature lines ``— <name> <base64(key hash (4 bytes) || signature)>``.
  The key hash is ``SHA-256(name || "\\n" || 0x01 || public key)[:4]``; a verifier
  key is published as ``<name>+<hex key hash>+<base64(0x01 || public key)>``.
* tlog-checkpoint (c2sp.org/tlog-checkpoint): the note body is three lines:
  origin, tree size (decimal), base64 of the root hash, then optional extension
  lines; truceline's heads carry one, ``time <unix seconds>``, the time of issue.
* tlog-cosignature/v1 (c2sp.org/tlog-cosignature): a witness signs
  ``"cosignature/v1\\ntime <t>\\n" || checkpoint body`` with a key of type 0x04
  (key hash over ``0x04 || public key``); the signature line carries
  ``base64(key hash || u64 big-endian t || signature)``.

Private keys are text ``PRIVATE+KEY+<name>+<hex key hash>+<base64(type || seed)>``
(the form of Go's ``golang.org/x/mod/sumdb/note``), kept in files, never in the DB.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from truceline.domain.errors import InputError, SignatureError

__all__ = [
    "COSIGNATURE",
    "ED25519",
    "Checkpoint",
    "Signature",
    "Signer",
    "Verifier",
    "add_signatures",
    "cosign",
    "format_checkpoint",
    "parse_checkpoint",
    "parse_note",
    "sign_note",
    "verify_cosignature",
    "verify_note",
]

ED25519 = 0x01  # signed-note Ed25519 signature type
COSIGNATURE = 0x04  # tlog-cosignature/v1 Ed25519 type
_DASH = "\u2014 "


def _key_hash(name: str, alg: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise InputError(f"key name {name!r} must be non-empty, without spaces or '+'")


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"{what} is not valid base64") from exc


@dataclass(frozen=True, slots=True)
class Verifier:
    """A public key with its name and signature type."""

    name: str
    alg: int
    public: bytes

    @property
    def key_hash(self) -> bytes:
        return _key_hash(self.name, self.alg, self.public)

    @property
    def key_id(self) -> str:
        """Hex SHA-256 over the key-hash input; its first 8 digits are the key hash."""
        raw = self.name.encode() + b"\n" + bytes([self.alg]) + self.public
        return hashlib.sha256(raw).hexdigest()

    @property
    def vkey(self) -> str:
        enc = base64.b64encode(bytes([self.alg]) + self.public).decode()
        return f"{self.name}+{self.key_hash.hex()}+{enc}"

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or len(parts[1]) != 8:
            raise InputError(f"not a verifier key (name+hash+key): {vkey.strip()[:80]!r}")
        raw = _b64(parts[2], "verifier key")
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE):
            raise InputError("verifier key must hold a type byte and a 32-byte Ed25519 key")
        v = cls(parts[0], raw[0], raw[1:])
        if v.key_hash.hex() != parts[1].lower():
            raise InputError(f"verifier key {parts[0]}: key hash does not match the key")
        return v


@dataclass(frozen=True, slots=True)
class Signer:
    """A private key with its name and signature type."""

    name: str
    alg: int
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str, alg: int = ED25519) -> Signer:
        _check_name(name)
        return cls(name, alg, Ed25519PrivateKey.generate())

    @property
    def verifier(self) -> Verifier:
        pub = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Verifier(self.name, self.alg, pub)

    def to_text(self) -> str:
        seed = self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        enc = base64.b64encode(bytes([self.alg]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_hash.hex()}+{enc}\n"

    @classmethod
    def from_text(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise InputError("not a private key file (PRIVATE+KEY+name+hash+key)")
        raw = _b64(parts[4], "private key")
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE):
            raise InputError("private key must hold a type byte and a 32-byte Ed25519 seed")
        signer = cls(parts[2], raw[0], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_hash.hex() != parts[3].lower():
            raise InputError("private key file: key hash does not match the key")
        return signer


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line of a note."""

    name: str
    key_hash: bytes
    blob: bytes  # after the key hash: signature (or timestamp || signature)

    @property
    def line(self) -> str:
        enc = base64.b64encode(self.key_hash + self.blob).decode()
        return f"{_DASH}{self.name} {enc}\n"


def sign_note(body: str, signer: Signer) -> Signature:
    """The signer's signature of a note ``body`` (text ending in a newline)."""
    if not body.endswith("\n"):
        raise InputError("a note body must end with a newline")
    return Signature(signer.name, signer.verifier.key_hash, signer.private.sign(body.encode()))


def add_signatures(body: str, signatures: list[Signature]) -> str:
    """The signed note: body, blank line, signature lines."""
    return body + "\n" + "".join(s.line for s in signatures)


def parse_note(text: str) -> tuple[str, list[Signature]]:
    """Split a signed note into its body and its signature lines."""
    cut = text.rfind("\n\n")
    if cut < 0:
        raise InputError("not a signed note: no blank line before the signatures")
    body, sigs = text[: cut + 1], text[cut + 2 :]
    out = []
    for raw in sigs.splitlines():
        if not raw.startswith(_DASH):
            raise InputError(f"not a note signature line: {raw[:80]!r}")
        name, _, enc = raw[len(_DASH) :].partition(" ")
        blob = _b64(enc, f"signature of {name}")
        if len(blob) < 4 + 64:
            raise InputError(f"signature of {name} is too short")
        out.append(Signature(name, blob[:4], blob[4:]))
    if not out:
        raise InputError("signed note has no signature lines")
    return body, out


def _verify(public: bytes, sig: bytes, msg: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, msg)
    except InvalidSignature:
        return False
    return True


def verify_note(text: str, verifier: Verifier) -> str:
    """The body of ``text`` when ``verifier`` signed it; SignatureError otherwise."""
    body, sigs = parse_note(text)
    mine = [s for s in sigs if s.name == verifier.name and s.key_hash == verifier.key_hash]
    if not mine:
        names = ", ".join(sorted({s.name for s in sigs}))
        raise SignatureError(f"no signature by key {verifier.vkey} (signed by: {names})")
    if not any(len(s.blob) == 64 and _verify(verifier.public, s.blob, body.encode()) for s in mine):
        raise SignatureError(f"the signature by {verifier.name} does not match the note")
    return body


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    @property
    def body(self) -> str:
        return format_checkpoint(self.origin, self.size, self.root, self.extensions)

    @property
    def time(self) -> int | None:
        """The ``time <unix seconds>`` extension line (when the head was issued), if any."""
        for line in self.extensions:
            word, _, value = line.partition(" ")
            if word == "time" and value.isascii() and value.isdigit():
                return int(value)
        return None


def format_checkpoint(origin: str, size: int, root: bytes, extensions: tuple[str, ...] = ()) -> str:
    """The C2SP checkpoint body: origin, size, base64 root hash and any extension lines."""
    if any(not x or "\n" in x for x in extensions):
        raise InputError("a checkpoint extension line must be non-empty and one line")
    ext = "".join(x + "\n" for x in extensions)
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n{ext}"


def parse_checkpoint(body: str) -> Checkpoint:
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise InputError("a checkpoint has origin, size and root hash lines")
    origin, size_text, root_text = lines[:3]
    digits = size_text.isascii() and size_text.isdigit()  # "²" and "٣" are isdigit() too
    if not digits or (size_text != "0" and size_text.startswith("0")):
        raise InputError(f"checkpoint size {size_text!r} is not a decimal number")
    root = _b64(root_text, "checkpoint root hash")
    if len(root) != 32:
        raise InputError("checkpoint root hash must be 32 bytes")
    extensions = tuple(lines[3:-1])
    if any(not x for x in extensions):
        raise InputError("a checkpoint extension line is empty")
    return Checkpoint(origin, int(size_text), root, extensions)


def _cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()


def cosign(body: str, signer: Signer, timestamp: int) -> Signature:
    """A tlog-cosignature/v1 line by a witness key (type 0x04) over a checkpoint body."""
    if signer.alg != COSIGNATURE:
        raise InputError("a cosignature needs a witness key (type 0x04)")
    sig = signer.private.sign(_cosigned_message(body, timestamp))
    return Signature(signer.name, signer.verifier.key_hash, struct.pack(">Q", timestamp) + sig)


def verify_cosignature(text: str, verifier: Verifier) -> int:
    """The timestamp of ``verifier``'s valid cosignature on the note ``text``."""
    body, sigs = parse_note(text)
    for s in sigs:
        if s.name != verifier.name or s.key_hash != verifier.key_hash or len(s.blob) != 72:
            continue
        (t,) = struct.unpack(">Q", s.blob[:8])
        if _verify(verifier.public, s.blob[8:], _cosigned_message(body, t)):
            return int(t)
        raise SignatureError(f"the cosignature by {verifier.name} does not match the checkpoint")
    raise SignatureError(f"no cosignature by witness key {verifier.vkey}")
