"""The pure incident state machine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from truceline.domain.errors import Conflict, InputError
from truceline.domain.vocab import IncidentStatus as S
from truceline.fusion.lifecycle import ALLOWED, Action, after_fusion, next_status


def test_happy_path() -> None:
    assert next_status("reported", "verify", 1) is S.VERIFIED
    assert next_status("corroborated", "dispute", 2) is S.DISPUTED
    assert next_status("disputed", "reject", 2) is S.REJECTED
    assert next_status("rejected", "reopen", 2) is S.CORROBORATED
    assert next_status("verified", "reopen", 1) is S.REPORTED


def test_illegal_transition_names_from_and_to() -> None:
    with pytest.raises(Conflict, match="from verified to verified"):
        next_status("verified", "verify", 3)
    with pytest.raises(Conflict, match="from rejected to disputed"):
        next_status("rejected", "dispute", 1)
    with pytest.raises(Conflict, match="from reported to reported"):
        next_status("reported", "reopen", 1)


def test_unknown_action_or_status() -> None:
    with pytest.raises(InputError, match="unknown action"):
        next_status("reported", "delete", 1)
    with pytest.raises(InputError, match="unknown incident status"):
        next_status("gone", "verify", 1)


@given(
    start=st.sampled_from(list(S)),
    actions=st.lists(st.sampled_from(list(Action)), max_size=12),
    groups=st.integers(0, 4),
)
def test_every_action_either_moves_legally_or_raises(
    start: S, actions: list[Action], groups: int
) -> None:
    cur = start
    for a in actions:
        if cur in ALLOWED[a]:
            new = next_status(cur, a, groups)
            assert new is not cur or a is Action.REOPEN
            cur = new
        else:
            with pytest.raises(Conflict):
                next_status(cur, a, groups)


def test_fusion_never_overrides_an_analyst() -> None:
    assert after_fusion(None, "corroborated") is S.CORROBORATED
    assert after_fusion("reported", "corroborated") is S.CORROBORATED
    assert after_fusion("corroborated", "reported") is S.REPORTED
    assert after_fusion("reported", "disputed") is S.DISPUTED
    assert after_fusion("verified", "disputed") is S.VERIFIED
    assert after_fusion("rejected", "corroborated") is S.REJECTED
    assert after_fusion("disputed", "corroborated") is S.DISPUTED
    with pytest.raises(Conflict):
        after_fusion("reported", "verified")
