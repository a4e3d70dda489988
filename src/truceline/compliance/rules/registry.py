"""Rule kinds: one registration each (name, params, check, evidence), and running them.

Adding a rule kind is one :class:`RuleKind` in :data:`REGISTRY`: the loader validates
its params from ``params``, ``evaluate`` runs ``check``, the check service retires
stale findings of the kinds whose ``evidence`` is incidents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from truceline.compliance.rules import params as p
from truceline.compliance.rules.base import Context, Finding
from truceline.compliance.rules.declared import ceiling, declaration_duty, sharing
from truceline.compliance.rules.holdings import holdings_observed
from truceline.compliance.rules.movement import freedom_of_movement
from truceline.compliance.rules.presence import ROLES, notification_duty, prohibition
from truceline.compliance.rules.storage import outside_storage, storage_inventory
from truceline.compliance.rules.theatre import DMZ_BARS, ceasefire, demilitarised_zone
from truceline.compliance.rules.zones import (
    buffer_fire,
    exclusion,
    withdrawal_area,
    withdrawal_band,
)
from truceline.domain.vocab import DECLARATION_UNITS, RESTRICTION_KINDS, ObservationKind

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Rule

__all__ = [
    "INCIDENT_RULE_KINDS",
    "REGISTRY",
    "RULE_KINDS",
    "RuleCheck",
    "RuleKind",
    "evaluate",
    "validate_params",
]

RuleCheck = Callable[["Rule", Context], list[Finding]]
#: a check across params, after each param passed its own: raises LookupError(param, reason)
CrossCheck = Callable[[dict[str, Any], p.RuleContext], None]


@dataclass(frozen=True, slots=True)
class RuleKind:
    """One kind of term: its params, its check, what its findings' evidence is."""

    name: str
    required: Mapping[str, p.Check]
    optional: Mapping[str, p.Check]
    check: RuleCheck
    evidence: Literal["incidents", "declarations"]
    cross: CrossCheck | None = None


def _ceiling(out: dict[str, Any], _ctx: p.RuleContext) -> None:
    if ("party" in out) == ("parties" in out):
        raise LookupError("params.party", "give either party or parties")
    units = DECLARATION_UNITS[out["subject"]]
    if out["unit"] not in units:
        reason = f"{out['unit']!r} is not a unit of {out['subject']} (allowed: {', '.join(units)})"
        raise LookupError("params.unit", reason)


def _bars_of_zone(out: dict[str, Any], ctx: p.RuleContext) -> None:
    if "bars" in out:
        extra = set(out["bars"]) - ctx.zones[out["zone"]].bars
        if extra:
            raise LookupError("params.bars", f"zone {out['zone']!r} does not bar {sorted(extra)}")


_SUBJECTS = p.one_of("personnel", "equipment", "energy")
_PARTIES = p.list_of(p.party)

