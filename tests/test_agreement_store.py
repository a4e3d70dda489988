"""Agreements in the store (SQLite file and PostgreSQL): versions, idempotency, the ledger."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select
from test_agreement_helpers import TOML, write_tiny

from truceline.compliance.agreement import load_agreement_file
from truceline.domain.errors import AgreementError
from truceline.ledger.canonical import canonical_bytes
from truceline.service.agreements import (
    agreement_in_force,
    agreement_versions,
    load_agreement,
)
from truceline.service.workspace import Workspace
from truceline.store.schema import agreements, ledger_entries

JAN_2020 = 1577836800
JUL_2020 = 1593561600
JAN_2021 = 1609459200


def _version(tmp_path: Path, name: str, version: int, start: str, end: str | None = None) -> Path:
    toml = TOML.replace("version = 1", f"version = {version}")
    toml = toml.replace(
        "valid_from = 2020-01-01", f"valid_from = {start}" + (f"\nvalid_to = {end}" if end else "")
    )
    toml = toml.replace("radius_km = 10", f"radius_km = {10 + version}")  # different content
    return write_tiny(tmp_path / name, toml)


def test_load_stores_json_and_ledger_entry(workspace: Workspace, tmp_path: Path) -> None:
    path = write_tiny(tmp_path / "v1")
    loaded = load_agreement(workspace, path)
    assert (loaded.agreement_id, loaded.version, loaded.added) == ("tiny", 1, True)
    a = load_agreement_file(path)
    with workspace.engine.connect() as conn:
        row = conn.execute(select(agreements)).one()
        entry = conn.execute(select(ledger_entries)).one()
        assert hashlib.sha256(row.content.encode()).hexdigest() == row.sha256 == loaded.sha256
        assert row.content.encode() == canonical_bytes(a.to_json())
        assert row.ledger_index == entry.idx == loaded.ledger_index
        assert (entry.kind, entry.ref) == ("agreement", "tiny@1")
        assert loaded.sha256.encode() in bytes(entry.data)
        assert agreement_in_force(conn, JAN_2020) == a
        assert agreement_in_force(conn, JAN_2020 - 1) is None
        assert agreement_versions(conn) == [a]


def test_loading_the_same_version_twice_adds_nothing(workspace: Workspace, tmp_path: Path) -> None:
    path = write_tiny(tmp_path / "v1")
    first = load_agreement(workspace, path)
    again = load_agreement(workspace, path)
    assert again.added is False and again.sha256 == first.sha256
    with workspace.engine.connect() as conn:
        assert len(conn.execute(select(agreements)).all()) == 1
        assert len(conn.execute(select(ledger_entries)).all()) == 1


def test_same_version_other_content_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    load_agreement(workspace, write_tiny(tmp_path / "v1"))
    changed = write_tiny(tmp_path / "v1b", TOML.replace("radius_km = 10", "radius_km = 12"))
    with pytest.raises(AgreementError, match="agreement.version: version 1 of 'tiny' is already"):
        load_agreement(workspace, changed)


def test_new_version_closes_the_previous_one(workspace: Workspace, tmp_path: Path) -> None:
    load_agreement(workspace, _version(tmp_path, "v1", 1, "2020-01-01"))
    loaded = load_agreement(workspace, _version(tmp_path, "v2", 2, "2020-07-01"))
    assert loaded.closed == (1,)
    with workspace.engine.connect() as conn:
        v1, v2 = agreement_versions(conn)
        assert (v1.version, v1.valid_to, v2.version, v2.valid_to) == (1, JUL_2020, 2, None)
        assert agreement_in_force(conn, JUL_2020 - 1).version == 1  # type: ignore[union-attr]
        assert agreement_in_force(conn, JUL_2020).version == 2  # type: ignore[union-attr]
        entry = conn.execute(select(ledger_entries).order_by(ledger_entries.c.idx.desc())).first()
        assert entry is not None and b'"closes":[{"valid_to":1593561600,"version":1}]' in entry.data


def test_overlapping_versions_are_refused(workspace: Workspace, tmp_path: Path) -> None:
    load_agreement(workspace, _version(tmp_path, "v1", 1, "2020-01-01", "2021-01-01"))
    with pytest.raises(AgreementError, match=r"v2/agreement.toml: agreement.valid_from: overlaps"):
        load_agreement(workspace, _version(tmp_path, "v2", 2, "2020-07-01"))
    with pytest.raises(AgreementError, match="overlaps version 1"):
        load_agreement(workspace, _version(tmp_path, "v0", 2, "2019-01-01"))
    # an older version loaded late must end before the later one starts
    load_agreement(workspace, _version(tmp_path, "v3", 3, "2021-01-01"))
    with pytest.raises(AgreementError, match="a later version that starts before this one ends"):
        load_agreement(workspace, _version(tmp_path, "v2b", 2, "2021-06-01"))
    with workspace.engine.connect() as conn:
        assert [a.version for a in agreement_versions(conn)] == [1, 3]
        assert agreement_in_force(conn, JAN_2021).version == 3  # type: ignore[union-attr]
        assert len(conn.execute(select(ledger_entries)).all()) == 2  # refusals left no trace
