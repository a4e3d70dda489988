"""Turning the incidents a rule selects into findings, on arrays.

Selected incidents are grouped by (subject, UTC day, reporting sector, party
placed): one finding per group, its evidence every incident of the group (a day
that an amendment cuts is two periods, one judged under each version). So
a day of heavy shelling in one sector is one finding with its thousand
incidents, not a thousand findings; a later incident of the same group grows
that finding's evidence (an update, see ``compliance.findings``). The party is
placed per incident (:func:`placement`), so incidents placed on different
parties, or on none, never share a finding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from truceline.compliance.rules.base import (
    MIN_ACTOR_CONFIDENCE,
    PRESENCE_KINDS,
    STATUS_WEIGHT,
    BoolArray,
    Context,
    Finding,
    FloatArray,
    Incidents,
    IntArray,
    ZoneView,
)
from truceline.compliance.wording import N_, Wording, counts, part
from truceline.domain.vocab import IncidentStatus, Severity

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Quality, Rule

__all__ = ["HEAVY_CLASSES", "Group", "incident_findings", "placement", "usable"]

#: weapon classes whose presence or use weighs most
HEAVY_CLASSES = frozenset({"artillery_ge100", "mlrs", "mlrs_long_tbm", "aircraft"})
DAY = 86400
_ATTRIBUTED, _ON_GROUND = 1, 2


def usable(ctx: Context) -> BoolArray:
    """Incidents that may produce findings: not rejected, inside the checked span."""
    inc = ctx.incidents
    rejected = inc.isin("status", [IncidentStatus.REJECTED])
    return ~rejected & (inc.t >= ctx.t_from) & (inc.t < ctx.t_to)


def placement(
    inc: Incidents,
    view: ZoneView,
    idx: IntArray,
    by_map: bool = True,
    ground_kinds: frozenset[str] = PRESENCE_KINDS,
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int8]]:
    """Per selected incident: the party the evidence places it on (None if it does not) and
    how (1 = attributed by fusion with enough confidence, 2 = a presence whose whole
    uncertainty circle lies in the area a party holds, 0 = not placed). Without ``by_map``
    only attribution places: where the map says nothing of who is there (a zone both
    parties must leave), an unidentified force stays unidentified. ``ground_kinds``: the
    kinds the holder of the ground answers for (what is seen there, by default)."""
    actor = np.asarray(
        inc.table.column("actor").take(idx).to_numpy(zero_copy_only=False), dtype=object
    )
    attributed = (actor != None) & (inc.actor_confidence[idx] >= MIN_ACTOR_CONFIDENCE)  # noqa: E711
    holder = view.party[idx]
    dist_m = view.dist_km[idx] * 1000.0
    presence = inc.isin("kind", ground_kinds)[idx]
    ground = ~attributed & presence & (holder >= 0) & np.isfinite(dist_m) & by_map
    ground &= dist_m > inc.radius_m[idx]
    party = np.full(len(idx), None, dtype=object)
    party[attributed] = actor[attributed]
    names = np.asarray(view.parties + ("",), dtype=object)
    party[ground] = names[holder[ground]]
    how = np.where(attributed, _ATTRIBUTED, np.where(ground, _ON_GROUND, 0)).astype(np.int8)
    return party, how


def _weak(quality: Quality, conf: FloatArray, nonparty: IntArray) -> BoolArray:
    """Groups whose evidence is too weak to grade: below the agreement's confidence, or
    resting on the parties' own claims alone (unless the agreement accepts those)."""
    weak: BoolArray = conf < quality.min_confidence
    if not quality.party_claims_alone:
        weak |= nonparty <= 0
    return weak


def _weights(inc: Incidents, idx: IntArray) -> FloatArray:
    w = np.full(len(idx), STATUS_WEIGHT[IncidentStatus.REPORTED])
    for status, weight in STATUS_WEIGHT.items():
        w[inc.isin("status", [status])[idx]] = weight
    conf = np.clip(np.nan_to_num(inc.confidence[idx], nan=0.0), 0.0, 1.0)
    out: FloatArray = np.round(w * conf, 4)
    return out


