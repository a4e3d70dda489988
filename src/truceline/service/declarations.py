"""Declarations: figures a party or operator states for a period, stored with the ledger.

A declaration is idempotent on its content (the same figure filed twice is
stored once); a different figure for the same party, item and period is a new
declaration (a correction, or an inconsistency the declaration duty reports).
The mission stamps the time it receives a declaration (``filed_at`` in the store);
the date the declarant wrote is kept as stated (``attrs.stated_at``) but lateness is
judged on receipt: a declaration received after the period's end plus the due days
of the ``declaration_duty`` rule in force is stored and flagged ``late``. Units come
from a fixed vocabulary per subject (``domain.vocab.DECLARATION_UNITS``). A party may
sign its declaration (Ed25519 over :func:`declaration_record`) with the key of one of
its own channels (a source with that ``party``): the signature is verified, refused
if it does not match, and kept with the declaration.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from truceline.compliance.periods import month_label, parse_month, to_epoch
from truceline.compliance.rules import Declaration
from truceline.domain.errors import InputError, Problem
from truceline.domain.vocab import DECLARATION_UNITS
from truceline.ledger.canonical import canonical_bytes
from truceline.ledger.signatures import verify_record
from truceline.service.agreements import agreement_in_force
from truceline.service.workspace import Workspace
from truceline.store import declarations as store
from truceline.store.db import Connection, reading, store_errors
from truceline.store.ledger import append

__all__ = [
    "SUBJECTS",
    "DeclarationIn",
    "DeclareReport",
    "Stored",
    "declare",
    "declaration_record",
    "declare_file",
    "list_declarations",
    "load_declarations",
    "read_declarations_csv",
]

SUBJECTS = tuple(DECLARATION_UNITS)
CSV_FIELDS = ("party", "declarant", "subject", "item", "period", "value", "unit")


@dataclass(frozen=True, slots=True)
class DeclarationIn:
    party: str | None
    subject: str
    item: str
    period: str  # YYYY-MM
    value: float
    unit: str
    declarant: str | None = None  # defaults to the party
    plant: str | None = None  # for energy: the plant (zone id) the figure is metered at
    filed_at: int | None = None  # the date the declarant states (kept; lateness is on receipt)
    signature: str | None = None  # base64 Ed25519 by the party's key over declaration_record


@dataclass(frozen=True, slots=True)
class Stored:
    id: int
    uid: str
    party: str | None
    subject: str
    item: str
    period: str
    value: float
    unit: str
    late: bool
    duplicate: bool
    ledger_index: int | None


@dataclass
class DeclareReport:
    stored: list[Stored] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(1 for s in self.stored if not s.duplicate)

    @property
    def duplicates(self) -> int:
        return sum(1 for s in self.stored if s.duplicate)

    @property
    def late(self) -> int:
        return sum(1 for s in self.stored if s.late and not s.duplicate)


def _validate(d: DeclarationIn, parties: set[str] | None) -> dict[str, Any]:
    """The row to store, or ``InputError`` naming the field."""

    def bad(fieldname: str, reason: str) -> InputError:
        return InputError(f"{fieldname}: {reason}", [Problem(reason, field=fieldname)])

    if d.subject not in SUBJECTS:
        raise bad("subject", f"{d.subject!r} is not one of {', '.join(SUBJECTS)}")
    if not d.item.strip():
        raise bad("item", "empty")
    units = DECLARATION_UNITS[d.subject]
    if d.unit.strip() not in units:
        raise bad("unit", f"{d.unit!r} is not a unit of {d.subject} (allowed: {', '.join(units)})")
    if not isinstance(d.value, int | float) or not math.isfinite(d.value) or d.value < 0:
        raise bad("value", f"{d.value!r} is not a number >= 0")
    if d.party is None and not d.declarant:
        raise bad("party", "give the declaring party, or a declarant for an operator")
    if d.party is not None and parties is not None and d.party not in parties:
        raise bad("party", f"{d.party!r} is not a party of the agreement in force")
    try:
        start, end = parse_month(d.period)
    except InputError as exc:
        raise bad("period", exc.message) from None
    attrs = {"plant": d.plant} if d.plant else {}
    content = {
        "party": d.party,
        "declarant": d.declarant or d.party,
        "subject": d.subject,
        "item": d.item.strip(),
        "period_start": start,
        "period_end": end,
        "value": float(d.value),
        "unit": d.unit.strip(),
        "attrs": attrs,
    }
    uid = hashlib.sha256(canonical_bytes(content)).hexdigest()
    return {**content, "uid": uid}


def _due(conn: Connection, row: dict[str, Any]) -> int | None:
    """When the declaration duty in force for this period falls due, if one applies."""
    a = agreement_in_force(conn, row["period_start"])
    if a is None:
        return None
    for r in a.rules:
        p = r.params
        if r.kind == "declaration_duty" and p.get("subject") == row["subject"]:
            if p.get("item") == row["item"]:
                return int(row["period_end"] + float(p.get("due_days", 0)) * 86400)
    return None


def declaration_record(d: DeclarationIn) -> dict[str, Any]:
    """What a party signs: the declaration as submitted (nulls left out)."""
    doc = {
        "party": d.party, "declarant": d.declarant or d.party, "subject": d.subject,
        "item": d.item.strip(), "period": d.period, "value": float(d.value),
        "unit": d.unit.strip(), "plant": d.plant, "stated_at": d.filed_at,
    }  # fmt: skip
    return {k: v for k, v in doc.items() if v is not None}


def _signed_by(conn: Connection, d: DeclarationIn) -> str | None:
    """The party channel whose key made ``d.signature`` (``InputError`` if none did)."""
    if d.signature is None:
        return None
    if d.party is None:
        reason = "only a party's declaration can carry its signature"
        raise InputError(f"signature: {reason}", [Problem(reason, field="signature")])
    keys = store.party_keys(conn, d.party)
    if not keys:
        reason = f"party {d.party!r} has no channel with a public key to check it against"
        raise InputError(f"signature: {reason}", [Problem(reason, field="signature")])
    record = declaration_record(d)
    reasons = []
    for source_id, key in keys:
        why = verify_record(key, record, d.signature)
        if why is None:
            return source_id
        reasons.append(why)
    reason = f"{reasons[0]} (checked against {len(keys)} key(s) of party {d.party})"
    raise InputError(f"signature: {reason}", [Problem(reason, field="signature")])


def _store(conn: Connection, d: DeclarationIn, received_at: int | None = None) -> Stored:
    a = agreement_in_force(conn, parse_month(d.period)[0]) if _month_ok(d.period) else None
    row = _validate(d, None if a is None else {p.id for p in a.parties})
    found = store.declaration_by_uid(conn, row["uid"])
    if found is not None:
        return _stored(found, duplicate=True)
    signer = _signed_by(conn, d)
    received = int(time.time()) if received_at is None else int(received_at)
    due = _due(conn, row)
    attrs = dict(row["attrs"])
    if d.filed_at is not None:
        attrs["stated_at"] = int(d.filed_at)
    if signer is not None:
        attrs.update({"signature": d.signature, "signed_by": signer})
    if due is not None:
        attrs.update({"due_at": due, "late": received > due})
    record = {**row, "attrs": attrs, "filed_at": received}
    [leaf] = append(conn, "declaration", [(row["uid"], record)])
    values = {**record, "attrs": json.dumps(attrs, sort_keys=True), "ledger_index": leaf}
    new_id = store.insert_declaration(conn, values)
    return _stored({**values, "id": new_id}, duplicate=False)


def _month_ok(text: str) -> bool:
    try:
        parse_month(text)
    except InputError:
        return False
    return True


def _stored(m: Any, *, duplicate: bool) -> Stored:
    attrs = json.loads(m["attrs"] or "{}")
    return Stored(
        int(m["id"]), m["uid"], m["party"], m["subject"], m["item"],
        month_label(int(m["period_start"])), float(m["value"]), m["unit"],
        bool(attrs.get("late", False)), duplicate, m["ledger_index"],
    )  # fmt: skip


def declare(ws: Workspace, d: DeclarationIn, received_at: int | None = None) -> Stored:
    """Store one declaration (with its ledger leaf), stamped as received now (or at
    ``received_at``, for a declaration received earlier); ``InputError`` names a bad field."""
    with store_errors("storing a declaration"), ws.engine.begin() as conn:
        return _store(conn, d, received_at)


def read_declarations_csv(path: Path) -> tuple[list[tuple[int, DeclarationIn]], list[Problem]]:
    """Rows of a declarations CSV (header: party, declarant, subject, item, period, value,
    unit[, plant, filed_at, signature]) with their line numbers, and the problems of bad
    rows; ``filed_at`` is the date the declarant states."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not readable: {exc}") from exc
    reader = csv.DictReader(text.splitlines())
    missing = [
        f
        for f in ("subject", "item", "period", "value", "unit")
        if f not in (reader.fieldnames or [])
    ]
    if missing:
        raise InputError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    rows: list[tuple[int, DeclarationIn]] = []
    problems: list[Problem] = []
    for line, raw in enumerate(reader, start=2):
        try:
            rows.append((line, _row(raw)))
        except (ValueError, InputError) as exc:
            fieldname, _, reason = str(exc).partition(": ")
            problems.append(Problem(reason or str(exc), str(path), line, fieldname or None))
    return rows, problems


