"""The breach assessment for guarantors: JSON summary, HTML, PDF (WeasyPrint) and a map.

:func:`assessment_doc` is pure: from the findings of a period (as dicts, the
shape ``service.findings.FindingRow`` gives) it counts confirmed and, apart,
open findings by term, party, severity and ISO week, and lists every finding
with its evidence (incident ids, declaration ids, ledger indices). The ``public``
edition shows the findings as ``report.editions.finding_view`` cuts them (a party
named only once an analyst confirmed the finding; weapons findings on the 0.1 degree
grid), the ``restricted`` one (for the analyst and guarantors) all of it.
:func:`write_assessment` renders the files.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from truceline.domain.errors import InputError
from truceline.report.editions import (
    PUBLIC,
    RESTRICTED,
    check_edition,
    finding_view,
    incidents_view,
)
from truceline.report.labels import N_
from truceline.report.mapping import render_map
from truceline.report.render import template_env

__all__ = ["BASIS", "AssessmentPaths", "assessment_doc", "write_assessment"]

NOT_DETERMINED = "not determined"
SEVERITIES = ("high", "medium", "low", "unconfirmed")
BASIS = N_(
    "Guarantees would be weighed on confirmed findings only: each names the term broken, the "
    "evidence (incidents fused from independently graded sources, declarations filed by the "
    "parties or the operator) and the ledger leaves that anyone holding a published tree head "
    "can check. A party is named only where the evidence places it (an attribution with its "
    "stated basis, a presence wholly inside the area it holds, its own declaration); findings "
    "with no party determined weigh on the situation, not on a party. Open findings are listed "
    "apart: they await an analyst's decision and are not a basis for action."
)


@dataclass(frozen=True, slots=True)
class AssessmentPaths:
    html: Path
    pdf: Path
    json: Path
    map_png: Path


def _week(t: int) -> str:
    y, w, _ = datetime.fromtimestamp(t, UTC).isocalendar()
    return f"{y}-W{w:02d}"


def _weeks(d1: date, d2: date) -> list[dict[str, str]]:
    """The ISO weeks that meet [d1, d2), each with its first and last day inside it."""
    out: list[dict[str, str]] = []
    d = d1 - timedelta(days=d1.weekday())
    while d < d2:
        y, w, _ = d.isocalendar()
        first, last = max(d, d1), min(d + timedelta(days=6), d2 - timedelta(days=1))
        out.append({"week": f"{y}-W{w:02d}", "start": first.isoformat(), "end": last.isoformat()})
        d += timedelta(days=7)
    return out


def _summary(
    fs: Sequence[dict[str, Any]],
    weeks: list[dict[str, str]],
    texts: dict[tuple[Any, ...], str],
    t0: int,
) -> dict[str, Any]:
    by_term: dict[str, dict[str, Any]] = {}
    for f in fs:
        rid = f["rule_id"]
        t = by_term.setdefault(
            rid,
            {"rule_id": rid, "rule_kind": f["rule_kind"], "texts": [],
             "n": 0, "by_party": Counter(), "by_severity": Counter()},
        )  # fmt: skip
        text = texts.get((f["agreement_id"], f["agreement_version"], rid), "")
        if text and text not in t["texts"]:
            t["texts"].append(text)  # the term as worded in the version judging the finding
        t["n"] += 1
        t["by_party"][f["party"] or NOT_DETERMINED] += 1
        t["by_severity"][f["severity"]] += 1
    # a finding whose period began before the assessment's counts in its first week
    trend = Counter(_week(max(int(f["period_start"]), t0)) for f in fs)
    return {
        "total": len(fs),
        "by_term": [
            {
                **{k: v for k, v in t.items() if k != "texts"},
                "text": " / ".join(t["texts"]),
                "by_party": dict(sorted(t["by_party"].items())),
                "by_severity": {s: t["by_severity"][s] for s in SEVERITIES if t["by_severity"][s]},
            }
            for t in (by_term[k] for k in sorted(by_term))
        ],  # fmt: skip
        "by_party": dict(sorted(Counter(f["party"] or NOT_DETERMINED for f in fs).items())),
        "by_severity": {s: sum(1 for f in fs if f["severity"] == s) for s in SEVERITIES},
        "trend": [dict(w, n=trend.get(w["week"], 0)) for w in weeks],
    }


def assessment_doc(
    findings: Sequence[dict[str, Any]],
    d1: date,
    d2: date,
    agreements: Sequence[Any],
    tree_head: dict[str, Any] | None = None,
    generated_at: int | None = None,
    edition: str = RESTRICTED,
) -> dict[str, Any]:
    """The JSON document of the assessment of [d1, d2) in ``edition``: ``period.to`` is
    the last day covered (inclusive), ``period.end`` the day after it."""
    check_edition(edition)
    if edition == PUBLIC:
        findings = [v for f in findings if (v := finding_view(dict(f), PUBLIC)) is not None]
    texts = {(a.id, a.version, r.id): r.text for a in agreements for r in a.rules}
    weeks = _weeks(d1, d2)
    t0 = int(datetime(d1.year, d1.month, d1.day, tzinfo=UTC).timestamp())
    keep = ("id", "status", "rule_id", "rule_kind", "agreement_id", "agreement_version",
            "period_start", "period_end", "party", "party_basis", "severity", "confidence",
            "summary", "evidence", "lon", "lat", "ledger_index")  # fmt: skip
    listed = [
        {k: f[k] for k in keep}
        | ({"party_withheld": f["party_withheld"]} if "party_withheld" in f else {})
        for f in findings
        if f["status"] in ("confirmed", "open")
    ]
    confirmed = [f for f in listed if f["status"] == "confirmed"]
    open_ = [f for f in listed if f["status"] == "open"]
    return {
        "kind": "breach_assessment",
        "edition": edition,
        "period": {
            "from": d1.isoformat(),
            "to": (d2 - timedelta(days=1)).isoformat(),
            "end": d2.isoformat(),
        },
        "generated_at": datetime.fromtimestamp(
            generated_at if generated_at is not None else int(datetime.now(UTC).timestamp()), UTC
        ).isoformat(),
        "agreements": [{"id": a.id, "version": a.version, "title": a.title} for a in agreements],
        "parties": sorted({(p.id, p.name) for a in agreements for p in a.parties}),
        "basis": BASIS,
        "confirmed": _summary(confirmed, weeks, texts, t0),
        "open": _summary(open_, weeks, texts, t0),
        "dismissed": sum(1 for f in findings if f["status"] == "dismissed"),
        "findings": sorted(
            listed, key=lambda f: (f["status"] != "confirmed", f["period_start"], f["id"])
        ),
        "ledger": tree_head,
    }


def write_assessment(
    doc: dict[str, Any],
    out_dir: Path,
    agreement: Any | None,
    incidents: Sequence[dict[str, Any]],
    lang: str = "en",
) -> AssessmentPaths:
    """Write ``assessment-D1-D2.{json,png,html,pdf}`` into ``out_dir`` (``-public`` added
    for the public edition, ``.LANG`` before the extension for a language other than
    English); the map shows ``incidents`` as the edition may."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out_dir}: cannot create the output folder: {exc.strerror}") from exc
    stem = f"assessment-{doc['period']['from']}-{doc['period']['to']}"
    tier = doc.get("edition", RESTRICTED)
    if tier == PUBLIC:
        stem += "-public"
        incidents = incidents_view(list(incidents), PUBLIC)
    if lang != "en":
        stem += f".{lang}"
    paths = AssessmentPaths(*(out_dir / f"{stem}.{ext}" for ext in ("html", "pdf", "json", "png")))
    paths.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    from truceline.i18n import translations

    _ = translations(lang).gettext
    title = _("Findings %(start)s to %(end)s (confirmed and open)") % {
        "start": doc["period"]["from"],
        "end": doc["period"]["to"],
    }
    if len(doc["findings"]) > 60:
        title += "; " + _("%(n)s findings shown as small rings") % {"n": len(doc["findings"])}
    render_map(agreement, incidents, doc["findings"], paths.map_png, title, lang=lang)
    html = (
        template_env(lang)
        .get_template("assessment.html.j2")
        .render(r=doc, map_png=paths.map_png.name)
    )
    paths.html.write_text(html, encoding="utf-8")
    _pdf(html, out_dir, paths.pdf)
    return paths


def _pdf(html: str, base: Path, path: Path) -> None:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    try:
        HTML(string=html, base_url=str(base)).write_pdf(str(path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot write the PDF: {exc}") from exc
