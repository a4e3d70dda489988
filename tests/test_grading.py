"""Occurrence confidence, status and attribution from per-observation columns."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.fusion.grading import attribute, report_weight, score_incidents


def test_one_group_many_reports_is_one_group() -> None:
    # incident 0: three cameras of one array; incident 1: camera + acoustic, independent
    s = score_incidents(
        labels=[0, 0, 0, 1, 1],
        group_codes=[5, 5, 5, 5, 9],
        reliability=["B", "B", "B", "B", "C"],
        credibility=[2, 2, 2, 2, 3],
    )
    assert s.n_groups.tolist() == [1, 2]
    assert s.status.tolist() == ["reported", "corroborated"]
    p_b2, p_c3 = 0.8 * 0.8, 0.6 * 0.6
    assert np.isclose(s.confidence[0], p_b2)
    assert np.isclose(s.confidence[1], 1 - (1 - p_b2) * (1 - p_c3))


def test_denial_disputes_and_does_not_support() -> None:
    s = score_incidents(
        labels=[0, 0, 0, 1],
        group_codes=[1, 2, 3, 1],
        reliability=["A", "B", "C", "A"],
        credibility=[1, 2, 2, 1],
        kinds=["explosion", "explosion", "denial", "explosion"],
    )
    assert s.status.tolist() == ["disputed", "reported"]
    assert s.n_groups.tolist() == [2, 1]
    assert s.n_denials.tolist() == [1, 0]
    assert np.isclose(s.confidence[0], 1 - (1 - 0.95 * 0.95) * (1 - 0.8 * 0.8))


def test_silent_sensor_disputes() -> None:
    s = score_incidents([0, 1], [1, 2], ["A", "A"], [1, 1], silent=[False, True])
    assert s.status.tolist() == ["reported", "disputed"]


def test_integer_reliability_codes_and_unknowns() -> None:
    assert np.allclose(report_weight([0, 5], [1, 6]), [0.95 * 0.95, 0.5 * 0.5])
    assert np.allclose(report_weight(["a", "?"], [9, 2]), [0.95 * 0.5, 0.5 * 0.8])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 4), st.integers(0, 5), st.sampled_from("ABCDEF"), st.integers(1, 6)
        ),
        min_size=1,
        max_size=40,
    )
)
def test_confidence_invariants(rows: list[tuple[int, int, str, int]]) -> None:
    lab, grp, rel, cred = (np.array(c) for c in zip(*rows, strict=True))
    s = score_incidents(lab, grp, rel, cred)
    assert ((s.confidence >= 0) & (s.confidence < 1)).all()
    for i in range(s.confidence.size):
        m = lab == i
        assert s.n_groups[i] == len(set(grp[m]))
        assert (s.status[i] == "corroborated") == (s.n_groups[i] >= 2)
    # repeating a report of a group already present changes nothing
    s2 = score_incidents(
        np.r_[lab, lab[:1]], np.r_[grp, grp[:1]], np.r_[rel, rel[:1]], np.r_[cred, cred[:1]]
    )
    assert np.allclose(s2.confidence, s.confidence)
    # order of observations does not matter
    perm = np.random.default_rng(len(rows)).permutation(lab.size)
    s3 = score_incidents(lab[perm], grp[perm], rel[perm], cred[perm])
    assert np.allclose(s3.confidence, s.confidence)
    # an independent group never lowers confidence
    s4 = score_incidents(np.r_[lab, 0], np.r_[grp, 99], np.append(rel, "E"), np.r_[cred, 5])
    assert s4.confidence[0] >= s.confidence[0]


def test_attribution_needs_named_actor_and_counts_groups() -> None:
    a = attribute(
        labels=[0, 0, 0, 1, 1, 2],
        group_codes=[1, 2, 2, 3, 4, 5],
        actors=["B", "B", "B", None, None, "A"],
        reliability=["B", "C", "C", "A", "A", "B"],
        credibility=[2, 3, 3, 1, 1, 2],
        party_channel=[False, False, False, False, False, True],
        methods=["crater analysis", None, None, None, None, None],
    )
    assert a.actor.tolist() == ["B", None, "A"]
    assert a.basis[0].startswith("2 independent source groups name B")
    assert "crater analysis" in a.basis[0]
    assert np.isnan(a.confidence[1]) and a.basis[1] is None
    assert "party claims only" in a.basis[2]
    assert np.isclose(a.confidence[2], 0.8 * 0.8 / 2)


def test_competing_attributions_discount_each_other() -> None:
    one = attribute([0, 0], [1, 2], ["B", None], ["A", "A"], [1, 1])
    both = attribute([0, 0], [1, 2], ["B", "A"], ["A", "B"], [1, 2])
    assert one.actor[0] == both.actor[0] == "B"
    assert both.confidence[0] < one.confidence[0]
    assert "1 source group names A" in both.basis[0]


def test_a_denial_names_nobody() -> None:
    a = attribute([0, 0], [1, 2], ["B", "A"], ["A", "A"], [1, 1], denials=[False, True])
    assert a.actor[0] == "B" and a.basis[0] == "1 source group names B"


@settings(max_examples=50, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.integers(0, 4),
            st.sampled_from([None, "A", "B"]),
            st.sampled_from("ABCDEF"),
            st.integers(1, 6),
            st.booleans(),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_attribution_is_neutral_under_renaming(
    rows: list[tuple[int, int, str | None, str, int, bool]],
) -> None:
    lab, grp, act, rel, cred, party = (list(c) for c in zip(*rows, strict=True))
    swap = {"A": "B", "B": "A", None: None}
    one = attribute(lab, grp, act, rel, cred, party, n_incidents=4)
    two = attribute(lab, grp, [swap[a] for a in act], rel, cred, party, n_incidents=4)
    for i in range(4):
        if one.actor[i] is None:
            assert two.actor[i] is None
            continue
        assert two.actor[i] == swap[one.actor[i]]
        assert np.isclose(one.confidence[i], two.confidence[i])
    contested = [b for b in one.basis if b and "contested" in b]
    assert all(one.actor[k] is None for k, b in enumerate(one.basis) if b in contested)


def test_equal_support_is_contested_not_attributed() -> None:
    a = attribute([0, 0], [1, 2], ["A", "B"], ["B", "B"], [2, 2])
    assert a.actor[0] is None and np.isnan(a.confidence[0])
    assert a.basis[0] == "1 source group names A; 1 source group names B; contested: not attributed"
