"""Validating the ``[[rules]]`` of an agreement: kinds, params and references.

Each kind names its required and optional params; a rule that refers to an
unknown zone or party, or whose params have the wrong type, is refused with the
rule id, the param and the reason. Dates in params become ISO strings.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from truceline.compliance.agreement.model import BARS, RULE_KINDS, Zone
from truceline.domain.vocab import WeaponClass

__all__ = ["RuleContext", "validate_params"]

_ISO_STATE = re.compile(r"^[A-Z]{2,3}$")


class RuleContext:
    """What a rule may refer to: the zones and parties of its agreement."""

    def __init__(self, zones: Mapping[str, Zone], parties: set[str]) -> None:
        self.zones = zones
        self.parties = parties


Check = Callable[[Any, RuleContext], Any]


def _str(v: Any, _ctx: RuleContext) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"expected a non-empty string, got {v!r}")
    return v


def _nonneg(v: Any, _ctx: RuleContext) -> float | int:
    if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
        raise ValueError(f"expected a number >= 0, got {v!r}")
    return v


def _int(v: Any, _ctx: RuleContext) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"expected an integer >= 0, got {v!r}")
    return v


def _fraction(v: Any, ctx: RuleContext) -> float:
    f = float(_nonneg(v, ctx))
    if f > 1:
        raise ValueError(f"expected a fraction between 0 and 1, got {v!r}")
    return f


def _one_of(*allowed: str) -> Check:
    def check(v: Any, _ctx: RuleContext) -> str:
        if v not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {v!r}")
        return str(v)

    return check


def _list_of(item: Check) -> Check:
    def check(v: Any, ctx: RuleContext) -> list[Any]:
        if not isinstance(v, list) or not v:
            raise ValueError(f"expected a non-empty list, got {v!r}")
        return [item(x, ctx) for x in v]

    return check


def _weapon(v: Any, _ctx: RuleContext) -> str:
    known = [w.value for w in WeaponClass]
    if v not in known:
        raise ValueError(f"unknown weapon class {v!r} (known: {', '.join(known)})")
    return str(v)


def _party(v: Any, ctx: RuleContext) -> str:
    if v not in ctx.parties:
        raise ValueError(f"unknown party {v!r} (parties: {', '.join(sorted(ctx.parties))})")
    return str(v)


def _zone(*kinds: str) -> Check:
    def check(v: Any, ctx: RuleContext) -> str:
        if v not in ctx.zones:
            raise ValueError(f"unknown zone {v!r}")
        if kinds and ctx.zones[v].kind not in kinds:
            raise ValueError(f"zone {v!r} is a {ctx.zones[v].kind}, expected {' or '.join(kinds)}")
        return str(v)

    return check


def _state(v: Any, _ctx: RuleContext) -> str:
    if not isinstance(v, str) or not _ISO_STATE.match(v):
        raise ValueError(f"expected an ISO 3166 country code (e.g. 'US', 'DEU'), got {v!r}")
    return v


def _date(v: Any, _ctx: RuleContext) -> str:
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    try:
        return dt.date.fromisoformat(str(v)).isoformat()
    except ValueError:
        raise ValueError(f"expected a date (YYYY-MM-DD), got {v!r}") from None


def _shares(v: Any, ctx: RuleContext) -> dict[str, float]:
    if not isinstance(v, dict) or not v:
        raise ValueError(f"expected a table {{party = fraction}}, got {v!r}")
    out = {_party(k, ctx): _fraction(f, ctx) for k, f in v.items()}
    if abs(sum(out.values()) - 1.0) > 1e-9:
        raise ValueError(f"shares must add up to 1, they add up to {sum(out.values())}")
    return out


_SUBJECTS = _one_of("personnel", "equipment", "energy")

#: kind -> (required params, optional params)
SPECS: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    "withdrawal_band": ({"weapon_classes": _list_of(_weapon)}, {"parties": _list_of(_party)}),
    "buffer_fire": ({"zone": _zone("buffer", "exclusion")}, {}),
    "exclusion": ({"zone": _zone("exclusion", "buffer")}, {"bars": _list_of(_one_of(*BARS))}),
    "withdrawal_area": (
        {"zone": _zone("withdrawal_area", "withdrawal_line"), "party": _party, "by": _date},
        {},
    ),
    "ceiling": (
        {
            "subject": _one_of("personnel", "equipment"),
            "item": _str,
            "max": _nonneg,
            "unit": _str,
        },
        {"party": _party, "parties": _list_of(_party)},
    ),
    "prohibition": (
        {
            "what": _one_of("foreign_forces"),
            "states": _list_of(_state),
            "territory_party": _party,
        },
        {},
    ),
    "notification_duty": (
        {"activities": _list_of(_str), "threshold_personnel": _int, "days_ahead": _int},
        {"parties": _list_of(_party)},
    ),
    "sharing": (
        {
            "plant": _zone(),
            "shares": _shares,
            "tolerance": _fraction,
            "period": _one_of("month"),
        },
        {"operator": _str},
    ),
    "declaration_duty": (
        {"subject": _SUBJECTS, "item": _str, "every": _one_of("month"), "due_days": _int},
        {"party": _party, "parties": _list_of(_party), "declarant": _str},
    ),
}
assert set(SPECS) == set(RULE_KINDS)


def validate_params(kind: str, params: Mapping[str, Any], ctx: RuleContext) -> dict[str, Any]:
    """The checked params of a rule of ``kind``.

    Raises ``LookupError(param, reason)`` for an unknown kind or a problem with one param.
    """
    if kind not in SPECS:
        raise LookupError("kind", f"unknown rule kind {kind!r} (known: {', '.join(RULE_KINDS)})")
    required, optional = SPECS[kind]
    out: dict[str, Any] = {}
    for key in params:
        if key not in required and key not in optional:
            allowed = ", ".join([*required, *optional])
            raise LookupError(f"params.{key}", f"unknown param (allowed: {allowed})")
    for key, check in {**required, **optional}.items():
        if key not in params:
            if key in required:
                raise LookupError(f"params.{key}", "missing")
            continue
        try:
            out[key] = check(params[key], ctx)
        except ValueError as exc:
            raise LookupError(f"params.{key}", str(exc)) from None
    if kind == "ceiling" and ("party" in out) == ("parties" in out):
        raise LookupError("params.party", "give either party or parties")
    if kind == "exclusion" and "bars" in out:
        extra = set(out["bars"]) - ctx.zones[out["zone"]].bars
        if extra:
            raise LookupError("params.bars", f"zone {out['zone']!r} does not bar {sorted(extra)}")
    return out
