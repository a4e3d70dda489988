"""Rule kinds by name, and running every rule of an agreement version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from truceline.compliance.rules.base import Context, Finding
from truceline.compliance.rules.declared import ceiling, declaration_duty, sharing
from truceline.compliance.rules.presence import notification_duty, prohibition
from truceline.compliance.rules.zones import (
    buffer_fire,
    exclusion,
    withdrawal_area,
    withdrawal_band,
)

__all__ = ["INCIDENT_RULE_KINDS", "RULE_KINDS", "RuleCheck", "evaluate"]

RuleCheck = Callable[[Any, Context], list[Finding]]

RULE_KINDS: dict[str, RuleCheck] = {
    "withdrawal_band": withdrawal_band,
    "buffer_fire": buffer_fire,
    "exclusion": exclusion,
    "withdrawal_area": withdrawal_area,
    "ceiling": ceiling,
    "prohibition": prohibition,
    "notification_duty": notification_duty,
    "sharing": sharing,
    "declaration_duty": declaration_duty,
}

#: kinds judged on incidents (their findings' evidence is incidents, over a day)
INCIDENT_RULE_KINDS = frozenset(
    {"withdrawal_band", "buffer_fire", "exclusion", "withdrawal_area", "prohibition",
     "notification_duty"}
)  # fmt: skip


def evaluate(ctx: Context, kinds: dict[str, RuleCheck] | None = None) -> list[Finding]:
    """Every rule of ``ctx.agreement`` whose kind is known; unknown kinds are skipped."""
    table = RULE_KINDS if kinds is None else kinds
    out: list[Finding] = []
    for rule in ctx.agreement.rules:
        check = table.get(str(rule.kind))
        if check is not None:
            out.extend(check(rule, ctx))
    return out
