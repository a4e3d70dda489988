"""Write a daily report's files: ``daily-DATE.json``, ``daily-DATE.png``, ``daily-DATE.html``
(Jinja2 templates in ``report/templates``, CSS inline, no CDN), and the index page."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from truceline.domain.errors import InputError
from truceline.report.daily import DailyData, daily_json, standing
from truceline.report.mapping import render_map

__all__ = [
    "INDEX_NAME",
    "ReportPaths",
    "report_names",
    "template_env",
    "write_daily",
    "write_index",
]

INDEX_NAME = "index.html"


@dataclass(frozen=True, slots=True)
class ReportPaths:
    """The files of one daily report."""

    day: date
    html: Path
    json: Path
    map_png: Path
    pdf: Path | None = None


def report_names(day: date) -> tuple[str, str, str]:
    """File names (html, json, png) of the report of ``day``."""
    stem = f"daily-{day.isoformat()}"
    return f"{stem}.html", f"{stem}.json", f"{stem}.png"


def template_env() -> Environment:
    """The Jinja2 environment of the report templates (autoescaped, strict)."""
    env = Environment(
        loader=PackageLoader("truceline.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = lambda t: datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%d %H:%M")
    return env


def _sector_table(doc: dict[str, Any]) -> tuple[list[str], list[tuple[str, dict[str, int]]]]:
    rows: dict[str, dict[str, int]] = defaultdict(dict)
    kinds: set[str] = set()
    for c in doc["counts"]["incidents"]["by_sector_kind"]:
        rows[c["sector"] or "(none)"][c["kind"]] = c["n"]
        kinds.add(c["kind"])
    return sorted(kinds), sorted(rows.items())


def _rule_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Standing findings per rule: kind, count and how many each party is placed in."""
    rows: dict[str, dict[str, Any]] = {}
    for f in standing(doc["findings"]):
        r = rows.setdefault(
            f["rule_id"], {"rule_id": f["rule_id"], "rule_kind": f["rule_kind"], "n": 0, "by": {}}
        )
        r["n"] += 1
        who = f["party"] or "not determined"
        r["by"][who] = r["by"].get(who, 0) + 1
    return [rows[k] for k in sorted(rows)]


def write_daily(
    data: DailyData, out_dir: Path, with_index_link: bool = False, pdf: bool = False
) -> ReportPaths:
    """Render ``data`` into ``out_dir`` (created if needed); returns the paths written.
    With ``pdf`` the HTML is also printed to ``daily-DATE.pdf`` by WeasyPrint."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the report folder: {exc.strerror}") from exc
    html_name, json_name, png_name = report_names(data.day)
    doc = daily_json(data, png_name)
    title = f"Incidents of {data.day.isoformat()} (UTC)"
    if data.agreement is not None:
        title += f" · agreement {data.agreement.id}"
    render_map(data.agreement, data.incidents, data.findings, out_dir / png_name, title)
    (out_dir / json_name).write_text(
        json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    kinds, sector_rows = _sector_table(doc)
    html = (
        template_env()
        .get_template("daily.html.j2")
        .render(
            r=doc,
            kinds=kinds,
            sector_rows=sector_rows,
            rule_rows=_rule_rows(doc),
            map_src=png_name,
            json_name=json_name,
            index_name=INDEX_NAME if with_index_link else "",
        )
    )
    (out_dir / html_name).write_text(html, encoding="utf-8")
    pdf_path = _pdf(out_dir / html_name) if pdf else None
    return ReportPaths(
        data.day, out_dir / html_name, out_dir / json_name, out_dir / png_name, pdf_path
    )


def _pdf(html: Path) -> Path:
    """Print the HTML report (with its map) to PDF beside it."""
    import weasyprint

    out = html.with_suffix(".pdf")
    weasyprint.HTML(filename=str(html)).write_pdf(str(out))
    return out


def write_index(out_dir: Path, days: list[tuple[date, int]], title: str = "") -> Path:
    """The index page: every day with incidents, linked where its report exists in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for d, n in days:
        html_name = report_names(d)[0]
        href = html_name if (out_dir / html_name).is_file() else ""
        rows.append({"date": d.isoformat(), "incidents": n, "href": href})
    peak = max([n for _, n in days] or [1])
    html = template_env().get_template("index.html.j2").render(days=rows, title=title, peak=peak)
    path = out_dir / INDEX_NAME
    path.write_text(html, encoding="utf-8")
    return path
