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
