"""The incident lifecycle as a pure state machine.

::

    reported ⇄ corroborated ─┐            (fusion, as independent groups come and go)
        │            │        ├─ verify ─> verified
        └── dispute ─┴────────┤            (analyst, or a contradiction found by fusion)
                      disputed┘
    reported | corroborated | disputed ── reject ──> rejected
    verified | rejected | disputed ── reopen ──> reported | corroborated (by the evidence)

Analysts act with ``verify``, ``reject``, ``dispute`` and ``reopen``; fusion moves an
incident only between the evidence-driven states (``reported``, ``corroborated``,
``disputed``) and never overrides an analyst's ``verified`` or ``rejected``.
An illegal move raises :class:`Conflict` naming both states.
"""

from __future__ import annotations

from enum import StrEnum

from truceline.domain.errors import Conflict, InputError
from truceline.domain.vocab import IncidentStatus

__all__ = ["ANALYST_STATES", "Action", "ALLOWED", "after_fusion", "next_status"]

S = IncidentStatus


class Action(StrEnum):
    VERIFY = "verify"
    REJECT = "reject"
    DISPUTE = "dispute"
    REOPEN = "reopen"


#: states only an analyst's action leaves
ANALYST_STATES = frozenset({S.VERIFIED, S.REJECTED})

#: for each action, the states it may start from
ALLOWED: dict[Action, frozenset[IncidentStatus]] = {
    Action.VERIFY: frozenset({S.REPORTED, S.CORROBORATED, S.DISPUTED}),
    Action.REJECT: frozenset({S.REPORTED, S.CORROBORATED, S.DISPUTED}),
    Action.DISPUTE: frozenset({S.REPORTED, S.CORROBORATED, S.VERIFIED}),
    Action.REOPEN: frozenset({S.VERIFIED, S.REJECTED, S.DISPUTED}),
}

_TARGET = {Action.VERIFY: S.VERIFIED, Action.REJECT: S.REJECTED, Action.DISPUTE: S.DISPUTED}


def _status(value: str) -> IncidentStatus:
    try:
        return IncidentStatus(value)
    except ValueError as exc:
        raise InputError(f"unknown incident status {value!r}") from exc


def next_status(current: str, action: str, n_groups: int) -> IncidentStatus:
    """The status after an analyst's ``action``; ``reopen`` returns to what the evidence
    says (``corroborated`` with two independent groups or more, else ``reported``)."""
    cur = _status(current)
    try:
        act = Action(action)
    except ValueError as exc:
        raise InputError(
            f"unknown action {action!r}; use one of {[a.value for a in Action]}"
        ) from exc
    target = _TARGET.get(act) or (S.CORROBORATED if n_groups >= 2 else S.REPORTED)
    if cur not in ALLOWED[act]:
        raise Conflict(f"cannot {act.value} an incident from {cur.value} to {target.value}")
    return target


def after_fusion(current: str | None, computed: str) -> IncidentStatus:
    """The status fusion gives an incident whose evidence now says ``computed``.

    A new incident (``current`` None) takes ``computed``; an analyst's verified or
    rejected stays; a disputed incident stays disputed until an analyst reopens it.
    """
    comp = _status(computed)
    if comp in ANALYST_STATES:
        raise Conflict(f"fusion cannot set {comp.value}: only an analyst can")
    if current is None:
        return comp
    cur = _status(current)
    if cur in ANALYST_STATES or cur is S.DISPUTED:
        return cur
    return comp
