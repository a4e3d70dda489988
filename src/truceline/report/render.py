"""Write a daily report's files: ``daily-DATE.json``, ``daily-DATE.png``, ``daily-DATE.html``
(Jinja2 templates in ``report/templates``, CSS inline, no CDN), and the index page."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from truceline.compliance.wording import render as render_wording
from truceline.domain.errors import InputError
from truceline.report.daily import DailyData, daily_json, standing
from truceline.report.labels import weapon_label
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


def report_names(day: date, edition: str = "public", lang: str = "en") -> tuple[str, str, str]:
    """File names (html, json, png) of the report of ``day`` in ``edition`` and ``lang``:
    ``daily-DATE`` for the public English edition, ``-restricted`` and ``.LANG`` added."""
    stem = f"daily-{day.isoformat()}"
    if edition != "public":
        stem += f"-{edition}"
    if lang != "en":
        stem += f".{lang}"
    return f"{stem}.html", f"{stem}.json", f"{stem}.png"


def template_env(lang: str = "en") -> Environment:
    """The Jinja2 environment of the report templates (autoescaped, strict, in ``lang``)."""
    from truceline.i18n import install

    env = Environment(
        loader=PackageLoader("truceline.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = lambda t: datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%d %H:%M")
    env.filters["weapon"] = weapon_label
    env.filters["signed"] = lambda n: f"+{n}" if n > 0 else ("±0" if n == 0 else f"−{-n}")
    install(env, lang)
    env.filters["summary"] = _worded_in(lang, "summary", "wording", "summary")
    env.filters["basis"] = _worded_in(lang, "party_basis", "basis_wording", "basis")
    env.filters["gettext"] = env.globals["gettext"]  # to translate a list: map("gettext")
    return env


def _worded_in(
    lang: str, text: str, form_key: str, evidence_key: str
) -> Callable[[Mapping[str, Any]], str | None]:
    """A finding's ``text`` field (its summary, its party's basis) in ``lang``: the wording
    the rule gave (msgid and arguments, under ``form_key`` or in the evidence under
    ``evidence_key``) translated, else the stored English text (None where the edition
    withholds it)."""
    from truceline.i18n import translations

    gettext = translations(lang).gettext

    def worded(f: Mapping[str, Any]) -> str | None:
        if not f.get(text):
            return f.get(text)
        ev = f.get("evidence")
        form = f.get(form_key) or (ev.get(evidence_key) if isinstance(ev, Mapping) else None)
        if not form:
            return str(f[text])
        return render_wording(form, gettext, weapon_label)

    return worded


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
        who = f["party"] or ""
        r["by"][who] = r["by"].get(who, 0) + 1
    return [rows[k] for k in sorted(rows)]


def write_daily(
    data: DailyData,
    out_dir: Path,
    *,
    edition: str = "public",
    lang: str = "en",
    with_index_link: bool = False,
    pdf: bool = False,
) -> ReportPaths:
    """Render ``data`` into ``out_dir`` (created if needed) in ``edition`` and ``lang``;
    returns the paths written. With ``pdf`` the HTML is also printed to PDF."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the report folder: {exc.strerror}") from exc
    html_name, json_name, png_name = report_names(data.day, edition, lang)
    doc = daily_json(data, png_name, edition=edition, lang=lang)
    env = template_env(lang)
    render_map(
        data.agreement, doc["incidents"], standing(doc["findings"]), out_dir / png_name, lang=lang
    )
    (out_dir / json_name).write_text(
        json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    kinds, sector_rows = _sector_table(doc)
    index_name = report_names(data.day, edition, lang)[0].replace(
        f"daily-{data.day.isoformat()}", "index"
    )
    html = env.get_template("daily.html.j2").render(
        r=doc,
        kinds=kinds,
        sector_rows=sector_rows,
        rule_rows=_rule_rows(doc),
        map_src=png_name,
        json_name=json_name,
        index_name=index_name if with_index_link else "",
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


def write_index(
    out_dir: Path,
    days: list[tuple[date, int]],
    title: str = "",
    *,
    edition: str = "public",
    lang: str = "en",
) -> Path:
    """The index page: every day with incidents, linked where its report exists in
    ``out_dir``; days without a report are counted, not listed one by one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for d, n in days:
        html_name = report_names(d, edition, lang)[0]
        if (out_dir / html_name).is_file():
            rows.append({"date": d.isoformat(), "incidents": n, "href": html_name})
    peak = max([int(r["incidents"]) for r in rows] or [1])
    html = (
        template_env(lang)
        .get_template("index.html.j2")
        .render(
            days=rows,
            title=title,
            peak=peak,
            unreported=len(days) - len(rows),
            edition=edition,
            total=len(days),
        )
    )
    stem = report_names(date(2000, 1, 1), edition, lang)[0].replace("daily-2000-01-01", "index")
    path = out_dir / stem
    path.write_text(html, encoding="utf-8")
    return path