@dataclass(frozen=True, slots=True)
class Group:
    """The incidents of one finding, for the rule's wording."""

    subject: str
    day: int
    sector: str | None
    party: str | None
    ids: tuple[int, ...]
    kinds: Counter[str]
    weapons: Counter[str]

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def day_label(self) -> str:
        return _day_label(self.day)

    def what(self) -> dict[str, Any]:
        """``3 explosion, 1 burst`` (most frequent first), as a wording argument."""
        return counts("kinds", self.kinds.most_common())

    def where(self) -> dict[str, Any] | str:
        """`` in sector S``, as a wording argument (empty without a sector)."""
        return part(N_(" in sector %(sector)s"), sector=self.sector) if self.sector else ""


@lru_cache(maxsize=4096)
def _day_label(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).date().isoformat()


def _time_label(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _basis(
    g: Group, inc: Incidents, view: ZoneView, rows: IntArray, how: npt.NDArray[np.int8]
) -> Wording | None:
    """Why the group's party is named: the attributions, the sightings on its ground."""
    if g.party is None:
        return None
    parts: dict[str, Wording] = {}
    attributed, ground = rows[how == _ATTRIBUTED], rows[how == _ON_GROUND]
    if len(attributed):
        i = int(attributed[0])
        why = inc.str_at("actor_basis", i)  # fusion's own words, kept as written
        parts["attributed"] = Wording(
            N_("%(n)s incident(s) attributed to %(party)s by fusion (e.g. incident %(id)s: "
               "%(basis)s; confidence %(confidence)s)"),
            {"n": len(attributed), "party": g.party, "id": int(inc.id[i]),
             "basis": why or part(N_("no basis given")),
             "confidence": f"{inc.actor_confidence[i]:.2f}"},
        )  # fmt: skip
    if len(ground):
        near = float(view.dist_km[ground].min())
        parts["ground"] = Wording(
            N_("%(n)s sighting(s) inside the area held by %(party)s, each with its whole "
               "uncertainty circle on %(party)s's side of the contact line (nearest %(km)s km)"),
            {"n": len(ground), "party": g.party, "km": f"{near:.1f}"},
        )  # fmt: skip
    if len(parts) < 2:
        return next(iter(parts.values()), None)
    return Wording(N_("%(attributed)s; %(ground)s"), {k: w.doc() for k, w in parts.items()})


def _groups(*keys: IntArray) -> tuple[IntArray, IntArray]:
    """Sort order and group starts of the rows by ``keys`` (small ints)."""
    keys = tuple(k - k.min() for k in keys)
    bits = [max(1, int(k.max()).bit_length()) if len(k) else 1 for k in keys]
    if sum(bits) <= 62:  # one packed key: a single argsort
        packed = np.zeros(len(keys[0]), dtype=np.int64)
        for k, b in zip(keys, bits, strict=True):
            packed = (packed << b) | k
        order = np.argsort(packed, kind="stable")
        change = packed[order][1:] != packed[order][:-1]
    else:
        order = np.lexsort(keys[::-1])
        stacked = np.column_stack(keys)[order]
        change = np.any(stacked[1:] != stacked[:-1], axis=1)
    starts = np.concatenate([[0], np.flatnonzero(change) + 1]).astype(np.int64)
    return order.astype(np.int64), starts


def _counts(inc: Incidents, column: str, sidx: IntArray, starts: IntArray) -> list[Counter[str]]:
    """Per group, how many of each value of a string column (nulls left out)."""
    codes, values = inc.codes(column)
    c = codes[sidx]
    group = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(sidx))))
    keep = c >= 0
    width = max(1, len(values))
    flat = np.bincount(group[keep] * width + c[keep], minlength=len(starts) * width)
    table = flat.reshape(len(starts), width)
    return [Counter({values[j]: n for j, n in enumerate(row) if n}) for row in table.tolist()]


