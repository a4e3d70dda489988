"""Signed submissions: good, bad, missing, wrong key, replayed; per-source policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from observation_rows import KEY, sighting, signed
from sqlalchemy import func, select, update

from truceline.domain.errors import RejectedBatch
from truceline.domain.observations import OBSERVATION_SCHEMA
from truceline.intake import write_observations
from truceline.service.ingest import ingest_files
from truceline.service.sources import ensure_sources
from truceline.service.workspace import Workspace
from truceline.store.schema import observations, sources

OTHER = Ed25519PrivateKey.generate()


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    write_observations(path, pa.Table.from_pylist(rows, schema=OBSERVATION_SCHEMA))
    return path


def _register(ws: Workspace, source_id: str, policy: str, key: Ed25519PrivateKey | None) -> None:
    with ws.engine.begin() as conn:
        ensure_sources(conn, [(source_id, "monitor")])
        pub = None if key is None else key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        conn.execute(
            update(sources)
            .where(sources.c.id == source_id)
            .values(signature_policy=policy, public_key=pub)
        )


def _stored(ws: Workspace) -> set[str]:
    with ws.engine.connect() as conn:
        return set(conn.execute(select(observations.c.client_id)).scalars())


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_signatures_checked_per_source_policy(
    workspace: Workspace, tmp_path: Path, suffix: str
) -> None:
    _register(workspace, "mon-01", "required", KEY)
    forged = signed(sighting("bad"))
    forged["lon"] = 37.9  # changed after signing
    rows = [
        signed(sighting("good")),
        forged,
        sighting("missing"),
        signed(sighting("wrong-key"), OTHER),
        signed(sighting("good")),  # replayed within the file
        {**sighting("garbled"), "signature": "not base64!"},
        sighting("open", source_id="osint-1", source_type="osint"),  # optional, unsigned
    ]
    f = ingest_files(workspace, [_write(tmp_path / f"s{suffix}", rows)]).files[0]
    assert (f.read, f.accepted, f.duplicates, f.rejected) == (7, 2, 1, 4)
    reasons = {p.record: p.reason for p in f.problems}
    assert set(reasons) == {"bad", "missing", "wrong-key", "garbled"}
    assert all(p.field == "signature" for p in f.problems)
    first = 2 if suffix == ".csv" else 1  # the CSV header is row 1
    assert [p.line for p in f.problems] == [first + 1, first + 2, first + 3, first + 5]
    assert reasons["bad"].startswith("signature does not match")
    assert reasons["wrong-key"].startswith("signature does not match")
    assert reasons["missing"] == "missing signature (source mon-01 requires signed submissions)"
    assert "base64" in reasons["garbled"]
    assert _stored(workspace) == {"good", "open"}
    with workspace.engine.connect() as conn:
        sig = conn.execute(
            select(observations.c.signature).where(observations.c.client_id == "good")
        ).scalar_one()
    assert sig == rows[0]["signature"]


def test_replayed_file_is_all_duplicates(workspace: Workspace, tmp_path: Path) -> None:
    _register(workspace, "mon-01", "required", KEY)
    path = _write(tmp_path / "s.jsonl", [signed(sighting("a")), signed(sighting("b"))])
    assert ingest_files(workspace, [path]).accepted == 2
    again = ingest_files(workspace, [path]).files[0]
    assert (again.accepted, again.duplicates, again.rejected) == (0, 2, 0)
    with workspace.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(observations)).scalar_one() == 2


def test_key_without_required_policy_still_checks_given_signatures(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _register(sqlite_workspace, "mon-01", "optional", KEY)
    rows = [sighting("unsigned"), signed(sighting("signed")), signed(sighting("forged"), OTHER)]
    f = ingest_files(sqlite_workspace, [_write(tmp_path / "s.jsonl", rows)]).files[0]
    assert (f.accepted, f.rejected) == (2, 1) and f.problems[0].record == "forged"


def test_required_without_key_refuses_signed_rows(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _register(sqlite_workspace, "mon-01", "required", None)
    f = ingest_files(sqlite_workspace, [_write(tmp_path / "s.jsonl", [signed(sighting("x"))])])
    assert f.files[0].accepted == 0
    assert "no public key registered" in f.files[0].problems[0].reason


def test_strict_refuses_file_with_one_bad_signature(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    _register(sqlite_workspace, "mon-01", "required", KEY)
    rows = [signed(sighting("a")), sighting("unsigned")]
    with pytest.raises(RejectedBatch) as exc:
        ingest_files(sqlite_workspace, [_write(tmp_path / "s.jsonl", rows)], strict=True)
    assert [p.record for p in exc.value.errors] == ["unsigned"]
    assert _stored(sqlite_workspace) == set()


def test_signature_is_ledgered_checkable_offline_and_guarded(
    workspace: Workspace, tmp_path: Path
) -> None:
    import base64
    import json

    from truceline.ledger.signatures import verify_record
    from truceline.service.ledger import verify_store
    from truceline.service.sources import register_source
    from truceline.store.schema import ledger_entries

    pub = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    register_source(workspace, "mon-01", "monitor", signature_policy="required",
                    public_key=base64.b64encode(pub).decode(), actor="test")  # fmt: skip
    assert ingest_files(workspace, [_write(tmp_path / "s.jsonl", [signed(sighting("a"))])]).accepted
    with workspace.engine.connect() as conn:
        data = conn.execute(
            select(ledger_entries.c.data).where(ledger_entries.c.kind == "observation")
        ).scalar_one()
    record = json.loads(bytes(data))["record"]
    signature = record.pop("signature")
    assert verify_record(pub, record, signature) is None  # an auditor needs no database
    forged = signed(sighting("a"), OTHER)["signature"]
    with workspace.engine.begin() as conn:
        conn.execute(update(observations).values(signature=forged))
    issues = verify_store(workspace).issues
    assert any(i.problem == "modified" and "signature" in i.detail for i in issues)


# RFC 8032, 7.1, tests 1-3: (secret key, public key, message, signature), hex
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
        "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
        "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290"
        "ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]
#: the order of Ed25519's base point (RFC 8032, 5.1): a signature's S must be below it
L = 2**252 + 27742317777372353535851937790883648493


def _openssl(key: bytes, message: bytes, sig: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(key).verify(sig, message)
    except InvalidSignature:
        return False
    return True


def _cases() -> list[tuple[str, bytes, bytes, bytes]]:
    """(what, public key, message, signature) for each vector: as given, tampered (one
    bit of the signature), under another vector's key, with S + L for S (the same point
    arithmetic, refused by RFC 8032's check that S < L), and over a changed message."""
    out = []
    for n, (_, public, message, signature) in enumerate(RFC8032):
        key, msg, sig = bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature)
        other = bytes.fromhex(RFC8032[(n + 1) % len(RFC8032)][1])
        s = int.from_bytes(sig[32:], "little") + L
        out += [
            ("good", key, msg, sig),
            ("tampered", key, msg, sig[:10] + bytes([sig[10] ^ 1]) + sig[11:]),
            ("wrong key", other, msg, sig),
            ("S not reduced", key, msg, sig[:32] + s.to_bytes(32, "little")),
            ("changed message", key, msg + b"\0", sig),
        ]
    return out