def _row(raw: dict[str, str | None]) -> DeclarationIn:
    def get(k: str) -> str:
        return (raw.get(k) or "").strip()

    try:
        value = float(get("value"))
    except ValueError:
        raise ValueError(f"value: {get('value')!r} is not a number") from None
    filed = get("filed_at")
    return DeclarationIn(
        party=get("party") or None, subject=get("subject"), item=get("item"),
        period=get("period"), value=value, unit=get("unit"),
        declarant=get("declarant") or None, plant=get("plant") or None,
        filed_at=to_epoch(filed, "filed_at") if filed else None,
        signature=get("signature") or None,
    )  # fmt: skip


def declare_file(ws: Workspace, path: Path, received_at: int | None = None) -> DeclareReport:
    """Store the good rows of a CSV file, received now (or at ``received_at``); each bad row
    is listed with line, field, reason."""
    rows, problems = read_declarations_csv(path)
    report = DeclareReport(problems=problems)
    with store_errors("storing declarations"), ws.engine.begin() as conn:
        for line, d in rows:
            try:
                report.stored.append(_store(conn, d, received_at))
            except InputError as exc:
                for p in exc.errors or [Problem(exc.message)]:
                    report.problems.append(Problem(p.reason, str(path), line, p.field))
    report.problems.sort(key=lambda p: p.line or 0)
    return report


def load_declarations(conn: Connection, ids: Iterable[int] | None = None) -> list[Declaration]:
    """Stored declarations as the rules read them (``filed_at``: when the mission received it)."""
    return [
        Declaration(
            int(m["id"]),
            m["party"],
            m["declarant"],
            m["subject"],
            m["item"],
            int(m["period_start"]),
            int(m["period_end"]),
            float(m["value"]),
            m["unit"],
            int(m["filed_at"]),
            m["ledger_index"],
            json.loads(m["attrs"] or "{}"),
        )  # fmt: skip
        for m in store.select_declarations(conn, ids)
    ]


def list_declarations(ws: Workspace) -> list[Declaration]:
    """Every stored declaration, oldest first."""
    with reading(ws.engine, "reading declarations") as conn:
        return load_declarations(conn)
