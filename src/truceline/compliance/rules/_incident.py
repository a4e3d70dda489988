"""Turning masked incidents into findings: one finding per incident and rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from truceline.compliance.rules.base import (
    BoolArray,
    Context,
    Finding,
    confidence_of,
    place,
)
from truceline.domain.vocab import IncidentStatus

__all__ = ["HEAVY_CLASSES", "incident_findings", "usable"]

#: weapon classes whose presence or use weighs most
HEAVY_CLASSES = frozenset({"artillery_ge100", "mlrs", "mlrs_long_tbm", "aircraft"})


def usable(ctx: Context) -> BoolArray:
    """Incidents that may produce findings: not rejected, inside the checked span."""
    inc = ctx.incidents
    rejected = inc.isin("status", [IncidentStatus.REJECTED])
    return ~rejected & (inc.t >= ctx.t_from) & (inc.t < ctx.t_to)


def incident_findings(
    rule: Any,
    ctx: Context,
    mask: BoolArray,
    summary: Callable[[int], str],
    severity: Callable[[int], str],
    *,
    placed: Callable[[int], tuple[str | None, str | None]] | None = None,
    require_party: str | None = None,
) -> list[Finding]:
    """One finding per incident selected by ``mask`` (the loop runs over findings only)."""
    inc, a = ctx.incidents, ctx.agreement
    out: list[Finding] = []
    for i in np.flatnonzero(mask & usable(ctx)):
        party, basis = (placed or (lambda j: place(inc, ctx.view, j)))(int(i))
        if require_party is not None and party != require_party:
            continue
        t = int(inc.t[i])
        out.append(
            Finding(
                rule_id=str(rule.id),
                rule_kind=str(rule.kind),
                agreement_id=str(a.id),
                agreement_version=int(a.version),
                anchor=f"incident:{int(inc.id[i])}",
                period_start=t,
                period_end=t + 1,
                party=party,
                party_basis=basis,
                severity=severity(int(i)),
                confidence=confidence_of(inc.str_at("status", int(i)), float(inc.confidence[i])),
                summary=summary(int(i)),
                incidents=(int(inc.id[i]),),
                lon=float(inc.lon[i]),
                lat=float(inc.lat[i]),
            )
        )
    return out
