"""From reports to verified incidents on both stores: scenario -> ingest -> fuse -> refresh
-> analyst decisions, through the real services and CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from truceline.cli import app
from truceline.compliance.agreement import load_agreement_file
from truceline.intake import write_observations
from truceline.scenario import generate
from truceline.service.agreements import load_agreement
from truceline.service.fusion import fuse
from truceline.service.incidents import list_incidents, show_incident
from truceline.service.ingest import ingest_files
from truceline.service.verification import update_verification
from truceline.service.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "minsk-2015"


def test_pipeline_sides_attribution_and_lifecycle(workspace: Workspace, tmp_path: Path) -> None:
    load_agreement(workspace, EXAMPLE)
    table = generate(load_agreement_file(EXAMPLE), seed=7, days=3)
    write_observations(tmp_path / "obs.parquet", table)
    ingest_files(workspace, [tmp_path / "obs.parquet"])
    fuse(workspace)
    incs = list_incidents(workspace, limit=100_000)
    assert len(incs) > 0
    for i in incs:  # fusion gives every incident a side, as probabilities over the parties
        assert i.side is not None and set(i.side) == {"A", "B"}
        assert 0.0 <= sum(i.side.values()) <= 1.0 + 1e-3
    # attribution only where a member observation names an actor, always with a basis
    attributed = [i for i in incs if i.actor is not None]
    for i in attributed:
        d = show_incident(workspace, i.id)
        named = {o["actor"] for o in d.observations if o["actor"] and o["kind"] != "denial"}
        assert i.actor in named and i.actor_basis and "name" in i.actor_basis
    for i in incs:
        if i.actor is None:  # nobody named, or named equally: contested
            d = show_incident(workspace, i.id)
            named = [o for o in d.observations if o["actor"] and o["kind"] != "denial"]
            assert not named or "contested" in (i.actor_basis or "")
    assert update_verification(workspace).attributed == 0  # idempotent
    # an analyst verifies a corroborated incident; the evidence snapshot is kept
    target = next(i for i in incs if i.status == "corroborated")
    run = CliRunner()
    args = ["--db", workspace.url, "incidents", "verify", str(target.id)]
    r = run.invoke(app, [*args, "--reason", "patrol visited", "--actor", "ana"])
    assert r.exit_code == 0, r.output
    hist = show_incident(workspace, target.id).history
    assert hist[-1].to_status == "verified" and hist[-1].actor == "ana"
    assert len(hist[-1].evidence["observations"]) == target.n_observations
    assert json.dumps(hist[-1].evidence)  # a plain JSON snapshot
    # fusing again (nothing new) keeps the analyst's decision
    fuse(workspace)
    assert show_incident(workspace, target.id).incident.status == "verified"
