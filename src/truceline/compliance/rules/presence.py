"""Terms on what is seen: prohibited foreign forces and unnotified activities."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

from truceline.compliance.rules._incident import Group, incident_findings, placement
from truceline.compliance.rules.base import Context, Finding, Notifications
from truceline.compliance.wording import N_, Wording, part
from truceline.domain.vocab import ObservationKind

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Rule

__all__ = ["ACTIVITY_KINDS", "notification_duty", "notified", "prohibition"]

#: what an activity named in a duty looks like in observations
ACTIVITY_KINDS: dict[str, frozenset[str]] = {
    "exercise": frozenset({ObservationKind.MOVEMENT}),
    "movement": frozenset({ObservationKind.MOVEMENT}),
    "rotation": frozenset({ObservationKind.MOVEMENT}),
    "flight": frozenset({ObservationKind.FLIGHT}),
}


#: roles of a foreign presence the terms may exempt (``attrs.role`` of an observation)
ROLES = ("mission", "attache", "agreed_force")
_UNKNOWN = "unknown state"


def prohibition(rule: Rule, ctx: Context) -> list[Finding]:
    """Units (and, with ``flights``, flights) of listed states on the territory held by the
    named party, unless their role is exempt; a foreign unit of no stated state is reported
    as of an "unknown state" (it may be of a listed one)."""
    if rule.params.get("what", "foreign_forces") != "foreign_forces":
        return []
    states = [str(s).upper() for s in rule.params.get("states") or []]
    territory = str(rule.params.get("territory_party"))
    exempt = rule.params.get("exempt", ROLES)
    inc = ctx.incidents
    kinds = {ObservationKind.FOREIGN_UNIT}
    if rule.params.get("flights", True):
        kinds |= {ObservationKind.FLIGHT, ObservationKind.DRONE}
    present = inc.isin("kind", kinds) & ctx.view.held_by(territory) & ~inc.isin("role", exempt)
    stateless = np.asarray(inc.table.column("state").is_null().to_numpy(zero_copy_only=False))
    unknown = present & stateless & inc.isin("kind", [ObservationKind.FOREIGN_UNIT])
    subjects = [*states, _UNKNOWN]
    state_of = np.full(len(inc), -1, dtype=np.int64)
    for k, st in enumerate(states):
        state_of[present & inc.isin("state", [st])] = k
    state_of[unknown] = len(states)
    listed = ", ".join(states)

    def summary(g: Group) -> Wording:
        whose = (
            part(N_("of a state not stated"))
            if g.subject == _UNKNOWN
            else part(N_("of %(state)s"), state=g.subject)
        )
        return Wording(
            N_("%(n)s sighting(s) of forces %(whose)s on the territory held by %(territory)s"
               " on %(day)s: %(what)s (foreign forces of %(listed)s barred)"),
            {"n": g.n, "whose": whose, "territory": territory, "day": g.day_label,
             "what": g.what(), "listed": listed},
        )  # fmt: skip

    return incident_findings(
        rule, ctx, state_of >= 0, summary, subject=state_of, subjects=subjects, level="high",
        ground_kinds=frozenset(kinds),
    )  # fmt: skip


#: register activities that count as a "movement" named in a duty
_MOVEMENTS = frozenset({"movement", "convoy", "rotation"})


def notified(
    notes: Notifications,
    activities: set[str],
    party: str | None,
    t: int,
    lon: float,
    lat: float,
    days_ahead: float,
) -> str:
    """How the register covers an activity seen at (t, lon, lat): ``"in time"`` when a
    notification of it was filed ``days_ahead`` days before the notified start, ``"late"``
    when one covers it but was filed later, ``"none"`` when nothing covers it."""
    if not notes.party:
        return "none"
    names = set(activities) | (set(_MOVEMENTS) if activities & _MOVEMENTS else set())
    start = np.asarray(notes.t_start, dtype=np.int64)
    ok = (start <= t) & (t <= np.asarray(notes.t_end, dtype=np.int64))
    ok &= np.isin(np.asarray(notes.activity, dtype=object), sorted(names))
    if party is not None:
        ok &= np.asarray(notes.party, dtype=object) == party
    if notes.bbox:
        b = np.asarray(notes.bbox, dtype=np.float64)
        ok &= (b[:, 0] <= lon) & (lon <= b[:, 2]) & (b[:, 1] <= lat) & (lat <= b[:, 3])
    if notes.footprint and ok.any():
        idx = np.flatnonzero(ok)
        shapes = np.asarray(notes.footprint, dtype=object)[idx]
        ok[idx] = shapely.intersects_xy(shapes, lon, lat)
    if not ok.any():
        return "none"
    filed = np.asarray(notes.filed_at, dtype=np.int64)
    in_time = ok & (filed <= start - days_ahead * 86400)
    return "in time" if in_time.any() else "late"


def notification_duty(rule: Rule, ctx: Context) -> list[Finding]:
    """An activity above the threshold observed with no notification in the register, or
    one notified too late, unless the evidence places it on a party outside the duty's
    ``parties``. Without a register (``notes.available`` false) nothing is judged: no
    activity is held to be unnotified when there was nowhere to notify it."""
    if not ctx.notifications.available:
        return []
    activities = {str(a) for a in rule.params.get("activities") or ["exercise", "movement"]}
    kinds: set[str] = set()
    for a in activities:
        kinds |= ACTIVITY_KINDS.get(a, frozenset({a}))
    threshold = int(rule.params.get("threshold_personnel", 0))
    days = float(rule.params.get("days_ahead", 0))
    inc = ctx.incidents
    mask = inc.isin("kind", kinds) & (inc.count >= threshold)
    idx = np.flatnonzero(mask)
    party, _ = placement(inc, ctx.view, idx)
    bound = {str(x) for x in rule.params.get("parties") or []}  # the duty's parties (all if none)
    late: set[int] = set()
    for i, p in zip(idx.tolist(), party.tolist(), strict=True):
        t, lon, lat = int(inc.t[i]), float(inc.lon[i]), float(inc.lat[i])
        if bound and p is not None and p not in bound:
            mask[i] = False  # placed on a party the duty does not bind
            continue
        how = notified(ctx.notifications, activities, p, t, lon, lat, days)
        if how == "in time":
            mask[i] = False
        elif how == "late":
            late.add(int(inc.id[i]))
    # each unnotified activity is its own finding
    left = np.flatnonzero(mask)
    own = np.full(len(inc), -1, dtype=np.int64)
    own[left] = np.arange(len(left))
    count = {int(i): int(c) for i, c in zip(inc.id[left], inc.count[left], strict=True)}

    def summary(g: Group) -> Wording:
        how = (
            part(N_("notified late (less than %(days)s days ahead)"), days=f"{days:g}")
            if g.ids[0] in late
            else part(N_("without a notification %(days)s days ahead"), days=f"{days:g}")
        )
        return Wording(
            N_("%(what)s of %(count)s (threshold %(threshold)s) observed on %(day)s %(how)s"),
            {"what": g.what(), "count": count[g.ids[0]], "threshold": threshold,
             "day": g.day_label, "how": how},
        )  # fmt: skip

    subjects = [f"incident {i}" for i in inc.id[left].tolist()]
    return incident_findings(rule, ctx, mask, summary, subject=own, subjects=subjects)
