"""Neutrality: swapping the parties' names in the agreement and the data swaps the findings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_rules_world import agreement, context, decl, incident, rule

from truceline.compliance.agreement.model import Rule
from truceline.compliance.rules import evaluate

SWAP = {"west": "east", "east": "west"}


def swap_parties(v: Any, swap: Mapping[str, str]) -> Any:
    """``v`` (a value of a rule's parameters, a record) with the parties' ids swapped."""
    if isinstance(v, str):
        if v in swap:
            return swap[v]
        if v.startswith("delivered_to:"):
            return "delivered_to:" + swap.get(v.split(":", 1)[1], v.split(":", 1)[1])
        return v
    if isinstance(v, dict):
        return {swap_parties(k, swap): swap_parties(x, swap) for k, x in v.items()}
    if isinstance(v, list):
        return [swap_parties(x, swap) for x in v]
    return v


def _swap(v: Any) -> Any:
    return swap_parties(v, SWAP)


RULES = [
    rule("band", "withdrawal_band", weapon_classes=["artillery_ge100"]),
    rule("buf", "buffer_fire", zone="buffer"),
    rule("npp", "exclusion", zone="npp"),
    rule("pocket", "withdrawal_area", zone="pocket", party="west", by="2026-02-01"),
    rule("nofor", "prohibition", what="foreign_forces", states=["XA"], territory_party="east"),
    rule("notify", "notification_duty", activities=["movement"], threshold_personnel=100,
         days_ahead=7),
    rule("army", "ceiling", subject="personnel", item="army", parties=["west", "east"],
         max=800000, unit="persons"),
    rule("share", "sharing", plant="npp", shares={"west": 0.6, "east": 0.4}, tolerance=0.05,
         period="month"),
    rule("duty", "declaration_duty", subject="personnel", item="army", every="month",
         due_days=10),
]  # fmt: skip

kinds = st.sampled_from(["weapon_sighting", "movement", "explosion", "foreign_unit", "drone"])
rows_st = st.lists(
    st.tuples(
        st.floats(30.0, 32.0),
        st.floats(48.0, 49.0),
        kinds,
        st.sampled_from([None, "artillery_ge100", "tank"]),
        st.sampled_from([None, "west", "east"]),
        st.floats(0.0, 1.0),
        st.sampled_from(["reported", "corroborated", "verified", "disputed", "rejected"]),
        st.integers(1, 500),
    ),
    max_size=25,
)
decls_st = st.lists(
    st.tuples(
        st.sampled_from(["west", "east", None]),
        st.sampled_from(["2026-01", "2026-02"]),
        st.floats(0, 1_000_000),
        st.floats(0, 30),
    ),
    max_size=8,
)


def _decl(i: int, p: str | None, month: str, v: float, days: float, swap: bool) -> Any:
    if p is None:  # the plant operator's metered delivery, alternating recipient
        to = "west" if i % 2 else "east"
        return decl(i, None, "energy", f"delivered_to:{SWAP[to] if swap else to}", month, v,
                    unit="MWh", declarant="operator", plant="npp", filed_days=days)  # fmt: skip
    return decl(i, SWAP[p] if swap else p, "personnel", "army", month, v, filed_days=days)


AGREEMENTS = {
    False: agreement(RULES),
    True: agreement(
        [Rule(r.id, r.kind, r.text, _swap(r.params)) for r in RULES], west="east", east="west"
    ),
}


@settings(max_examples=25, deadline=None)
@given(rows_st, decls_st)
def test_swapping_party_names_swaps_the_findings(rows: list[Any], decls: list[Any]) -> None:
    def run(swap: bool) -> list[tuple[Any, ...]]:
        a = AGREEMENTS[swap]
        data = [
            incident(i, x, y, k, weapon_class=w, state="XA", count=n, status=s,
                     actor=(SWAP[act] if swap and act else act), actor_confidence=c)
            for i, (x, y, k, w, act, c, s, n) in enumerate(rows)
        ]  # fmt: skip
        ds = [_decl(i, *d, swap=swap) for i, d in enumerate(decls)]
        found = evaluate(context(a, data, ds, t_to=a.valid_from + 86400 * 75))
        if swap:
            found = [replace(f, party=SWAP.get(f.party or "", f.party)) for f in found]
        return sorted(
            (f.rule_id, f.incidents, f.declarations, f.party, f.severity, f.confidence)
            for f in found
        )

    assert run(False) == run(True)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-3, 3), st.integers(0, 2**40), st.integers(-1, 5)), min_size=1)
)
def test_grouping_is_the_same_packed_or_sorted(rows: list[tuple[int, int, int]]) -> None:
    """Rows with equal keys form exactly one group, whichever way the keys are sorted."""
    import numpy as np

    from truceline.compliance.rules._incident import _groups

    cols = [np.array(c, dtype=np.int64) for c in zip(*rows, strict=True)]
    wide = [*cols, cols[1] << 20]  # a function of the keys, too wide to pack with them

    def partition(keys: list[Any]) -> set[frozenset[int]]:
        order, starts = _groups(*keys)
        ends = [*starts[1:].tolist(), len(order)]
        return {frozenset(order[a:b].tolist()) for a, b in zip(starts.tolist(), ends, strict=True)}

    expected: dict[tuple[int, int, int], set[int]] = {}
    for i, r in enumerate(rows):
        expected.setdefault(r, set()).add(i)
    truth = {frozenset(v) for v in expected.values()}
    assert partition(cols) == truth
    assert partition(wide) == truth
