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
from truceline.domain.vocab import RESTRICTION_KINDS
from truceline.fusion.coverage import GAP_KINDS

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Rule

__all__ = ["freedom_of_movement"]

_WORDS = {
    "restriction": "restriction(s)",
    "access_denied": "denial(s) of access",
    "access_delayed": "delay(s)",
    "access_conditional": "access granted on conditions",
    "uav_jamming": "jamming of the mission's UAVs",
}


def freedom_of_movement(rule: Rule, ctx: Context) -> list[Finding]:
    """Restrictions of the mission's movement, counted per party and kind."""
    kinds = [str(k) for k in rule.params.get("kinds") or sorted(RESTRICTION_KINDS)]
    inc = ctx.incidents
    kind_of = np.full(len(inc), -1, dtype=np.int64)
    for k, kind in enumerate(kinds):
        kind_of[inc.isin("kind", [kind])] = k

    def summary(g: Group) -> str:
        who = f"in the area held by {g.party}" if g.party else "where no party is placed"
        gap = "; the area was not observed because access was denied"
        return (
            f"{g.n} {_WORDS.get(g.subject, g.subject)} of the mission {who}"
            f"{g.where()} on {g.day_label}{gap if g.subject in GAP_KINDS else ''}"
        )

    return incident_findings(
        rule, ctx, kind_of >= 0, summary, subject=kind_of, subjects=kinds,
        ground_kinds=frozenset(RESTRICTION_KINDS),
    )  # fmt: skip