_KINDS = (
    RuleKind(
        "ceasefire",
        {},
        {
            "zone": p.zone("theatre", "exclusion", "withdrawal_area", "buffer"),
            "kinds": p.list_of(p.one_of(*(k.value for k in ObservationKind))),
        },
        ceasefire,
        "incidents",
    ),
    RuleKind(
        "demilitarised_zone",
        {"zone": p.zone("withdrawal_area", "exclusion"), "phases": p.phases(*DMZ_BARS)},
        {"parties": _PARTIES},
        demilitarised_zone,
        "incidents",
    ),
    RuleKind(
        "freedom_of_movement",
        {},
        {"kinds": p.list_of(p.one_of(*sorted(RESTRICTION_KINDS)))},
        freedom_of_movement,
        "incidents",
    ),
    RuleKind(
        "withdrawal_band",
        {"weapon_classes": p.list_of(p.weapon)},
        {"parties": _PARTIES},
        withdrawal_band,
        "incidents",
    ),
    RuleKind(
        "storage_inventory",
        {},
        {"sites": p.list_of(p.zone("storage_site")), "weapon_classes": p.list_of(p.weapon)},
        storage_inventory,
        "incidents",
    ),
    RuleKind(
        "outside_storage",
        {"weapon_classes": p.list_of(p.weapon), "from": p.date},
        {"permitted": p.list_of(p.zone()), "within_km": p.nonneg, "parties": _PARTIES},
        outside_storage,
        "incidents",
    ),
    RuleKind("buffer_fire", {"zone": p.zone("buffer", "exclusion")}, {}, buffer_fire, "incidents"),
    RuleKind(
        "exclusion",
        {"zone": p.zone("exclusion", "buffer")},
        {"bars": p.list_of(p.one_of(*p.BARS))},
        exclusion,
        "incidents",
        _bars_of_zone,
    ),
    RuleKind(
        "withdrawal_area",
        {"zone": p.zone("withdrawal_area", "withdrawal_line"), "party": p.party, "by": p.date},
        {},
        withdrawal_area,
        "incidents",
    ),
    RuleKind(
        "ceiling",
        {
            "subject": p.one_of("personnel", "equipment"),
            "item": p.text,
            "max": p.nonneg,
            "unit": p.text,
        },
        {"party": p.party, "parties": _PARTIES},
        ceiling,
        "declarations",
        _ceiling,
    ),
    RuleKind(
        "prohibition",
        {
            "what": p.one_of("foreign_forces"),
            "states": p.list_of(p.state),
            "territory_party": p.party,
        },
        {"exempt": p.list_of(p.one_of(*ROLES)), "flights": p.boolean},
        prohibition,
        "incidents",
    ),
    RuleKind(
        "notification_duty",
        {
            "activities": p.list_of(p.text),
            "threshold_personnel": p.integer,
            "days_ahead": p.integer,
        },
        {"parties": _PARTIES, "answer_hours": p.integer},
        notification_duty,
        "incidents",
    ),
    RuleKind(
        "holdings_observed",
        {"item": p.text, "weapon_class": p.weapon},
        {"parties": _PARTIES},
        holdings_observed,
        "declarations",
    ),
    RuleKind(
        "sharing",
        {
            "plant": p.zone(),
            "shares": p.shares,
            "tolerance": p.fraction,
            "period": p.one_of("month"),
        },
        {"operator": p.text},
        sharing,
        "declarations",
    ),
    RuleKind(
        "declaration_duty",
        {"subject": _SUBJECTS, "item": p.text, "every": p.one_of("month"), "due_days": p.integer},
        {"party": p.party, "parties": _PARTIES, "declarant": p.text},
        declaration_duty,
        "declarations",
    ),
)

#: every rule kind by name
REGISTRY: dict[str, RuleKind] = {k.name: k for k in _KINDS}
#: the names of the rule kinds, in registration order
RULE_KINDS: tuple[str, ...] = tuple(REGISTRY)
#: kinds judged on incidents (their findings' evidence is incidents, over a day)
INCIDENT_RULE_KINDS = frozenset(k.name for k in _KINDS if k.evidence == "incidents")


def validate_params(kind: str, params: Mapping[str, Any], ctx: p.RuleContext) -> dict[str, Any]:
    """The checked params of a rule of ``kind``.

    Raises ``LookupError(param, reason)`` for an unknown kind or a problem with one param.
    """
    spec = REGISTRY.get(kind)
    if spec is None:
        raise LookupError("kind", f"unknown rule kind {kind!r} (known: {', '.join(RULE_KINDS)})")
    for key in params:
        if key not in spec.required and key not in spec.optional:
            allowed = ", ".join([*spec.required, *spec.optional])
            raise LookupError(f"params.{key}", f"unknown param (allowed: {allowed})")
    out: dict[str, Any] = {}
    for key, check in {**spec.required, **spec.optional}.items():
        if key not in params:
            if key in spec.required:
                raise LookupError(f"params.{key}", "missing")
            continue
        try:
            out[key] = check(params[key], ctx)
        except ValueError as exc:
            raise LookupError(f"params.{key}", str(exc)) from None
    if spec.cross is not None:
        spec.cross(out, ctx)
    return out


def evaluate(ctx: Context) -> list[Finding]:
    """Every rule of ``ctx.agreement`` whose kind is known; unknown kinds are skipped."""
    out: list[Finding] = []
    for rule in ctx.agreement.rules:
        spec = REGISTRY.get(rule.kind)
        if spec is not None:
            out.extend(spec.check(rule, ctx))
    return out
