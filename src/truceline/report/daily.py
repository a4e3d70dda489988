"""What a daily report says, as plain data: the day's violations beside the day
before, incidents, findings, sections (narrative per sector, weapons, freedom of
movement, civilian harm), coverage caveats and the ledger's latest signed tree head.

The service reads the store into :class:`DailyData`; :func:`daily_json` gives the
documented JSON shape (see :data:`JSON_SHAPE`) of either edition, cut by the rules of
``report.editions`` (the public one: published incidents only, coarsened, no actor).
Wording stays neutral: a party is named only where a finding or an incident states
it, with its basis.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from truceline.report.counts import compare, tally
from truceline.report.editions import (
    PUBLIC,
    RESTRICTED,
    edition_remarks,
    edition_view,
    visible_statuses,
)
from truceline.report.sections import civilian_harm, narrative, restrictions, weapons

if TYPE_CHECKING:
    from truceline.compliance.agreement import Agreement

__all__ = [
    "JSON_SHAPE",
    "DailyData",
    "TreeHeadView",
    "daily_json",
    "day_bounds",
    "iso",
    "standing",
]

#: The report's JSON, one key per line (``?`` marks a key that may be null).
JSON_SHAPE = """\
report: "daily"; schema: 2; edition: "public"|"restricted"; lang: "en"|"uk"|"ru"; date: "YYYY-MM-DD"
period: {start, end: epoch s UTC (end exclusive), start_iso, end_iso}
previous_period: {start, end, start_iso, end_iso}
agreement?: {id, version, title, parties: [{id, name}], valid_from_iso, valid_to_iso?}
counts: {observations: {total, by_kind: {kind: n}},
         incidents: {total, by_status: {status: n}, by_kind: {kind: n},
                     by_sector: {sector|"(none)": n},
                     by_sector_kind: [{sector?, kind, n}]},
         findings: {total, by_rule: {rule_id: n},
                    by_party: {party|"(not determined)": n}, dismissed, superseded}}
         (findings counts are of open and confirmed findings)
violations: {total: ROW, by_kind: [ROW], by_sector: [ROW], by_party: [ROW] (restricted only),
             definitions: {term: text}}
         ROW = {key, events, rounds, previous_events, previous_rounds, change_events,
                change_rounds}
narrative: [{sector, events, rounds, by_kind: {kind: [events, rounds]}, verified,
             places: [name], weapons, restrictions, civilian,
             remarks: [{incident, time: "HH:MM" (UTC), text, source?}]}]
           (remarks: what monitors wrote of the sector's verified incidents; restricted: every
            source's, with its id; public: mission monitors' only, no id, positions and
            source ids in the text replaced by "[…]")
weapons: {sightings: [incident], findings: [finding], in_bands, outside_sites, missing, other:
          [{id, rule_id, rule_kind, status, party?, party_withheld, weapons: [{weapon_class,
          count}], place?, summary? (none where the public edition withholds the party)}]}
restrictions: {incidents: [incident], denied: [declared coverage gap of kind "denied"]}
civilian: {incidents: [incident], casualties, damage}
incidents: [{id, t, t_iso, time_known, t_start, t_end, kind, weapon_class?, count, status,
             confidence, sector?, lon, lat, radius_m, ellipse?, n_observations, n_groups,
             place: {name, km, direction}, actor?, actor_confidence?, actor_basis?, side?
             (restricted only), position? (public: how the position was coarsened)}]
           (public: corroborated and verified incidents only, in every list and count)
findings: [{id, rule_id, rule_kind, status, severity, confidence, party?, party_basis?,
            party_withheld? (public), summary, incidents: [incident id], lon?, lat?,
            period_start, period_end, superseded_by?}]
coverage: restricted [{source_id, source_type, kind: "outage"|"denied", t_start, t_end, note?,
          reason?}] public [{kind, reason?, source_type, n, hours}]; reason: the restriction
          (restriction, access_denied, access_delayed, access_conditional, uav_jamming) whose
          area was not observed because access was denied
