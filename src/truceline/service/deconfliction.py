"""The deconfliction register: notify, amend, cancel, with conflicts found at once.

Each submission runs in one transaction that first takes the single-writer lock
(``ledger.log.lock``: ``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL),
so two concurrent submissions are judged one after the other and cannot both slip
past the proof-of-knowledge check. A refused submission stores nothing. Views for
other parties (``views``) apply need to know.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely

from truceline.deconfliction.knowledge import DEFAULT_ANSWER_HOURS, due_at, missed_citations
from truceline.deconfliction.overlap import overlap
from truceline.deconfliction.volumes import FOREVER, SITES, Volume, volume_from_spec
from truceline.deconfliction.zones import NoticeDuty, Restriction, zone_breaches
from truceline.domain.errors import Conflict, Forbidden, InputError, NotFound, Problem
from truceline.service.agreements import agreement_in_force
from truceline.service.deconfliction_index import live_index
from truceline.service.workspace import Workspace
from truceline.store import notifications as store
from truceline.store.db import Connection, store_errors
from truceline.store.ledger import append, lock

__all__ = ["Submission", "amend", "cancel", "notify", "terms", "withdraw"]


@dataclass(frozen=True, slots=True)
class Terms:
    """What the agreement in force says that the register applies."""

    parties: frozenset[str]
    restrictions: tuple[Restriction, ...] = ()
    duties: tuple[NoticeDuty, ...] = ()
    answer_hours: float = DEFAULT_ANSWER_HOURS


@dataclass
class Submission:
    id: int
    version: int
    action: str
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    answers_from: list[str] = field(default_factory=list)
    ledger_index: int | None = None


def terms(conn: Connection, t: int) -> Terms:
    """The agreement in force at ``t`` as the register needs it (none: no zone rules)."""
    a = agreement_in_force(conn, t)
    if a is None:
        return Terms(frozenset())
    zones = {z.id: z for z in a.zones}
    restr, duties, hours = [], [], float(DEFAULT_ANSWER_HOURS)
    for r in a.rules:
        p = r.params
        if r.kind == "exclusion" and str(p.get("zone")) in zones:
            z = zones[str(p.get("zone"))]
            bars = frozenset(str(b) for b in (p.get("bars") or z.bars))
            restr.append(Restriction(r.id, z.id, z.geometry, bars))
        elif r.kind == "notification_duty":
            duties.append(
                NoticeDuty(
                    r.id,
                    frozenset(str(x) for x in p.get("activities") or ()),
                    int(p.get("threshold_personnel", 0)),
                    float(p.get("days_ahead", 0)),
                    frozenset(str(x) for x in p.get("parties") or ()),
                )
            )
            hours = float(p.get("answer_hours", hours))
    return Terms(frozenset(x.id for x in a.parties), tuple(restr), tuple(duties), hours)


def _personnel(spec: Mapping[str, Any]) -> int | None:
    p = spec.get("personnel")
    if p is None:
        return None
    if isinstance(p, bool) or not isinstance(p, int) or p < 0:
        raise InputError(
            f"personnel: must be a whole number >= 0, got {p!r}",
            [Problem(f"must be a whole number >= 0, got {p!r}", field="personnel")],
        )
    return p


def _find_conflicts(
    conn: Connection,
    vol: Volume,
    party: str,
    personnel: int | None,
    filed_at: int,
    own_id: int | None,
    tm: Terms,
) -> tuple[list[tuple[int, int]], list[dict[str, Any]]]:
    """(other parties' met notifications as (id, version), conflict rows).

    Two protected sites never conflict. An activity meeting another party's volume or
    site must cite it (proof of knowledge); a protected site cites nothing: the
    activities it touches are listed, and their owners asked to answer."""
    index = live_index(conn)
    ids = [k for k in index.search(vol) if k != own_id]
    met: list[tuple[int, int]] = []
    rows: list[dict[str, Any]] = []
    for c in store.get_notifications(conn, ids):
        other = index.get(c.id)
        if other is None or (vol.is_site and other.is_site):
            continue
        if c.party == party and not other.is_site:
            continue
        if c.party != party and not vol.is_site:
            met.append((c.id, c.version))
        ov = overlap(vol, other)
        rows.append(
            {
                "kind": "site" if other.is_site or vol.is_site else "volume",
                "other_id": c.id,
                "other_version": c.version,
                "other_party": c.party,
                "rule_id": None,
                "zone_id": None,
                "summary": f"meets {c.activity} notification {c.id} of {c.party}",
                "area_m2": ov.area_m2,
                "seconds": ov.seconds,
                "alt_m": ov.alt_m,
            }
        )
    for b in zone_breaches(vol, party, personnel, filed_at, tm.restrictions, tm.duties):
        rows.append(
            {
                "kind": "zone" if b.zone_id else "notice",
                "other_id": None,
                "other_version": None,
                "other_party": None,
                "rule_id": b.rule_id,
                "zone_id": b.zone_id,
                "summary": b.reason,
                "area_m2": b.area_m2,
                "seconds": None,
                "alt_m": None,
            }
        )
    return met, rows


def _record(
    nid: int, version: int, action: str, party: str, row: Mapping[str, Any]
) -> dict[str, Any]:
    """The ledger record of a version: the volume, what it cited and who is asked to
    answer it by when (none for a cancellation); the notifier's details and personnel
    only by digest (they are not for every reader of the ledger)."""
    private = {"details": row["details"], "personnel": row["personnel"]}
    details = json.dumps(private, sort_keys=True).encode()
    return {
        "notification": nid,
        "version": version,
        "action": action,
        "party": party,
        "activity": row["activity"],
        "footprint": json.loads(row["footprint"]),
        "t_start": row["t_start"],
        "t_end": None if row["t_end"] >= FOREVER else row["t_end"],
        "alt_min": row["alt_min"],
        "alt_max": row["alt_max"],
        "private_sha256": hashlib.sha256(details).hexdigest(),
        "cited": {str(k): v for k, v in sorted(row["cited"].items())},
        "reason": row.get("reason"),
        "asked": list(row["asked"]),
        "answer_due_at": row["answer_due_at"],
    }


def _row(vol: Volume, personnel: int | None, details: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "activity": vol.activity,
        "footprint": shapely.to_geojson(vol.geometry),
        "t_start": vol.t_start,
        "t_end": vol.t_end,
        "alt_min": vol.alt_min,
        "alt_max": vol.alt_max,
        "personnel": personnel,
        "details": dict(details),
    }


def _validate(spec: Mapping[str, Any], record: str) -> tuple[Volume, int | None, dict[str, Any]]:
    vol = volume_from_spec(spec, record=record)
    details = spec.get("details") or {}
    if not isinstance(details, Mapping):
        raise InputError(
            "details: must be an object", [Problem("must be an object", field="details")]
        )
    return vol, _personnel(spec), dict(details)


def _submit(
    conn: Connection,
    party: str,
    spec: Mapping[str, Any],
    cited: Mapping[int, int],
    now: int,
    current: store.NotificationRow | None,
) -> Submission:
    vol, personnel, details = _validate(spec, "new" if current is None else str(current.id))
    filed_at = now if current is None else current.filed_at
    tm = terms(conn, vol.t_start)
    own = None if current is None else current.id
    met, rows = _find_conflicts(conn, vol, party, personnel, now, own, tm)
    missed = missed_citations(met, cited)
    if missed:
        problems = [Problem(str(m), field="cite", record=str(m.notification)) for m in missed]
        raise Conflict(
            f"refused: it meets {len(missed)} notification(s) of other parties not cited at "
            f"their current version: {', '.join(str(m.notification) for m in missed)}",
            problems,
        )
    row = _row(vol, personnel, details)
    action = "notify" if current is None else "amend"
    version = 1 if current is None else current.version + 1
    base = {**row, "party": party, "status": "active", "version": version, "updated_at": now}
    if current is None:
        nid = store.add_notification(conn, {**base, "filed_at": filed_at})
    else:
        nid = current.id
        store.set_current(conn, nid, base)
    ask = sorted((tm.parties | {r["other_party"] for r in rows if r["other_party"]}) - {party})
    due = due_at(now, tm.answer_hours) if ask else None
    leaf = _write_version(conn, nid, version, action, party, row, cited, None, now, ask, due)
    found = _write_conflicts(conn, nid, version, rows, now)
    store.add_answers(
        conn,
        [
            {"notification_id": nid, "version": version, "party": p, "sent_at": now,
             "due_at": due}
            for p in ask
        ],
    )  # fmt: skip
    return Submission(nid, version, action, found, ask, leaf)


def _write_version(
    conn: Connection,
    nid: int,
    version: int,
    action: str,
    party: str,
    row: Mapping[str, Any],
    cited: Mapping[int, int],
    reason: str | None,
    now: int,
    asked: Sequence[str] = (),
    due: int | None = None,
) -> int:
    """Append the version, accepted at ``now`` (its ``at``), to the ledger and its
    history; returns its leaf."""
    volume = dict(row)
    rec = _record(
        nid,
        version,
        action,
        party,
        {**volume, "cited": dict(cited), "reason": reason, "asked": asked, "answer_due_at": due},
    )
    ref = f"notification/{nid}/v{version}"
    leaf = append(conn, "notification", [(ref, rec)], at=now)[0]
    store.add_version(
        conn,
        {"notification_id": nid, "version": version, "action": action, **volume,
         "cited": dict(cited), "reason": reason, "at": now, "ledger_index": leaf},
    )  # fmt: skip
    return leaf


def _write_conflicts(
    conn: Connection, nid: int, version: int, rows: list[dict[str, Any]], now: int
) -> list[dict[str, Any]]:
    """Append the conflicts found to the ledger and store them; returns them with ids."""
    crow = [{**r, "notification_id": nid, "version": version, "found_at": now} for r in rows]
    ref = f"notification/{nid}/v{version}"
    leaves = append(conn, "notification_conflict", [(ref, r) for r in crow], at=now)
    stored = [{**r, "ledger_index": k} for r, k in zip(crow, leaves, strict=True)]
    ids = store.add_conflicts(conn, stored)
    return [{**r, "id": i} for r, i in zip(stored, ids, strict=True)]


def notify(
    ws: Workspace,
    party: str,
    spec: Mapping[str, Any],
    cited: Mapping[int, int] | None = None,
    now: int | None = None,
) -> Submission:
    """File a new notification (an activity or a protected site)."""
    _party(party)
    now = int(time.time()) if now is None else now
    with store_errors("filing a notification"), ws.engine.begin() as conn:
        lock(conn)
        return _submit(conn, party, spec, dict(cited or {}), now, None)


def _party(party: str) -> None:
    if not isinstance(party, str) or not party.strip():
        raise InputError("party: give the notifying party", [Problem("empty", field="party")])


def _owned(conn: Connection, nid: int, party: str, doing: str) -> store.NotificationRow:
    cur = store.get_notification(conn, nid)
    if cur is None:
        raise NotFound(f"no notification {nid}")
    if cur.party != party:
        raise Forbidden(f"notification {nid} is {cur.party}'s; {party} cannot {doing} it")
    if cur.status != "active":
        raise Conflict(f"notification {nid} is {cur.status}; it can no longer be changed")
    return cur


def amend(
    ws: Workspace,
    nid: int,
    party: str,
    spec: Mapping[str, Any],
    cited: Mapping[int, int] | None = None,
    now: int | None = None,
) -> Submission:
    """A new version of an active notification; the old ones stay in its history."""
    now = int(time.time()) if now is None else now
    with store_errors("amending a notification"), ws.engine.begin() as conn:
        lock(conn)
        cur = _owned(conn, nid, party, "amend")
        return _submit(conn, party, spec, dict(cited or {}), now, cur)


def cancel(
    ws: Workspace, nid: int, party: str, reason: str = "", now: int | None = None
) -> Submission:
    """Cancel a planned activity; its history is kept (a protected site is withdrawn)."""
    return _close(ws, nid, party, reason, now, site=False)


def withdraw(
    ws: Workspace, nid: int, party: str, reason: str = "", now: int | None = None
) -> Submission:
    """Withdraw a protected site: it no longer stands; its history is kept."""
    return _close(ws, nid, party, reason, now, site=True)


def _close(
    ws: Workspace, nid: int, party: str, reason: str, now: int | None, site: bool
) -> Submission:
    action, status, doing = (
        ("withdraw", "withdrawn", "withdrawing") if site else ("cancel", "cancelled", "cancelling")
    )
    now = int(time.time()) if now is None else now
    with store_errors(f"{doing} a notification"), ws.engine.begin() as conn:
        lock(conn)
        cur = _owned(conn, nid, party, action)
        if (cur.activity in SITES) != site:
            other = "withdraw the site" if not site else "cancel the activity"
            raise Conflict(
                f"notification {nid} is a {cur.activity} {'site' if not site else 'activity'}; "
                f"{other} instead"
            )
        version = cur.version + 1
        row = {
            "activity": cur.activity,
            "footprint": cur.footprint,
            "t_start": cur.t_start,
            "t_end": cur.t_end,
            "alt_min": cur.alt_min,
            "alt_max": cur.alt_max,
            "personnel": cur.personnel,
            "details": cur.details,
        }
        leaf = _write_version(conn, nid, version, action, party, row, {}, reason or None, now)
        store.set_current(conn, nid, {"status": status, "version": version, "updated_at": now})
        return Submission(nid, version, action, ledger_index=leaf)
