"""The source registry: who reports, how they are graded, what they could observe.

Every registration, change, grade and coverage record is appended to the ledger in
the transaction that stores it. Grades are never overwritten: each is a row with a
``valid_from``, and the grade in force at a time is the latest one that started at
or before it (``F``, cannot be judged, before any).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from truceline.domain.errors import Conflict, InputError, NotFound
from truceline.domain.vocab import RELIABILITY, SignaturePolicy, SourceType
from truceline.service.workspace import Workspace
from truceline.store import ledger as log
from truceline.store import sources as store
from truceline.store.db import Connection, Row, reading, writing

if TYPE_CHECKING:  # numpy, and the coverage use cases (shapely, pyproj), load when used
    import numpy as np
    from numpy.typing import ArrayLike, NDArray

    from truceline.service.coverage import (
        CoverageInfo,
        add_coverage,
        coverage_of,
        coverage_records,
    )

__all__ = [
    "CoverageInfo",
    "GradeInfo",
    "REGISTER_ON_SIGHT",
    "SourceDetail",
    "SourceInfo",
    "add_coverage",
    "coverage_of",
    "coverage_records",
    "ensure_sources",
    "grade_source",
    "list_sources",
    "parse_public_key",
    "register_source",
    "reliability_at",
    "show_source",
    "update_source",
]

_COVERAGE = ("CoverageInfo", "add_coverage", "coverage_of", "coverage_records")


def __getattr__(name: str) -> Any:
    """The coverage use cases, re-exported here, loaded when first asked for."""
    if name in _COVERAGE:
        from truceline.service import coverage

        return getattr(coverage, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: reliability given to a source first seen in a file: "F", cannot be judged
UNGRADED = "F"
#: the only source types registered on first sight; a monitor or sensor must be
#: registered (with its key) before anything it submits is accepted
REGISTER_ON_SIGHT = frozenset({SourceType.OSINT.value, SourceType.PARTY.value})
_SENSORS = {SourceType.MONITOR, SourceType.CAMERA, SourceType.ACOUSTIC, SourceType.UAV}


@dataclass(frozen=True, slots=True)
class SourceInfo:
    id: str
    type: str
    name: str
    party: str | None
    independence_group: str
    signature_policy: str
    public_key: str | None  # base64 of the raw Ed25519 key
    created_at: int
    reliability: str  # grade in force now
    ledger_index: int | None


@dataclass(frozen=True, slots=True)
class GradeInfo:
    source_id: str
    reliability: str
    valid_from: int
    reason: str
    actor: str
    ledger_index: int | None


@dataclass(frozen=True, slots=True)
class SourceDetail:
    source: SourceInfo
    grades: list[GradeInfo]
    coverage: list[CoverageInfo]


def ensure_sources(
    conn: Connection, found: Iterable[tuple[str, str | None]], party: str | None = None
) -> list[str]:
    """Register each ``(source_id, source_type)`` not yet known; returns the new ids.

    A source first seen in submitted data is graded ``F`` (cannot be judged) and is its
    own independence group until an analyst says otherwise; ``party``: the party whose
    liaison submitted it (its channel from now on).
    """
    wanted = dict(found)
    if not wanted:
        return []
    known = store.known_ids(conn, sorted(wanted))
    new = sorted(set(wanted) - known)
    if not new:
        return []
    now = int(time.time())
    rows = [
        _source_row(s, wanted[s] or SourceType.OSINT.value, s, party, s, "optional", None, now)
        for s in new
    ]
    _insert_sources(conn, rows, "intake", "first seen in submitted data")
    _insert_grades(
        conn, [(s, UNGRADED, now) for s in new], "intake", "first seen in submitted data"
    )
    return new


def _source_row(
    sid: str,
    stype: str,
    name: str,
    party: str | None,
    group: str,
    policy: str,
    key: bytes | None,
    now: int,
) -> dict[str, Any]:
    return {
        "id": sid,
        "type": stype,
        "name": name,
        "party": party,
        "independence_group": group,
        "signature_policy": policy,
        "public_key": key,
        "created_at": now,
    }


def _ledger_form(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if v is not None and k != "ledger_index"}
    if isinstance(out.get("public_key"), bytes):
        out["public_key"] = base64.b64encode(out["public_key"]).decode("ascii")
    return out


def _insert_sources(conn: Connection, rows: list[dict[str, Any]], actor: str, reason: str) -> None:
    items = [(str(r["id"]), {**_ledger_form(r), "actor": actor, "reason": reason}) for r in rows]
    for r, i in zip(rows, log.append(conn, "source", items), strict=True):
        r["ledger_index"] = i
    store.insert_sources(conn, rows)


def _insert_grades(
    conn: Connection, grades: Sequence[tuple[str, str, int]], actor: str, reason: str
) -> list[int]:
    rows = [
        {"source_id": s, "reliability": g, "valid_from": vf, "actor": actor, "reason": reason}
        for s, g, vf in grades
    ]
    idx = log.append(conn, "source_grade", [(str(r["source_id"]), dict(r)) for r in rows])
    for r, i in zip(rows, idx, strict=True):
        r["ledger_index"] = i
    store.insert_grades(conn, rows)
    return idx


def _is_file(value: str) -> bool:
    try:
        return "\n" not in value and Path(value).is_file()
    except OSError:
        return False


def parse_public_key(value: str | bytes | Path) -> bytes:
    """An Ed25519 public key from base64 of its 32 raw bytes, or a PEM text or file."""
    if isinstance(value, Path) or (isinstance(value, str) and _is_file(value)):
        path = Path(value)
        try:
            value = path.read_bytes()
        except OSError as exc:
            raise InputError(f"public key: cannot read {path}: {exc.strerror}") from exc
    raw = value.encode() if isinstance(value, str) else value
    if b"BEGIN PUBLIC KEY" in raw:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        try:
            key = load_pem_public_key(raw)
        except ValueError as exc:
            raise InputError(f"public key: not a valid PEM public key ({exc})") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise InputError("public key: PEM key is not Ed25519")
        return key.public_bytes_raw()
    try:
        data = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError("public key: neither PEM nor base64") from exc
    if len(data) != 32:
        raise InputError(f"public key: an Ed25519 key has 32 bytes, got {len(data)}")
    return data


def _check_type(source_type: str) -> SourceType:
    try:
        return SourceType(source_type)
    except ValueError as exc:
        raise InputError(
            f"source type {source_type!r} is not one of {[t.value for t in SourceType]}"
        ) from exc


def _check_grade(reliability: str) -> str:
    g = reliability.strip().upper()
    if g not in RELIABILITY:
        raise InputError(f"reliability {reliability!r} is not an Admiralty grade A-F")
    return g


def _check_policy(stype: SourceType, policy: str | None, key: bytes | None) -> str:
    if policy is None:
        policy = SignaturePolicy.REQUIRED if stype in _SENSORS else SignaturePolicy.OPTIONAL
    try:
        pol = SignaturePolicy(policy)
    except ValueError as exc:
        raise InputError(f"signature policy {policy!r} is not required or optional") from exc
    if pol is SignaturePolicy.REQUIRED and key is None:
        raise InputError(
            f"a {stype.value} source's signatures are required: give its public key, "
            "or set the signature policy to optional"
        )
    return pol.value


def register_source(
    ws: Workspace,
    source_id: str,
    source_type: str,
    *,
    name: str | None = None,
    party: str | None = None,
    group: str | None = None,
    signature_policy: str | None = None,
    public_key: str | bytes | Path | None = None,
    reliability: str = UNGRADED,
    valid_from: int = 0,
    actor: str,
    reason: str = "registered",
) -> SourceInfo:
    """Register a new source with its first grade (in force from ``valid_from``)."""
    if not source_id.strip():
        raise InputError("source id is empty")
    stype = _check_type(source_type)
    if stype is SourceType.PARTY and not party:
        raise InputError("a party's channel needs the party it speaks for (party)")
    key = None if public_key is None else parse_public_key(public_key)
    policy = _check_policy(stype, signature_policy, key)
    grade = _check_grade(reliability)
    row = _source_row(
        source_id,
        stype.value,
        name or source_id,
        party,
        group or source_id,
        policy,
        key,
        int(time.time()),
    )
    with writing(ws.engine, "registering a source") as conn:
        if store.get_source(conn, source_id) is not None:
            raise Conflict(f"source {source_id!r} is already registered (use `sources set`)")
        _insert_sources(conn, [row], actor, reason)
        _insert_grades(conn, [(source_id, grade, valid_from)], actor, reason)
        return _info(conn, _get(conn, source_id))


def update_source(
    ws: Workspace,
    source_id: str,
    *,
    name: str | None = None,
    party: str | None = None,
    group: str | None = None,
    signature_policy: str | None = None,
    public_key: str | bytes | Path | None = None,
    actor: str,
    reason: str,
) -> SourceInfo:
    """Change a source's name, party, independence group, policy or key (ledgered)."""
    with writing(ws.engine, "updating a source") as conn:
        cur = _get(conn, source_id)
        key = cur.public_key if public_key is None else parse_public_key(public_key)
        stype = _check_type(cur.type)
        changes: dict[str, Any] = {
            "name": name,
            "party": party,
            "independence_group": group,
            "public_key": None if public_key is None else key,
            "signature_policy": None
            if signature_policy is None
            else _check_policy(stype, signature_policy, key),
        }
        changes = {k: v for k, v in changes.items() if v is not None}
        if not changes:
            raise InputError("nothing to change: give a name, party, group, policy or key")
        rec = {"id": source_id, **_ledger_form(changes), "actor": actor, "reason": reason}
        (i,) = log.append(conn, "source_update", [(source_id, rec)])
        changes["ledger_index"] = i
        store.update_source_row(conn, source_id, changes)
        return _info(conn, _get(conn, source_id))