coverage_by_sector: {sector: share of the sector's area x day some source observed, 0..1}
tree_head?: {size, root_hash, issued_at, issued_iso, checkpoint}
map: file name of the PNG map beside the JSON
generated_at: ISO time the report was written
"""


@dataclass(frozen=True, slots=True)
class TreeHeadView:
    size: int
    root_hash: str
    issued_at: int
    checkpoint: str


@dataclass(slots=True)
class DailyData:
    """Everything the daily report shows, as plain data read by the service."""

    day: date
    start: int
    end: int
    agreement: Agreement | None
    obs_by_kind: dict[str, int]
    incidents: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    previous_incidents: list[dict[str, Any]] = field(default_factory=list)
    coverage: list[dict[str, Any]] = field(default_factory=list)
    coverage_by_sector: dict[str, float] = field(default_factory=dict)
    tree_head: TreeHeadView | None = None
    #: monitors' remarks on the day's verified incidents: {incident, source_id,
    #: source_type, t, text}; and every registered source id (a public text names none)
    remarks: list[dict[str, Any]] = field(default_factory=list)
    source_ids: frozenset[str] = frozenset()


def day_bounds(day: date) -> tuple[int, int]:
    """Epoch seconds of the day's start (00:00 UTC) and of the next day's start."""
    t0 = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    return t0, t0 + 86400


def iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def standing(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings that stand (open or confirmed, not superseded by another): a
    dismissed or superseded one is listed with its status but counted against no rule
    or party."""
    return [f for f in findings if f["status"] != "dismissed" and not f.get("superseded_by")]


def _time_known(i: dict[str, Any]) -> bool:
    """False where the sources give only a day (UCDP, ACLED): the time is not invented."""
    return int(i["t_end"]) - int(i["t_start"]) < 43200


def _incident(i: dict[str, Any]) -> dict[str, Any]:
    return dict(i, t_iso=iso(int(i["t"])), time_known=_time_known(i))


def _counts(
    obs_by_kind: dict[str, int], inc: list[dict[str, Any]], findings: list[dict[str, Any]]
) -> dict[str, Any]:
    standing_ = standing(findings)
    by_sk = Counter((i["sector"], i["kind"]) for i in inc)
    return {
        "observations": {"total": sum(obs_by_kind.values()), "by_kind": obs_by_kind},
        "incidents": {
            "total": len(inc),
            "by_status": dict(sorted(Counter(i["status"] for i in inc).items())),
            "by_kind": dict(sorted(Counter(i["kind"] for i in inc).items())),
            "by_sector": dict(sorted(Counter(i["sector"] or "(none)" for i in inc).items())),
            "by_sector_kind": [
                {"sector": s, "kind": k, "n": n}
                for (s, k), n in sorted(by_sk.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
            ],
        },
        "findings": {
            "total": len(standing_),
            "by_rule": dict(sorted(Counter(f["rule_id"] for f in standing_).items())),
            "by_party": dict(
                sorted(Counter(f["party"] or "(not determined)" for f in standing_).items())
            ),
            "dismissed": sum(1 for f in findings if f["status"] == "dismissed"),
            "superseded": sum(1 for f in findings if f.get("superseded_by")),
        },
    }


def _agreement(a: Agreement | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "id": a.id,
        "version": a.version,
        "title": a.title,
        "parties": [{"id": p.id, "name": p.name} for p in a.parties],
        "valid_from_iso": iso(a.valid_from),
        "valid_to_iso": None if a.valid_to is None else iso(a.valid_to),
    }


def _tree_head(th: TreeHeadView | None) -> dict[str, Any] | None:
    if th is None:
        return None
    return {
        "size": th.size,
        "root_hash": th.root_hash,
        "issued_at": th.issued_at,
        "issued_iso": iso(th.issued_at),
        "checkpoint": th.checkpoint,
    }


def daily_json(
    data: DailyData,
    map_name: str,
    now: datetime | None = None,
    *,
    edition: str = RESTRICTED,
    lang: str = "en",
) -> dict[str, Any]:
    """The report in ``edition`` as JSON-ready data, shaped as :data:`JSON_SHAPE`."""
    incidents, findings, gaps = edition_view(
        [_incident(i) for i in data.incidents], data.findings, data.coverage, edition
    )
    prev0 = data.start - (data.end - data.start)
    shown = visible_statuses(edition)
    previous = [i for i in data.previous_incidents if shown is None or i["status"] in shown]
    violations = compare(tally(incidents), tally(previous))
    if edition == PUBLIC:
        del violations["by_party"]
    return {
        "report": "daily",
        "schema": 2,
        "edition": edition,
        "lang": lang,
        "date": data.day.isoformat(),
        "period": {
            "start": data.start,
            "end": data.end,
            "start_iso": iso(data.start),
            "end_iso": iso(data.end),
        },
        "previous_period": {
            "start": prev0,
            "end": data.start,
            "start_iso": iso(prev0),
            "end_iso": iso(data.start),
        },
        "agreement": _agreement(data.agreement),
        "counts": _counts(data.obs_by_kind, incidents, findings),
        "violations": violations,
        "narrative": narrative(incidents, edition_remarks(data.remarks, data.source_ids, edition)),
        "weapons": weapons(incidents, standing(findings)),
        "restrictions": restrictions(incidents, gaps),
        "civilian": civilian_harm(incidents),
        "incidents": incidents,
        "findings": findings,
        "coverage": gaps,
        "coverage_by_sector": data.coverage_by_sector,
        "tree_head": _tree_head(data.tree_head),
        "map": map_name,
        "generated_at": (now or datetime.now(UTC)).isoformat().replace("+00:00", "Z"),
    }
