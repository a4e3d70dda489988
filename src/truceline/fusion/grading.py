"""Occurrence confidence, status and attribution of incidents, from their observations.

Inputs are per-observation columns (numpy arrays); ``labels`` gives each
observation's incident (0..n-1; negative = in no incident).

**Occurrence.** Each report is worth ``p = P_RELIABILITY[r] * P_CREDIBILITY[c]``
(Admiralty reliability A-F of the source in force at the observation's time, the
observation's credibility 1-6; "cannot be judged", F or 6, counts as 0.5). Reports of
one independence group are not independent, so a group contributes once, with its
best report: ``p_g = max p``. The confidence that the incident happened is

    confidence = 1 - prod_g (1 - p_g)

over the groups that report it (denials excluded). Status: ``reported`` with one
supporting group, ``corroborated`` with two or more, ``disputed`` when contradicted:
an observation denies it (kind ``denial`` or ``denials`` true: a party denies, a
source reports nothing happened) or, through ``silent``, a sensor whose declared
coverage held the place and time reported nothing (see ``fusion.coverage``).

**Attribution** is separate: only observations that name an actor count, each
group once (best report), party channels at half weight (a party's claim about
its adversary is a claim, not evidence). For each named actor
``s_a = 1 - prod_g (1 - p_g)``; the actor with the highest support is returned
with ``s_a * prod_{b != a} (1 - s_b)`` (discounted by competing attributions) and a
basis in words; when two actors have equal support none is named (the basis says
"contested"). Occurrence confidence and the side of the line never enter it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from truceline.domain.vocab import IncidentStatus, ObservationKind

__all__ = [
    "P_CREDIBILITY",
    "P_RELIABILITY",
    "Attribution",
    "Scores",
    "attribute",
    "report_weight",
    "score_incidents",
]

F64 = NDArray[np.float64]

#: probability that a report of a source of this reliability is right
P_RELIABILITY: dict[str, float] = {"A": 0.95, "B": 0.8, "C": 0.6, "D": 0.4, "E": 0.2, "F": 0.5}
#: probability that information of this credibility is right
P_CREDIBILITY: dict[int, float] = {1: 0.95, 2: 0.8, 3: 0.6, 4: 0.4, 5: 0.2, 6: 0.5}
_REL = np.array([P_RELIABILITY[k] for k in "ABCDEF"])
_CRED = np.array([0.5] + [P_CREDIBILITY[k] for k in range(1, 7)])


@dataclass(frozen=True, slots=True)
class Scores:
    confidence: F64  # per incident, that it happened
    n_groups: NDArray[np.int64]  # independent groups supporting it
    n_denials: NDArray[np.int64]  # observations contradicting it
    status: NDArray[np.str_]


@dataclass(frozen=True, slots=True)
class Attribution:
    actor: NDArray[np.object_]  # party id or None
    confidence: F64  # NaN where no actor
    basis: NDArray[np.object_]  # words, or None


_LUT = np.full(128, 5, dtype=np.int64)
for _k, _c in enumerate("ABCDEF"):
    _LUT[ord(_c)] = _LUT[ord(_c.lower())] = _k


def _rel_codes(reliability: ArrayLike) -> NDArray[np.int64]:
    """0..5 for A..F (any case); anything else counts as F."""
    r = np.asarray(reliability)
    if r.dtype.kind in "iu":
        return np.clip(r.astype(np.int64), 0, 5)
    cp = np.ascontiguousarray(r.astype("U1")).view(np.uint32)
    return _LUT[np.minimum(cp, 127)]


def report_weight(reliability: ArrayLike, credibility: ArrayLike) -> F64:
    """``p`` of each report from its source's reliability (A-F or 0-5) and credibility 1-6."""
    rel = _REL[_rel_codes(reliability)]
    cred = np.asarray(credibility, dtype=np.int64)
    return np.asarray(rel * _CRED[np.where((cred >= 1) & (cred <= 6), cred, 0)], np.float64)


def _best_per_group(
    labels: NDArray[np.int64], groups: NDArray[np.int64], p: F64
) -> tuple[NDArray[np.int64], F64]:
    """One (label, best p) per distinct (label, group)."""
    if labels.size == 0:
        return labels, p
    key = labels * (int(groups.max(initial=0)) + 1) + groups
    o = np.argsort(key, kind="stable")
    ks = key[o]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    best = np.maximum.reduceat(p[o], starts)
    return labels[o][starts], np.asarray(best, dtype=np.float64)


def score_incidents(
    labels: ArrayLike,
    group_codes: ArrayLike,
    reliability: ArrayLike,
    credibility: ArrayLike,
    kinds: ArrayLike | None = None,
    denials: ArrayLike | None = None,
    silent: ArrayLike | None = None,
    n_incidents: int | None = None,
) -> Scores:
    """Confidence, independent groups and status per incident (see the module docstring).

    ``silent`` (per incident, bool) marks incidents a sensor's coverage should have seen
    but that sensor reported nothing.
    """
    lab = np.asarray(labels, dtype=np.int64)
    grp = np.asarray(group_codes, dtype=np.int64)
    n = int(lab.max(initial=-1)) + 1 if n_incidents is None else n_incidents
    deny = np.zeros(lab.size, np.bool_) if denials is None else np.asarray(denials, np.bool_)
    if kinds is not None:
        deny = deny | (np.asarray(kinds).astype(str) == ObservationKind.DENIAL.value)
    p = report_weight(reliability, credibility)
    use = (lab >= 0) & ~deny
    inc, best = _best_per_group(lab[use], grp[use], p[use])
    log_miss = np.bincount(inc, weights=np.log1p(-np.minimum(best, 1 - 1e-12)), minlength=n)
    confidence = -np.expm1(log_miss)
    n_groups = np.bincount(inc, minlength=n).astype(np.int64)
    n_denials = np.bincount(lab[(lab >= 0) & deny], minlength=n).astype(np.int64)
    status = np.where(
        n_groups >= 2, IncidentStatus.CORROBORATED.value, IncidentStatus.REPORTED.value
    ).astype("<U12")
    contradicted = n_denials > 0
    if silent is not None:
        contradicted = contradicted | np.asarray(silent, np.bool_)
    status[contradicted] = IncidentStatus.DISPUTED.value
    return Scores(confidence[:n], n_groups[:n], n_denials[:n], status[:n])