def grade_source(
    ws: Workspace,
    source_id: str,
    reliability: str,
    *,
    valid_from: int | None = None,
    actor: str,
    reason: str,
) -> GradeInfo:
    """Grade a source from ``valid_from`` (default now); earlier grades stay as they were."""
    grade = _check_grade(reliability)
    if not reason.strip():
        raise InputError("a grade needs a reason")
    vf = int(time.time()) if valid_from is None else int(valid_from)
    with writing(ws.engine, "grading a source") as conn:
        _get(conn, source_id)
        (i,) = _insert_grades(conn, [(source_id, grade, vf)], actor, reason)
    return GradeInfo(source_id, grade, vf, reason, actor, i)


def _get(conn: Connection, source_id: str) -> Row[Any]:
    row = store.get_source(conn, source_id)
    if row is None:
        raise NotFound(f"no source {source_id!r}")
    return row


def _info(conn: Connection, row: Row[Any], grade: str | None = None) -> SourceInfo:
    if grade is None:
        grade = str(reliability_at(conn, [row.id], [int(time.time())])[0])
    key = None if row.public_key is None else base64.b64encode(row.public_key).decode("ascii")
    return SourceInfo(
        row.id,
        row.type,
        row.name,
        row.party,
        row.independence_group,
        row.signature_policy,
        key,
        row.created_at,
        grade,
        row.ledger_index,
    )