def incident_findings(
    rule: Rule,
    ctx: Context,
    mask: BoolArray,
    summary: Callable[[Group], Wording],
    *,
    subject: IntArray | None = None,
    subjects: Sequence[str] = ("",),
    high: BoolArray | None = None,
    level: str = "medium",
    require_party: str | None = None,
    by_map: bool = True,
    ground_kinds: frozenset[str] = PRESENCE_KINDS,
) -> list[Finding]:
    """Findings for the incidents selected by ``mask``, one per (subject, day, sector, party).

    ``subject`` (index into ``subjects`` per incident) separates what the rule tells apart
    (the band, the foreign state); ``high`` marks incidents that make a finding high
    severity, else it is ``level``; ``by_map``, ``ground_kinds``: see :func:`placement`."""
    inc, view, a = ctx.incidents, ctx.view, ctx.agreement
    idx = np.flatnonzero(mask & usable(ctx))
    if not len(idx):
        return []
    party, how = placement(inc, view, idx, by_map, ground_kinds)
    names = sorted({p for p in party.tolist() if p is not None})
    pcode = np.full(len(idx), -1, dtype=np.int64)
    for k, name in enumerate(names):
        pcode[party == name] = k
    subj = np.zeros(len(idx), np.int64) if subject is None else subject[idx]
    day = inc.t[idx] // DAY
    sector = view.sector[idx]
    order, starts = _groups(subj, day, sector, pcode)
    ends = [*starts[1:].tolist(), len(idx)]
    sidx = idx[order]
    n = np.diff(np.append(starts, len(idx)))
    lon = np.add.reduceat(inc.lon[sidx], starts) / n
    lat = np.add.reduceat(inc.lat[sidx], starts) / n
    conf = np.maximum.reduceat(_weights(inc, sidx), starts)
    heavy = np.zeros(len(idx), bool) if high is None else high[sidx]
    severe = np.maximum.reduceat(heavy.astype(np.int8), starts) > 0
    weak = _weak(a.quality, conf, np.maximum.reduceat(inc.nonparty[sidx], starts))
    ids = inc.id[sidx].tolist()
    # a day cut by an amendment is two periods, one under each version (keys stay apart)
    v_from = int(a.valid_from)
    v_to = 2**62 if a.valid_to is None else int(a.valid_to)
    kinds = _counts(inc, "kind", sidx, starts)
    weapons = _counts(inc, "weapon_class", sidx, starts)
    out: list[Finding] = []
    for g_no, (lo, hi) in enumerate(zip(starts.tolist(), ends, strict=True)):
        first = int(order[lo])
        p = None if pcode[first] < 0 else names[int(pcode[first])]
        if require_party is not None and p != require_party:
            continue
        k_sec = int(sector[first])
        g = Group(
            subject=subjects[int(subj[first])],
            day=int(day[first]) * DAY,
            sector=view.sector_ids[k_sec] if k_sec >= 0 else None,
            party=p,
            ids=tuple(sorted(ids[lo:hi])),
            kinds=kinds[g_no],
            weapons=weapons[g_no],
        )
        start, end = max(g.day, v_from), min(g.day + DAY, v_to)
        when = g.day_label if start == g.day else _time_label(start)
        words = summary(g)
        basis = _basis(g, inc, view, sidx[lo:hi], how[order[lo:hi]])
        out.append(
            Finding(
                rule_id=str(rule.id),
                rule_kind=str(rule.kind),
                agreement_id=str(a.id),
                agreement_version=int(a.version),
                anchor=f"{g.subject}:{when}:{g.sector or '-'}:{p or '-'}",
                period_start=start,
                period_end=end,
                party=p,
                party_basis=None if basis is None else basis.english(),
                basis_wording=basis,
                severity=Severity.UNCONFIRMED if weak[g_no] else "high" if severe[g_no] else level,
                confidence=float(conf[g_no]),
                summary=words.english(),
                incidents=g.ids,
                lon=float(lon[g_no]),
                lat=float(lat[g_no]),
                wording=words,
            )
        )
    return out
