"""The normalised observation: the one shape every intake parser produces.

A batch of observations is a ``pyarrow.RecordBatch`` with :data:`OBSERVATION_SCHEMA`
(columns, not Python objects: a million observations is an ordinary day).
``t`` is integer seconds since the epoch, UTC. A point observation has
``lon``/``lat``/``radius_m``; a bearing observation has ``obs_lon``/``obs_lat``/
``bearing_deg``/``bearing_sd_deg`` and optionally ``range_min_m``/``range_max_m``.

:func:`observation_record` gives the record that is signed by a source and
appended to the ledger; its canonical bytes (RFC 8785) are what a signature covers.
``attrs`` is held as text: sent as a JSON object it becomes that object's RFC 8785
text (:func:`attrs_text`), so a signer in any language makes the same bytes; sent as
text (a CSV cell, a JSON string) it stays the text sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from truceline.ledger.canonical import canonical_bytes

__all__ = [
    "MAX_DISTANCE_M",
    "MAX_T_UNC_S",
    "OBSERVATION_SCHEMA",
    "RECORD_FIELDS",
    "attrs_text",
    "observation_record",
    "observation_uid",
]

#: metres: half the Earth's equatorial circumference. No two places on Earth lie farther
#: apart, so no radius of uncertainty and no range of a bearing can be larger.
MAX_DISTANCE_M = 20_037_509.0
#: seconds: ten Julian years. A report whose time is that uncertain says nothing about a
#: ceasefire, and a larger one overflows the incidents' time spans (seconds as integers).
MAX_T_UNC_S = 315_576_000.0

OBSERVATION_SCHEMA = pa.schema(
    [
        pa.field("source_id", pa.string(), nullable=False),
        pa.field("source_type", pa.string()),  # used to register an unknown source
        pa.field("client_id", pa.string()),  # the source's own id for the record
        pa.field("t", pa.int64(), nullable=False),
        pa.field("t_unc_s", pa.float64(), nullable=False),
        pa.field("lon", pa.float64()),
        pa.field("lat", pa.float64()),
        pa.field("radius_m", pa.float64()),
        pa.field("obs_lon", pa.float64()),
        pa.field("obs_lat", pa.float64()),
        pa.field("bearing_deg", pa.float64()),
        pa.field("bearing_sd_deg", pa.float64()),
        pa.field("range_min_m", pa.float64()),
        pa.field("range_max_m", pa.float64()),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("weapon_class", pa.string()),
        pa.field("count", pa.int64(), nullable=False),
        pa.field("credibility", pa.int64(), nullable=False),
        pa.field("actor", pa.string()),
        pa.field("corrects", pa.string()),
        pa.field("description", pa.string()),
        pa.field("attrs", pa.string()),  # JSON object text
        pa.field("signature", pa.string()),  # base64 Ed25519 over the canonical record
    ]
)

#: the fields of the signed / ledgered record, in schema order (signature excluded)
RECORD_FIELDS: tuple[str, ...] = tuple(
    f.name for f in OBSERVATION_SCHEMA if f.name not in ("signature", "source_type")
)


def attrs_text(attrs: Mapping[str, Any]) -> str:
    """The text an ``attrs`` object is stored, ledgered and signed as: its RFC 8785 form
    (``InputError`` when it has none, e.g. an integer beyond 2**53)."""
    return canonical_bytes(attrs).decode("utf-8")


def observation_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical record of one observation: every record field, nulls dropped."""
    return {k: row[k] for k in RECORD_FIELDS if row.get(k) is not None}


def observation_uid(record: Mapping[str, Any]) -> str:
    """Idempotency key: the source's client id when given, else the record's content."""
    if record.get("client_id"):
        key = f"{record['source_id']}\x1f{record['client_id']}".encode()
    else:
        key = canonical_bytes(record)
    return hashlib.sha256(key).hexdigest()