def test_rfc8032_vectors_sign_and_verify_alike_in_both_libraries() -> None:
    """Signing (``cryptography``) gives RFC 8032's signatures; checking (libsodium, on the
    verification threads when there are many) accepts and refuses exactly what OpenSSL
    does, whether one at a time or in a batch."""
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from truceline.ledger.signatures import verify_many

    for secret, public, message, signature in RFC8032:
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
        assert key.public_key().public_bytes_raw().hex() == public
        assert key.sign(bytes.fromhex(message)).hex() == signature
    cases = _cases() * 20  # 300: enough to go to the threads
    keys, messages = [c[1] for c in cases], [c[2] for c in cases]
    sigs = [base64.b64encode(c[3]).decode() for c in cases]
    expected = [c[0] == "good" for c in cases]
    assert [_openssl(k, m, s) for _, k, m, s in cases] == expected
    for few in (slice(0, 15), slice(None)):  # checked on the caller's thread, then on the pool
        reasons = verify_many(keys[few], messages[few], sigs[few]).reasons()
        assert [r is None for r in reasons] == expected[few]
        assert all(r is None or r.startswith("signature does not match") for r in reasons)
    short = verify_many([keys[0]], [b""], [base64.b64encode(b"x" * 63).decode()]).reasons()
    assert short == ["signature must be 64 bytes, got 63"]


def test_few_rows_are_canonicalised_row_by_row_as_many_are_in_columns() -> None:
    """A few API submissions are canonicalised a record at a time, a file's chunk a column
    at a time: the signed bytes and the ledger entries are the same either way."""
    import pyarrow as pa

    from truceline.service import ingest

    rows = []
    for i in range(3 * ingest._ROW_BY_ROW):
        row = sighting(f"c-{i}", lon=37.8 + i / 7, t_unc_s=float(i % 3))
        if i % 4 == 0:
            row.update(lon=None, lat=None, obs_lon=30.1, obs_lat=50.0, bearing_deg=i % 360.0,
                       bearing_sd_deg=5.0)  # fmt: skip
        if i % 5 == 0:
            row["description"] = f'said "{i}" \\ ünïcødé\n\x01'
            row["attrs"] = '{"b":1,"a":[1.5,null]}'
        if i % 3 == 0:
            row = signed(row)
        rows.append(row)
    batch = pa.RecordBatch.from_pylist(rows, schema=OBSERVATION_SCHEMA)
    refs = pa.array([f"ref-{i}" for i in range(batch.num_rows)])
    assert batch.num_rows >= ingest._ROW_BY_ROW  # in columns
    n = ingest._ROW_BY_ROW - 1
    parts = [(batch.slice(s, n), refs.slice(s, n)) for s in range(0, batch.num_rows, n)]
    assert ingest._signed_bytes(batch) == [m for b, _ in parts for m in ingest._signed_bytes(b)]
    whole = ingest._entry_datas(batch, refs, 1_740_000_000)
    assert whole == [d for b, r in parts for d in ingest._entry_datas(b, r, 1_740_000_000)]
    assert ingest._source_kinds(batch) == {("mon-01", "monitor")}
