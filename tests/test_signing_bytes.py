"""What a source signs is defined by RFC 8785, not by Python: docs/api.md gives a
submission and the bytes it is signed as, and a client that signs those bytes (written
out, not made by truceline) is accepted over real HTTP, its ``attrs`` sent as a JSON
object in any key order and number spelling."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from truceline.domain.observations import observation_record
from truceline.intake.jsonfile import parse_records
from truceline.ledger.canonical import canonical_bytes
from truceline.service.sources import register_source
from truceline.service.users import add_user
from truceline.service.workspace import Workspace

DOC = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text("utf-8")


def _example() -> tuple[str, bytes]:
    """The submission (JSON text) and its signed bytes, as docs/api.md gives them."""
    part = DOC[DOC.index("### Signing a record") :]
    sent = re.search(r"```json\n(.*?)```", part, re.S)
    signed = re.search(r"```text\n(.*?)\n```", part, re.S)
    assert sent is not None and signed is not None
    return sent.group(1), signed.group(1).encode("utf-8")


def test_the_documented_bytes_are_what_the_intake_signs() -> None:
    import json

    sent, signed = _example()
    chunk = parse_records([json.loads(sent)], "docs")
    assert not chunk.problems
    record = observation_record(chunk.batch.to_pylist()[0])
    assert canonical_bytes(record) == signed
    assert rfc8785.dumps(record) == signed  # the reference implementation agrees
    assert record["attrs"] == rfc8785.dumps({"a": [1, 2], "b": 1.5e-7, "note": "ü"}).decode()


def test_a_client_signing_the_canonical_bytes_is_accepted(
    sqlite_workspace: Workspace, api_server: str
) -> None:
    key = Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    register_source(sqlite_workspace, "mon-07", "monitor", public_key=base64.b64encode(pub),
                    actor="test")  # fmt: skip
    token = add_user(sqlite_workspace, "m", "monitor", source="mon-07").token
    h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sent, signed = _example()
    # the documented submission, and the same one spelt otherwise by another client: keys
    # in another order, the float with a capital exponent, the letter escaped
    other = ('{"attrs": {"note": "\\u00fc", "a": [1, 2], "b": 1.5E-7}, "kind": "explosion", '
             '"count": 2, "client_id": "2026-01-15-002", "source_id": "mon-07", '
             '"t": 1768469400, "lon": 37.8012, "lat": 48.2034, "radius_m": 250.0}')  # fmt: skip
    other_signed = signed.replace(b"2026-01-15-001", b"2026-01-15-002")
    for body, message in ((sent, signed), (other, other_signed)):
        signature = base64.b64encode(key.sign(message)).decode()
        text = body.rstrip().removesuffix("}") + f', "signature": "{signature}"}}'
        r = httpx.post(f"{api_server}/observations", content=text.encode(), headers=h,
                       timeout=30)  # fmt: skip
        assert r.status_code == 201, r.text
    bad = base64.b64encode(key.sign(other_signed + b" ")).decode()
    text = other.replace("-002", "-003")[:-1] + f', "signature": "{bad}"}}'
    r = httpx.post(f"{api_server}/observations", content=text.encode(), headers=h, timeout=30)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "signature"