def list_sources(ws: Workspace) -> list[SourceInfo]:
    """Every source with the grade in force now."""
    with reading(ws.engine, "listing sources") as conn:
        rows = store.all_sources(conn)
        if not rows:  # (the grades' arrays need numpy)
            return []
        grades = reliability_at(conn, [r.id for r in rows], [int(time.time())] * len(rows))
        return [_info(conn, r, str(g)) for r, g in zip(rows, grades, strict=True)]


def show_source(ws: Workspace, source_id: str) -> SourceDetail:
    """A source, its grade history and its coverage declarations."""
    from truceline.service.coverage import source_coverage

    with reading(ws.engine, "reading a source") as conn:
        info = _info(conn, _get(conn, source_id))
        g = store.grades_of(conn, source_id)
        cov = source_coverage(conn, source_id)
    grades = [
        GradeInfo(r.source_id, r.reliability, r.valid_from, r.reason, r.actor, r.ledger_index)
        for r in g
    ]
    return SourceDetail(info, grades, cov)


def reliability_at(
    conn: Connection, source_ids: Sequence[str] | ArrayLike, t: ArrayLike
) -> NDArray[np.str_]:
    """The grade in force for each ``(source_id, t)`` pair (vectorised; ``F`` before any)."""
    import numpy as np

    from truceline.fusion.attributes import factorize

    sid = np.asarray(source_ids, dtype=object).ravel()
    tt = np.asarray(t, dtype=np.int64)
    out = np.full(sid.size, UNGRADED, dtype="<U1")
    if sid.size == 0:
        return out
    names, code = factorize(sid)  # per distinct source, not per observation
    uniq, remap = np.unique(np.array([str(v) for v in names], dtype=str), return_inverse=True)
    code = remap.ravel()[code]
    rows = store.grade_rows(conn, uniq.tolist())
    if not rows:
        return out
    gcode = np.searchsorted(uniq, np.array([r[0] for r in rows], dtype=str))
    gvf = np.array([r[1] for r in rows], dtype=np.int64)
    grel = np.array([r[2] for r in rows], dtype="<U1")
    order = np.lexsort((np.arange(len(rows)), gvf, gcode))
    shift = np.int64(1) << np.int64(40)
    keys = gcode[order].astype(np.int64) * shift + gvf[order]
    q = code.astype(np.int64) * shift + tt
    pos = np.searchsorted(keys, q, side="right") - 1
    hit = (pos >= 0) & (gcode[order][np.maximum(pos, 0)] == code)
    out[hit] = grel[order][pos[hit]]
    return out
