"""Observation rows as a monitor submits them, and their Ed25519 signatures, for tests."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from truceline.domain.observations import observation_record
from truceline.ledger.signatures import sign_record

#: the test monitor's signing key
KEY = Ed25519PrivateKey.generate()


def sighting(client_id: str, source_id: str = "mon-01", **kw: Any) -> dict[str, Any]:
    """One explosion seen by monitor ``source_id``; ``kw`` replaces or adds fields."""
    row: dict[str, Any] = {
        "source_id": source_id,
        "source_type": "monitor",
        "client_id": client_id,
        "t": 1740802200,
        "t_unc_s": 30.0,
        "lon": 37.8,
        "lat": 48.2,
        "radius_m": 250.0,
        "kind": "explosion",
        "count": 1,
        "credibility": 2,
    }
    row.update(kw)
    return row


def signed(row: dict[str, Any], key: Ed25519PrivateKey = KEY) -> dict[str, Any]:
    """``row`` with its ``signature`` by ``key``."""
    return {**row, "signature": sign_record(key, observation_record(row))}
