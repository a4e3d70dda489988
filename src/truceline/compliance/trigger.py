"""The guarantee trigger: when findings meet a major-breach condition of the agreement.

An agreement's ``[[major_breach]]`` conditions say, as data, what the guarantors act
on: at least ``count`` findings of the named rules attributed to one party within
``days`` days, each at least ``depth_km`` from the contact line (a strike deep in the
other's territory: count 1, depth 50; repeated violations: count 5, days 7; forces in
the demilitarised zone: its rule, count 1). Pure: findings in, triggers out.

A trigger from findings that are open or confirmed is a *candidate* (for analysts);
one met by analyst-confirmed findings alone is *confirmed*: only those go into a
breach notice. A finding that names no party never counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from truceline.compliance.agreement.geometry import Metric
from truceline.compliance.agreement.model import Agreement, BreachCondition
from truceline.domain.vocab import FindingStatus

__all__ = ["FindingFact", "Trigger", "triggers"]

DAY = 86400


@dataclass(frozen=True, slots=True)
class FindingFact:
    """What the trigger reads of a stored finding."""

    id: int
    rule_id: str
    party: str | None
    status: str
    period_start: int
    lon: float | None
    lat: float | None


@dataclass(frozen=True, slots=True)
class Trigger:
    condition: BreachCondition
    party: str
    findings: tuple[int, ...]  # the findings that meet it, oldest first
    confirmed: bool  # met by analyst-confirmed findings alone

    @property
    def summary(self) -> str:
        kind = "met" if self.confirmed else "candidate (findings not all confirmed)"
        return (
            f"{self.condition.id}: {len(self.findings)} finding(s) against {self.party} "
            f"({kind}): {self.condition.text}"
        )


def _depth_km(a: Agreement, facts: Sequence[FindingFact]) -> npt.NDArray[np.float64]:
    line = a.contact_line
    if line.is_empty:
        return np.full(len(facts), np.inf)
    metric = Metric.around(line)
    line_m = metric.fwd(line)
    pts = [metric.fwd(shapely.Point(f.lon or 0.0, f.lat or 0.0), 0) for f in facts]
    depth = np.array([line_m.distance(p) / 1000.0 for p in pts], dtype=np.float64)
    located = np.array([f.lon is not None and f.lat is not None for f in facts], dtype=bool)
    return np.where(located, depth, np.nan)


def _first_window(times: list[int], count: int, days: float) -> int | None:
    """Index of the last of the first ``count`` findings that fall within ``days`` days."""
    for end in range(count - 1, len(times)):
        if times[end] - times[end - count + 1] < days * DAY:
            return end
    return None


def _met(
    cond: BreachCondition,
    facts: Sequence[FindingFact],
    depth: npt.NDArray[np.float64],
    statuses: set[str],
) -> list[tuple[str, tuple[int, ...]]]:
    out = []
    keep = [
        k
        for k, f in enumerate(facts)
        if f.rule_id in cond.rules and f.party is not None and f.status in statuses
        and not depth[k] < cond.depth_km
    ]  # fmt: skip
    for party in sorted({str(facts[k].party) for k in keep}):
        mine = sorted((facts[k] for k in keep if facts[k].party == party),
                      key=lambda f: (f.period_start, f.id))  # fmt: skip
        end = _first_window([f.period_start for f in mine], cond.count, cond.days)
        if end is not None:
            out.append((party, tuple(f.id for f in mine[end - cond.count + 1 : end + 1])))
    return out


def triggers(a: Agreement, facts: Sequence[FindingFact]) -> list[Trigger]:
    """Every condition of ``a`` met, per party: confirmed ones and, where the confirmed
    findings alone do not meet it, the candidate from open and confirmed findings."""
    depth = _depth_km(a, facts)
    out: list[Trigger] = []
    for cond in a.major_breach:
        confirmed = _met(cond, facts, depth, {FindingStatus.CONFIRMED})
        done = {p for p, _ in confirmed}
        out += [Trigger(cond, p, ids, True) for p, ids in confirmed]
        candidates = _met(cond, facts, depth, {FindingStatus.OPEN, FindingStatus.CONFIRMED})
        out += [Trigger(cond, p, ids, False) for p, ids in candidates if p not in done]
    return out
