"""Checking the params of an agreement's ``[[rules]]``: the building blocks of a spec.

Each rule kind (``registry``) names its required and optional params with these
checks; a rule that refers to an unknown zone or party, or whose params have the
wrong type, is refused with the rule id, the param and the reason. Dates in params
become ISO strings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from truceline.domain.states import STATE_FORM, is_state_code
from truceline.domain.vocab import WeaponClass

if TYPE_CHECKING:
    from truceline.compliance.agreement.model import Zone

__all__ = [
    "BARS",
    "Check",
    "boolean",
    "ParamSpec",
    "RuleContext",
    "date",
    "fraction",
    "integer",
    "list_of",
    "nonneg",
    "one_of",
    "party",
    "phases",
    "shares",
    "state",
    "text",
    "weapon",
    "zone",
]

#: what an exclusion (or buffer) zone may bar
BARS = ("military", "flight", "fire")


class RuleContext:
    """What a rule may refer to: the zones and parties of its agreement."""

    def __init__(self, zones: Mapping[str, Zone], parties: set[str]) -> None:
        self.zones = zones
        self.parties = parties


Check = Callable[[Any, RuleContext], Any]
#: the params of a rule kind: (required, optional), each param name -> its check
ParamSpec = tuple[Mapping[str, Check], Mapping[str, Check]]


def text(v: Any, _ctx: RuleContext) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"expected a non-empty string, got {v!r}")
    return v


def nonneg(v: Any, _ctx: RuleContext) -> float | int:
    if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
        raise ValueError(f"expected a number >= 0, got {v!r}")
    return v


def integer(v: Any, _ctx: RuleContext) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"expected an integer >= 0, got {v!r}")
    return v


def fraction(v: Any, ctx: RuleContext) -> float:
    f = float(nonneg(v, ctx))
    if f > 1:
        raise ValueError(f"expected a fraction between 0 and 1, got {v!r}")
    return f


def boolean(v: Any, _ctx: RuleContext) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def one_of(*allowed: str) -> Check:
    def check(v: Any, _ctx: RuleContext) -> str:
        if v not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {v!r}")
        return str(v)

    return check


def list_of(item: Check) -> Check:
    def check(v: Any, ctx: RuleContext) -> list[Any]:
        if not isinstance(v, list) or not v:
            raise ValueError(f"expected a non-empty list, got {v!r}")
        return [item(x, ctx) for x in v]

    return check


def weapon(v: Any, _ctx: RuleContext) -> str:
    known = [w.value for w in WeaponClass]
    if v not in known:
        raise ValueError(f"unknown weapon class {v!r} (known: {', '.join(known)})")
    return str(v)


def party(v: Any, ctx: RuleContext) -> str:
    if v not in ctx.parties:
        raise ValueError(f"unknown party {v!r} (parties: {', '.join(sorted(ctx.parties))})")
    return str(v)


def zone(*kinds: str) -> Check:
    def check(v: Any, ctx: RuleContext) -> str:
        if v not in ctx.zones:
            raise ValueError(f"unknown zone {v!r}")
        if kinds and ctx.zones[v].kind not in kinds:
            raise ValueError(f"zone {v!r} is a {ctx.zones[v].kind}, expected {' or '.join(kinds)}")
        return str(v)

    return check


def state(v: Any, _ctx: RuleContext) -> str:
    """An ISO 3166-1 alpha-3 code of an existing state (``USA``, ``FRA``), upper case."""
    if not is_state_code(v):
        raise ValueError(f"expected {STATE_FORM}, got {v!r}")
    return str(v)


def phases(*bars: str) -> Check:
    """A list of tables ``{from = DATE, bars = [...]}`` with distinct dates."""
    bar_list = list_of(one_of(*bars))

    def check(v: Any, ctx: RuleContext) -> list[dict[str, Any]]:
        if not isinstance(v, list) or not v:
            raise ValueError(f"expected a non-empty list of {{from, bars}} tables, got {v!r}")
        out = []
        for k, ph in enumerate(v, start=1):
            if not isinstance(ph, dict) or set(ph) != {"from", "bars"}:
                raise ValueError(f"phase {k}: expected a table with keys from and bars, got {ph!r}")
            out.append({"from": date(ph["from"], ctx), "bars": bar_list(ph["bars"], ctx)})
        if len({ph["from"] for ph in out}) < len(out):
            raise ValueError("two phases start on the same date")
        return out

    return check


def date(v: Any, _ctx: RuleContext) -> str:
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    try:
        return dt.date.fromisoformat(str(v)).isoformat()
    except ValueError:
        raise ValueError(f"expected a date (YYYY-MM-DD), got {v!r}") from None


def shares(v: Any, ctx: RuleContext) -> dict[str, float]:
    if not isinstance(v, dict) or not v:
        raise ValueError(f"expected a table {{party = fraction}}, got {v!r}")
    out = {party(k, ctx): fraction(f, ctx) for k, f in v.items()}
    if abs(sum(out.values()) - 1.0) > 1e-9:
        raise ValueError(f"shares must add up to 1, they add up to {sum(out.values())}")
    return out
