"""Declared holdings against what is seen: more systems observed than a party declared.

Per party and month, the systems of one weapon class observed on that party (placed
as every incident rule places them: attribution, or a sighting wholly inside the
area it holds) are counted as the largest number seen on one day: a tank seen on
two days counts once, so the figure is a lower bound of the distinct systems. When
it exceeds the party's own declared holdings of the item for that month, the
finding carries both the declaration and that day's sightings.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from truceline.compliance.periods import month_label, month_of
from truceline.compliance.rules._incident import DAY, placement, usable
from truceline.compliance.rules.base import PRESENCE_KINDS, Context, Finding
from truceline.compliance.rules.declared import effective, in_span, own
from truceline.compliance.wording import N_, Wording

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Rule

__all__ = ["holdings_observed"]


def _seen_per_day(rule: Rule, ctx: Context) -> dict[tuple[str, int], dict[int, list[int]]]:
    """(party, month start) -> day -> ids of incidents of the class placed on the party."""
    inc = ctx.incidents
    mask = usable(ctx) & inc.isin("kind", PRESENCE_KINDS)
    mask &= inc.isin("weapon_class", [str(rule.params.get("weapon_class"))])
    idx = np.flatnonzero(mask)
    party, _ = placement(inc, ctx.view, idx)
    out: dict[tuple[str, int], dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, p in zip(idx.tolist(), party.tolist(), strict=True):
        if p is not None:
            t = int(inc.t[i])
            out[(str(p), month_of(t)[0])][t // DAY].append(i)
    return out


def holdings_observed(rule: Rule, ctx: Context) -> list[Finding]:
    """More systems of a class seen on a party in a month than it declared holding."""
    item, wclass = str(rule.params.get("item")), str(rule.params.get("weapon_class"))
    bound = set(rule.params.get("parties") or ctx.agreement.party_ids)
    declared = {
        (d.party, d.period_start): d
        for d in effective(in_span(ctx, ctx.declarations)).values()
        if own(d) and d.subject == "equipment" and d.item == item
    }
    inc, a = ctx.incidents, ctx.agreement
    out: list[Finding] = []
    for (party, start), days in sorted(_seen_per_day(rule, ctx).items()):
        d = declared.get((party, start))
        if party not in bound or d is None:
            continue  # a missing declaration is the declaration duty's finding
        day, rows = max(days.items(), key=lambda kv: (int(inc.count[kv[1]].sum()), -kv[0]))
        seen = int(inc.count[rows].sum())
        if seen <= d.value:
            continue
        ids = tuple(sorted(int(inc.id[i]) for i in rows))
        words = Wording(
            N_("%(seen)s %(weapon)s seen on %(party)s's side on one day of %(month)s, more "
               "than the %(declared)s %(item)s it declared"),
            {"seen": seen, "weapon": {"weapon": wclass}, "party": party,
             "month": month_label(start), "declared": f"{d.value:g}", "item": item},
        )  # fmt: skip
        basis = Wording(
            N_("%(party)s's own declaration %(id)s and %(n)s sighting(s) placed on %(party)s"),
            {"party": party, "id": d.id, "n": len(ids)},
        )
        out.append(
            Finding(
                rule_id=rule.id,
                rule_kind=rule.kind,
                agreement_id=a.id,
                agreement_version=a.version,
                anchor=f"{party}:{item}:{start}",
                period_start=start,
                period_end=d.period_end,
                party=party,
                party_basis=basis.english(),
                basis_wording=basis,
                severity="high",
                confidence=float(np.max(inc.confidence[rows])),
                summary=words.english(),
                incidents=ids,
                declarations=(d.id,),
                ledger=() if d.ledger_index is None else (d.ledger_index,),
                wording=words,
            )  # fmt: skip
        )
    return out
