"""Restrictions of the mission are coverage gaps: "not observed because access was denied".

A patrol refused at a checkpoint, a delay, a conditional passage or a jammed UAV leaves
the area around the place unobserved; reports and findings must say so rather than
count the silence from there as calm.
"""

from __future__ import annotations

import math
from pathlib import Path

from test_report import DAY, T0, _fill
from test_scenario import small_agreement
from test_terms_cases import DNIPRO, inc, judge

from truceline.domain.vocab import RESTRICTION_KINDS
from truceline.fusion.coverage import GAP_KINDS, RESTRICTED_RADIUS_M, restriction_gaps
from truceline.service.coverage import coverage_gaps, coverage_of
from truceline.service.reports import daily_report
from truceline.service.workspace import Workspace
from truceline.store.schema import observations

NOON = T0 + 43200


def test_each_restriction_kind_is_a_denial_with_its_reason() -> None:
    kinds = ["access_denied", "access_delayed", "access_delayed", "uav_jamming", "explosion"]
    assert set(GAP_KINDS) == set(RESTRICTION_KINDS)  # a restriction of any type leaves a gap
    gaps = restriction_gaps(
        ["p1"] * 5, kinds, [NOON] * 5, [38.5, 38.5, 38.5, math.nan, 38.5], [47.3] * 5,
        [100.0, 100.0, 9000.0, math.nan, 100.0], [math.nan, 30.0, math.nan, math.nan, 5.0],
    )  # fmt: skip
    assert [(g.kind, g.reason) for g in gaps] == [
        ("denied", "access_denied"), ("denied", "access_delayed"),
        ("denied", "access_delayed"), ("denied", "uav_jamming"),
    ]  # fmt: skip
    denied, delay30, delay_default, jammed = gaps
    assert (denied.t_start, denied.t_end) == (NOON, T0 + 86400)  # the rest of its day
    assert delay30.t_end == NOON + 1800 and delay_default.t_end == NOON + 3600
    assert jammed.geometry is None  # no place: the whole source saw nothing
    # the disc: at least RESTRICTED_RADIUS_M, the place's own uncertainty when larger
    assert denied.geometry is not None and delay_default.geometry is not None
    km_per_deg_lat = 111.2
    height = denied.geometry.bounds[3] - denied.geometry.bounds[1]
    assert abs(height * km_per_deg_lat - 2 * RESTRICTED_RADIUS_M / 1000) < 0.2
    assert delay_default.geometry.area > 3 * denied.geometry.area


def _deny(ws: Workspace) -> None:
    with ws.engine.begin() as conn:
        conn.execute(
            observations.insert().values(
                uid="deny-1", source_id="op-1", t=T0 + 600, t_unc_s=0.0, lon=38.5, lat=47.3,
                radius_m=200.0, kind="access_denied", count=1, credibility=1, received_at=T0,
                description="patrol refused at a checkpoint",
            )
        )  # fmt: skip


def test_a_denial_removes_coverage_and_is_listed_with_its_reason(
    workspace: Workspace, tmp_path: Path
) -> None:
    _fill(workspace)
    sectors = {z.id: z.geometry for z in small_agreement().zones_of("sector")}
    with workspace.engine.connect() as conn:
        before = coverage_of(conn, sectors, T0, T0 + 86400)
    _deny(workspace)
    with workspace.engine.connect() as conn:
        after = coverage_of(conn, sectors, T0, T0 + 86400)
        gaps = coverage_gaps(conn, T0, T0 + 86400)
    watched = [s for s, f in before.items() if f > 0]
    assert watched and all(after[s] <= before[s] for s in before)
    assert any(after[s] < before[s] - 1e-3 for s in watched)
    reasons = [(g["kind"], g["reason"], g["source_type"]) for g in gaps]
    assert ("denied", "access_denied", "camera") in reasons
    assert ("outage", None, "camera") in reasons  # the declared gap is still there

    for edition in ("restricted", "public"):
        paths = daily_report(workspace, DAY, tmp_path / edition, edition=edition)
        html = paths.html.read_text(encoding="utf-8")
        assert "not observed because access was denied (access_denied)" in html
        assert "the absence of reports from there is not evidence that nothing happened" in html
        assert "No outages or denials of access were recorded" not in html


def test_the_freedom_of_movement_finding_says_the_area_was_not_observed() -> None:
    found = judge([inc(1, DNIPRO, "access_denied"), inc(2, DNIPRO, "restriction")])
    by_kind = {f.anchor.split(":")[0]: f for f in found if f.rule_kind == "freedom_of_movement"}
    assert by_kind["access_denied"].party == "A"  # the party holding the ground
    assert "not observed because access was denied" in by_kind["access_denied"].summary
    assert "not observed because access was denied" in by_kind["restriction"].summary
    assert not any(
        "not observed" in f.summary for f in found if f.rule_kind != "freedom_of_movement"
    )
