"""The mission's freedom of movement: denials, delays, conditional access, jamming.

Each restriction is an observation of its own kind (``domain.vocab.RESTRICTION_KINDS``)
at the place it happened. The party answering for it is the one it is attributed to,
else the party holding the ground there (the party that controls access to an area
answers for access to it, when the whole uncertainty circle lies in its area).
Restrictions are counted per party, kind, day and sector: one finding each. A
restriction also leaves the area around it unobserved (``fusion.coverage.restriction_gaps``),
and its finding says so: silence from there is not calm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from truceline.compliance.rules._incident import Group, incident_findings
from truceline.compliance.rules.base import Context, Finding
from truceline.compliance.wording import N_, Wording, part
from truceline.domain.vocab import RESTRICTION_KINDS
from truceline.fusion.coverage import GAP_KINDS

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Rule

__all__ = ["freedom_of_movement"]

_WORDS = {
    "restriction": N_("restriction(s)"),
    "access_denied": N_("denial(s) of access"),
    "access_delayed": N_("delay(s)"),
    "access_conditional": N_("access granted on conditions"),
    "uav_jamming": N_("jamming of the mission's UAVs"),
}


def freedom_of_movement(rule: Rule, ctx: Context) -> list[Finding]:
    """Restrictions of the mission's movement, counted per party and kind."""
    kinds = [str(k) for k in rule.params.get("kinds") or sorted(RESTRICTION_KINDS)]
    inc = ctx.incidents
    kind_of = np.full(len(inc), -1, dtype=np.int64)
    for k, kind in enumerate(kinds):
        kind_of[inc.isin("kind", [kind])] = k

    def summary(g: Group) -> Wording:
        who = (
            part(N_("in the area held by %(party)s"), party=g.party)
            if g.party
            else part(N_("where no party is placed"))
        )
        gap = part(N_("; the area was not observed because access was denied"))
        what = part(_WORDS[g.subject]) if g.subject in _WORDS else g.subject
        return Wording(
            N_("%(n)s %(what)s of the mission %(who)s%(where)s on %(day)s%(gap)s"),
            {"n": g.n, "what": what, "who": who, "where": g.where(), "day": g.day_label,
             "gap": gap if g.subject in GAP_KINDS else ""},
        )  # fmt: skip

    return incident_findings(
        rule, ctx, kind_of >= 0, summary, subject=kind_of, subjects=kinds,
        ground_kinds=frozenset(RESTRICTION_KINDS),
    )  # fmt: skip
