"""Report use cases: the daily report of a day, the busiest day, the index of days.

The report reads the store (one connection) and writes files; it issues nothing
except, where asked, a fresh signed tree head so that the report cites the ledger
as it stands when written.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from truceline.domain.errors import NotFound
from truceline.report.daily import days_with_incidents, gather_daily
from truceline.report.render import ReportPaths, write_daily, write_index
from truceline.service.workspace import Workspace
from truceline.store.db import store_errors

__all__ = ["ReportPaths", "busiest_day", "daily_report", "report_days", "write_report_index"]


def daily_report(
    ws: Workspace,
    day: date,
    out_dir: Path,
    *,
    issue_head: bool = False,
    with_index_link: bool = False,
    pdf: bool = False,
) -> ReportPaths:
    """Write the daily report of ``day`` (UTC) into ``out_dir`` as HTML, JSON and PNG
    (and PDF with ``pdf``).

    With ``issue_head`` a signed tree head is issued first (teammate E's ledger
    service), so the report cites the ledger including everything it shows.
    """
    if issue_head:
        from truceline.service.ledger import issue_tree_head

        issue_tree_head(ws)
    with store_errors("reading the day's report"), ws.engine.connect() as conn:
        data = gather_daily(conn, day)
    return write_daily(data, out_dir, with_index_link=with_index_link, pdf=pdf)


def report_days(ws: Workspace) -> list[tuple[date, int]]:
    """Every UTC day with incidents and how many."""
    with store_errors("listing report days"), ws.engine.connect() as conn:
        return days_with_incidents(conn)


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


def write_report_index(ws: Workspace, out_dir: Path, title: str = "") -> Path:
    """``index.html`` in ``out_dir``: every day with incidents, linked where reported."""
    return write_index(out_dir, report_days(ws), title)
