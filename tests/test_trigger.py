"""Major-breach conditions as data, judged on findings without a database."""

from __future__ import annotations

from test_terms_cases import REFERENCE

from truceline.compliance.periods import to_epoch
from truceline.compliance.trigger import FindingFact, triggers

T = to_epoch("2026-03-10")
DAY = 86400


def fact(i: int, rule: str, party: str | None, status: str = "confirmed", day: float = 0,
         where: tuple[float, float] = (30.52, 50.45)) -> FindingFact:  # fmt: skip
    return FindingFact(i, rule, party, status, T + int(day * DAY), *where)


def _met(facts: list[FindingFact]) -> set[tuple[str, str, tuple[int, ...], bool]]:
    return {(t.condition.id, t.party, t.findings, t.confirmed) for t in triggers(REFERENCE, facts)}


def test_a_deep_strike_meets_its_condition_a_shallow_one_does_not() -> None:
    near_line = (37.60, 48.60)  # a few km from the line
    got = _met([fact(1, "ceasefire-theatre", "B"), fact(2, "ceasefire-theatre", "A",
                                                        where=near_line)])  # fmt: skip
    assert got == {("deep-strike", "B", (1,), True)}


def test_repeated_violations_within_the_window_per_party() -> None:
    five = [fact(i, "ceasefire-buffer", "A", day=i, where=(37.6, 48.6)) for i in range(1, 6)]
    assert _met(five) == {("repeated-violations", "A", (1, 2, 3, 4, 5), True)}
    spread = [fact(i, "ceasefire-buffer", "A", day=2 * i, where=(37.6, 48.6)) for i in range(5)]
    assert _met(spread) == set()  # five, but over eight days


def test_unconfirmed_findings_make_candidates_and_no_party_never_counts() -> None:
    got = _met([fact(1, "donetsk-dmz", "B", status="open"), fact(2, "donetsk-dmz", None)])
    assert got == {("dmz-entry", "B", (1,), False)}


def test_symmetric_under_a_label_swap() -> None:
    facts = [fact(1, "ceasefire-theatre", "B"), fact(2, "donetsk-dmz", "A", status="open")]
    swapped = [FindingFact(f.id, f.rule_id, {"A": "B", "B": "A"}[f.party or ""], f.status,
                           f.period_start, f.lon, f.lat) for f in facts]  # fmt: skip
    mirror = {(c, {"A": "B", "B": "A"}[p], i, ok) for c, p, i, ok in _met(facts)}
    assert _met(swapped) == mirror
