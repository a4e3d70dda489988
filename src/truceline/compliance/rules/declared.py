"""Terms checked against declarations: ceilings, sharing splits, declaration duties."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from truceline.compliance.periods import month_label, months_between
from truceline.compliance.rules.base import Context, Declaration, Finding
from truceline.compliance.wording import N_, Wording, part

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Rule

__all__ = [
    "answered_missing",
    "ceiling",
    "declaration_duty",
    "effective",
    "in_span",
    "own",
    "sharing",
]


def in_span(ctx: Context, decls: Iterable[Declaration]) -> list[Declaration]:
    """Declarations whose period starts inside the checked span (and this version's time)."""
    return [d for d in decls if ctx.t_from <= d.period_start < ctx.t_to]


def own(d: Declaration) -> bool:
    """Whether ``d`` is its party's own declaration (a figure another declarant files about a
    party is not: it neither replaces the party's figure nor is held against it)."""
    return d.party is not None and d.declarant == d.party


def effective(decls: Iterable[Declaration]) -> dict[tuple[Any, ...], Declaration]:
    """The latest filed declaration per (party, declarant, subject, item, plant, period): a
    correction replaces its declarant's own figure, never another declarant's or plant's."""
    out: dict[tuple[Any, ...], Declaration] = {}
    for d in sorted(decls, key=lambda d: (d.filed_at, d.id)):
        plant = d.attrs.get("plant")
        out[(d.party, d.declarant, d.subject, d.item, plant, d.period_start)] = d
    return out


def _finding(
    rule: Rule,
    ctx: Context,
    anchor: str,
    decls: list[Declaration],
    words: Wording,
    basis: Wording | None = None,
    **kw: Any,
) -> Finding:
    a = ctx.agreement
    return Finding(
        summary=words.english(),
        wording=words,
        party_basis=None if basis is None else basis.english(),
        basis_wording=basis,
        rule_id=str(rule.id),
        rule_kind=str(rule.kind),
        agreement_id=str(a.id),
        agreement_version=int(a.version),
        anchor=anchor,
        declarations=tuple(sorted(d.id for d in decls)),
        ledger=tuple(sorted(d.ledger_index for d in decls if d.ledger_index is not None)),
        **kw,
    )


def _parties(rule: Rule, ctx: Context) -> list[str]:
    p = rule.params
    if p.get("parties"):
        return [str(x) for x in p["parties"]]
    if p.get("party"):
        return [str(p["party"])]
    return [str(x.id) for x in ctx.agreement.parties]


def ceiling(rule: Rule, ctx: Context) -> list[Finding]:
    """A party's declared strength or holdings above the agreed maximum."""
    p = rule.params
    subject, item, cap = str(p.get("subject")), p.get("item"), float(p.get("max", 0))
    unit = p.get("unit")
    parties = set(_parties(rule, ctx))
    totals: dict[tuple[str, int], list[Declaration]] = defaultdict(list)
    for d in effective(in_span(ctx, ctx.declarations)).values():
        if (
            not own(d)
            or d.party not in parties
            or d.subject != subject
            or (item and d.item != item)
        ):
            continue
        if unit and d.unit.lower() != str(unit).lower():
            continue
        totals[(d.party, d.period_start)].append(d)
    out: list[Finding] = []
    for (party, start), ds in sorted(totals.items()):
        value = sum(d.value for d in ds)
        if value <= cap:
            continue
        month = month_label(start)
        what = f"{subject} {item or 'total'}"
        ids = ", ".join(str(d.id) for d in ds)
        out.append(
            _finding(
                rule,
                ctx,
                f"{party}:{subject}:{item or '*'}:{start}",
                ds,
                period_start=start,
                period_end=max(d.period_end for d in ds),
                party=party,
                basis=Wording(
                    N_("%(party)s's own declaration(s) %(ids)s for %(month)s"),
                    {"party": party, "ids": ids, "month": month},
                ),
                severity="high",
                confidence=1.0,
                words=Wording(
                    N_(
                        "%(party)s declared %(what)s of %(value)s for %(month)s, above the "
                        "ceiling of %(cap)s%(unit)s"
                    ),
                    {
                        "party": party,
                        "what": what,
                        "value": f"{value:g}",
                        "month": month,
                        "cap": f"{cap:g}",
                        "unit": f" {unit}" if unit else "",
                    },
                ),  # fmt: skip
            )
        )
    return out


def sharing(rule: Rule, ctx: Context) -> list[Finding]:
    """A plant's delivered output per party outside the agreed split by more than the tolerance."""
    p = rule.params
    plant = str(p.get("plant"))
    shares = {str(k): float(v) for k, v in (p.get("shares") or {}).items()}
    tol = float(p.get("tolerance", 0))
    by_period: dict[int, dict[str, Declaration]] = defaultdict(dict)
    for d in effective(in_span(ctx, ctx.declarations)).values():
        if d.subject != "energy" or not d.item.startswith("delivered_to:"):
            continue
        if d.attrs.get("plant", plant) != plant:
            continue
        if p.get("operator") and d.declarant != p["operator"]:
            continue  # only the operator's metering counts
        by_period[d.period_start][d.item.removeprefix("delivered_to:")] = d
    out: list[Finding] = []
    for start, got in sorted(by_period.items()):
        if set(shares) - set(got):
            continue  # a party's figure is missing: the declaration duty reports it
        total = math.fsum(got[k].value for k in shares)
        if total <= 0:
            continue
        actual = {k: got[k].value / total for k in shares}
        worst = max(abs(actual[k] - shares[k]) for k in shares)
        if worst <= tol:
            continue
        split = ", ".join(f"{k} {actual[k]:.1%}" for k in sorted(shares))
        agreed = ", ".join(f"{k} {shares[k]:.0%}" for k in sorted(shares))
        ds = [got[k] for k in sorted(shares)]
        out.append(
            _finding(
                rule,
                ctx,
                f"{plant}:{start}",
                ds,
                period_start=start,
                period_end=max(d.period_end for d in ds),
                party=None,
                severity="high" if worst > 2 * tol else "medium",
                confidence=1.0,
                words=Wording(
                    N_(
                        "%(plant)s delivered %(split)s in %(month)s; agreed %(agreed)s within "
                        "%(tolerance)s"
                    ),
                    {
                        "plant": plant,
                        "split": split,
                        "month": month_label(start),
                        "agreed": agreed,
                        "tolerance": f"{tol:.0%}",
                    },
                ),  # fmt: skip
            )
        )
    return out


def _duty_findings(
    rule: Rule, ctx: Context, who: str, ds: list[Declaration], period: tuple[int, int]
) -> list[Finding]:
    """The missing / late / inconsistent findings of one declarant for one period."""
    p = rule.params
    subject, item = str(p.get("subject")), str(p.get("item"))
    due = int(float(p.get("due_days", 0)) * 86400)
    ps, pe = period
    party = who if who in {str(x.id) for x in ctx.agreement.parties} else None
    what = part(N_("%(subject)s %(item)s for %(month)s"), subject=subject, item=item,
                month=month_label(ps))  # fmt: skip
    key = f"{who}:{subject}:{item}:{ps}"
    base: dict[str, Any] = dict(period_start=ps, period_end=pe, party=party, confidence=1.0)
    if not ds:
        if pe + due > ctx.horizon:
            return []
        missing = Wording(N_("no declaration by %(who)s on record"), {"who": who})
        summary = Wording(
            N_("%(who)s did not declare %(what)s (due within %(due)s days)"),
            {"who": who, "what": what, "due": due // 86400},
        )
        return [
            _finding(
                rule,
                ctx,
                "missing:" + key,
                [],
                basis=missing if party else None,
                severity="medium",
                words=summary,
                **base,
            )
        ]
    out: list[Finding] = []
    basis = Wording(N_("declaration(s) filed by %(who)s"), {"who": who}) if party else None
    if ds[0].filed_at > pe + due:
        days = (ds[0].filed_at - pe) / 86400
        summary = Wording(
            N_("%(who)s declared %(what)s %(days)s days after the period (due within %(due)s)"),
            {"who": who, "what": what, "days": f"{days:.0f}", "due": due // 86400},
        )
        out.append(
            _finding(
                rule,
                ctx,
                "late:" + key,
                ds[:1],
                basis=basis,
                severity="low",
                words=summary,
                **base,
            )
        )
    if len({d.value for d in ds}) > 1:
        values = ", ".join(f"{d.value:g}" for d in ds)
        summary = Wording(
            N_("%(who)s declared differing figures for %(what)s: %(values)s"),
            {"who": who, "what": what, "values": values},
        )
        out.append(
            _finding(
                rule,
                ctx,
                "inconsistent:" + key,
                ds,
                basis=basis,
                severity="medium",
                words=summary,
                **base,
            )
        )
    return out


def _filed(
    rule: Rule, declarations: Iterable[Declaration]
) -> dict[tuple[str, int], list[Declaration]]:
    """The declarations of the rule's subject and item, by (declarant, period start)."""
    p = rule.params
    subject, item = str(p.get("subject")), str(p.get("item"))
    operator = p.get("declarant")
    filed: dict[tuple[str, int], list[Declaration]] = defaultdict(list)
    for d in declarations:
        by = d.declarant if operator else d.party if own(d) else None
        if d.subject == subject and d.item == item and by is not None:
            filed[(by, d.period_start)].append(d)
    return filed


def answered_missing(rule: Rule, declarations: Iterable[Declaration]) -> list[str]:
    """The anchors of this duty's "did not declare" findings that a declaration on record
    now answers: such a finding is superseded (its lateness, if any, is a finding of its own)."""
    p = rule.params
    subject, item = str(p.get("subject")), str(p.get("item"))
    return [f"missing:{who}:{subject}:{item}:{ps}" for who, ps in _filed(rule, declarations)]


def declaration_duty(rule: Rule, ctx: Context) -> list[Finding]:
    """Missing, late and inconsistent declarations of a subject and item, per declarant and month.

    A month is judged under the version in force at its start (as ``in_span`` does for the
    other declaration terms), once it has ended by the check's horizon: a month that ends or
    falls due after an amendment is still this version's. The duty lies on the parties
    (``party``/``parties``, default all) or, with ``declarant``, on that operator; an
    operator's lapses name no party."""
    p = rule.params
    operator = p.get("declarant")
    who_list = [str(operator)] if operator else _parties(rule, ctx)
    filed = _filed(rule, ctx.declarations)
    start = max(ctx.t_from, int(ctx.agreement.valid_from))
    periods = [m for m in months_between(start, ctx.horizon) if start <= m[0] < ctx.t_to]
    out: list[Finding] = []
    for period in periods:
        for who in who_list:
            ds = sorted(filed.get((who, period[0]), []), key=lambda d: (d.filed_at, d.id))
            out.extend(_duty_findings(rule, ctx, who, ds, period))
    return out