def attribute(
    labels: ArrayLike,
    group_codes: ArrayLike,
    actors: Sequence[str | None] | NDArray[np.object_],
    reliability: ArrayLike,
    credibility: ArrayLike,
    party_channel: ArrayLike | None = None,
    methods: Sequence[str | None] | NDArray[np.object_] | None = None,
    n_incidents: int | None = None,
    denials: ArrayLike | None = None,
) -> Attribution:
    """Who acted, per incident, only from observations that name an actor.

    ``party_channel`` marks observations from a party's own channel (half weight);
    ``methods`` names a technical basis of an observation's attribution (e.g.
    "crater analysis"), quoted in the basis; ``denials`` marks observations that deny
    (their actor is who denies, not who acted), which are left out.
    """
    lab = np.asarray(labels, dtype=np.int64)
    n = int(lab.max(initial=-1)) + 1 if n_incidents is None else n_incidents
    act = np.asarray(actors, dtype=object)
    named = (lab >= 0) & act.astype(np.bool_)  # None and "" name nobody
    if denials is not None:
        named &= ~np.asarray(denials, np.bool_)
    out_actor = np.full(n, None, dtype=object)
    out_conf = np.full(n, np.nan)
    out_basis = np.full(n, None, dtype=object)
    if not named.any():
        return Attribution(out_actor, out_conf, out_basis)
    idx = np.flatnonzero(named)
    names, acode = np.unique(act[idx].astype(str), return_inverse=True)
    p = report_weight(np.asarray(reliability)[idx], np.asarray(credibility)[idx])
    party = np.zeros(idx.size, np.bool_)
    if party_channel is not None:
        party = np.asarray(party_channel, np.bool_)[idx]
    p = np.where(party, p / 2, p)
    grp = np.asarray(group_codes, dtype=np.int64)[idx]
    # one term per (incident, actor, group): the group's best report
    na = names.size
    inc, best = _best_per_group(lab[idx] * na + acode, grp, p)
    key, inv = np.unique(inc, return_inverse=True)
    miss = np.log1p(-np.minimum(best, 1 - 1e-12))
    support = -np.expm1(np.bincount(inv, weights=miss))
    n_grp = np.bincount(inv)
    # per (incident, actor): did only party channels name it?
    okey = np.searchsorted(key, lab[idx] * na + acode)
    only_party = np.bincount(okey, weights=~party, minlength=key.size) == 0
    k_inc, k_act = key // na, key % na
    s_miss = np.log1p(-np.minimum(support, 1 - 1e-12))
    total_miss = np.bincount(k_inc, weights=s_miss, minlength=n)
    order = np.lexsort((-support, k_inc))
    top = order[np.r_[True, k_inc[order][1:] != k_inc[order][:-1]]]
    methods_of = _methods(okey, methods, idx)
    bounds = np.searchsorted(k_inc, np.r_[k_inc[top], k_inc[top] + 1].reshape(2, -1))
    for j, lo, hi in zip(top, bounds[0], bounds[1], strict=True):
        i = int(k_inc[j])
        tie = any(r != j and np.isclose(support[r], support[j]) for r in range(lo, hi))
        rows = sorted(range(lo, hi), key=lambda r: (r != j, str(names[k_act[r]])))
        words = [_phrase(int(n_grp[r]), str(names[k_act[r]]), bool(only_party[r])) for r in rows]
        if tie:  # equal support for two actors: naming one would be arbitrary
            words = sorted(words) + ["contested: not attributed"]
        else:
            out_actor[i] = str(names[k_act[j]])
            out_conf[i] = float(support[j] * np.exp(total_miss[i] - s_miss[j]))
            if methods_of.get(int(j)):
                words.append("method: " + ", ".join(sorted(methods_of[int(j)])))
        out_basis[i] = "; ".join(words)
    return Attribution(out_actor, out_conf, out_basis)


def _methods(
    okey: NDArray[np.intp],
    methods: Sequence[str | None] | NDArray[np.object_] | None,
    idx: NDArray[np.intp],
) -> dict[int, set[str]]:
    """Technical bases named by observations, per (incident, actor) key."""
    out: dict[int, set[str]] = {}
    if methods is None:
        return out
    meth = np.asarray(methods, dtype=object)[idx]
    for k, m in zip(okey, meth, strict=True):
        if m:
            out.setdefault(int(k), set()).add(str(m))
    return out


def _phrase(groups: int, actor: str, only_party: bool) -> str:
    who = "independent source groups name" if groups > 1 else "source group names"
    return f"{groups} {who} {actor}" + (" (party claims only)" if only_party else "")
