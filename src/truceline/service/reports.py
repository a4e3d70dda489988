"""Report use cases: the daily report of a day (public or restricted edition, in
English, Ukrainian or Russian), the day chosen by default, the index of days.

The report reads the store (one connection) and writes files; it issues nothing
except, where asked, a fresh signed tree head so that the report cites the ledger
as it stands when written. A day outside the agreement's validity is refused with
the valid range; without a day, the latest day with data inside it is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from truceline.domain.errors import InputError, NotFound
from truceline.report.daily import DailyData, TreeHeadView, day_bounds
from truceline.report.render import ReportPaths, write_daily, write_index
from truceline.service.workspace import Workspace
from truceline.store import reports as q
from truceline.store.db import Connection, reading

if TYPE_CHECKING:
    from truceline.compliance.agreement import Agreement

__all__ = [
    "ReportPaths",
    "busiest_day",
    "choose_day",
    "daily_report",
    "gather_daily",
    "report_days",
    "write_report_index",
]


def _utc_day(t: int) -> date:
    return datetime.fromtimestamp(t, UTC).date()


def _validity(versions: list[Agreement]) -> tuple[date, date | None] | None:
    """First and last valid UTC day of the agreement's versions (None: open-ended)."""
    if not versions:
        return None
    first = _utc_day(min(a.valid_from for a in versions))
    ends = [a.valid_to for a in versions]
    last = None if any(e is None for e in ends) else _utc_day(max(e for e in ends if e) - 1)
    return first, last


def _range_text(v: tuple[date, date | None]) -> str:
    return f"{v[0].isoformat()} to {v[1].isoformat() if v[1] else 'open'}"


def choose_day(ws: Workspace, day: date | None = None) -> date:
    """``day`` if the agreement was valid then, else an ``InputError`` giving the valid
    range; without ``day``, the latest day with data inside the validity."""
    from truceline.service.agreements import agreement_versions

    with reading(ws.engine, "reading the report days") as conn:
        validity = _validity(agreement_versions(conn))
        days = q.days_with_data(conn)
    inside = [
        d
        for d in days
        if validity is None or (validity[0] <= d and (validity[1] is None or d <= validity[1]))
    ]
    if day is None:
        if not inside:
            where = (
                f" inside the agreement's validity ({_range_text(validity)})" if validity else ""
            )
            raise NotFound(f"no data{where}: ingest observations first")
        return inside[-1]
    if validity is not None and (day < validity[0] or (validity[1] and day > validity[1])):
        raise InputError(
            f"--date {day.isoformat()}: outside the agreement's validity ({_range_text(validity)})"
        )
    return day


def _tree_head(conn: Connection) -> TreeHeadView | None:
    from truceline.service.ledger import latest_tree_head

    th = latest_tree_head(conn)
    if th is None:
        return None
    root = th.root_hash if isinstance(th.root_hash, str) else bytes(th.root_hash).hex()
    return TreeHeadView(int(th.size), root, int(th.issued_at), str(th.checkpoint))


def _sector_coverage(
    conn: Connection, agreement: Agreement | None, t0: int, t1: int
) -> dict[str, float]:
    from truceline.service.coverage import coverage_of, coverage_records

    declared = [r for r in coverage_records(conn, t0, t1) if r.reason is None]
    if agreement is None or not declared:
        return {}
    sectors = {z.id: z.geometry for z in agreement.zones_of("sector")}
    return {k: round(float(v), 3) for k, v in sorted(coverage_of(conn, sectors, t0, t1).items())}


def gather_daily(conn: Connection, day: date) -> DailyData:
    """Read what the report of ``day`` (UTC) shows, with the day before for comparison."""
    from truceline.service.agreements import agreement_in_force
    from truceline.service.coverage import coverage_gaps

    t0, t1 = day_bounds(day)
    agreement = agreement_in_force(conn, t0 + 43200)
    tallies = q.observation_tallies(conn, t0, t1)
    incidents = q.period_incidents(conn, t0, t1)
    remarks = q.incident_remarks(conn, [i["id"] for i in incidents if i["status"] == "verified"])
    return DailyData(
        day=day,
        start=t0,
        end=t1,
        agreement=agreement,
        obs_by_kind={k: n for k, (n, _rounds) in tallies.items()},
        incidents=incidents,
        findings=q.period_findings(conn, t0, t1),
        remarks=remarks,
        source_ids=frozenset(q.source_ids(conn)) if remarks else frozenset(),
        previous_incidents=q.period_incidents(conn, t0 - 86400, t0),
        coverage=coverage_gaps(conn, t0, t1),
        coverage_by_sector=_sector_coverage(conn, agreement, t0, t1),
        tree_head=_tree_head(conn),
    )


def daily_report(
    ws: Workspace,
    day: date,
    out_dir: Path,
    *,
    edition: str = "public",
    lang: str = "en",
    issue_head: bool = False,
    with_index_link: bool = False,
    pdf: bool = False,
) -> ReportPaths:
    """Write the daily report of ``day`` (UTC) into ``out_dir`` as HTML, JSON and PNG
    (and PDF with ``pdf``), in ``edition`` (public or restricted) and ``lang``.

    With ``issue_head`` a signed tree head is issued first, so the report cites the
    ledger including everything it shows.
    """
    from truceline.i18n import check_language
    from truceline.report.editions import check_edition

    check_edition(edition)
    check_language(lang)
    day = choose_day(ws, day)
    if issue_head:
        from truceline.service.ledger import issue_tree_head

        issue_tree_head(ws)
    with reading(ws.engine, "reading the day's report") as conn:
        data = gather_daily(conn, day)
    return write_daily(
        data, out_dir, edition=edition, lang=lang, with_index_link=with_index_link, pdf=pdf
    )


def report_days(ws: Workspace, statuses: Sequence[str] | None = None) -> list[tuple[date, int]]:
    """Every UTC day with incidents and how many (counting only ``statuses``, if given:
    a reader who may see only published incidents is told only of those)."""
    with reading(ws.engine, "listing report days") as conn:
        return q.days_with_incidents(conn, statuses)


def busiest_day(ws: Workspace, since: date | None = None, until: date | None = None) -> date:
    """The day with the most incidents in ``[since, until]`` (the earliest of equals)."""
    days = [
        (d, n)
        for d, n in report_days(ws)
        if (since is None or d >= since) and (until is None or d <= until)
    ]
    if not days:
        raise NotFound("no incidents in that period: run `truceline fuse` first")
    return max(days, key=lambda dn: (dn[1], -dn[0].toordinal()))[0]


def write_report_index(
    ws: Workspace, out_dir: Path, title: str = "", *, edition: str = "public", lang: str = "en"
) -> Path:
    """``index.html`` in ``out_dir``: every day with incidents ``edition``'s readers may
    see, with how many, linked where reported."""
    from truceline.report.editions import visible_statuses

    days = report_days(ws, visible_statuses(edition))
    return write_index(out_dir, days, title, edition=edition, lang=lang)
