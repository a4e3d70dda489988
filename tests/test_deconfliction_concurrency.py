"""Proof of knowledge under parallel writers: of two parties placing meeting volumes at
the same moment, neither citing the other, exactly one is accepted."""

from __future__ import annotations

import threading
from typing import Any

from truceline.domain.errors import Conflict
from truceline.service.deconfliction import notify
from truceline.service.workspace import Workspace
from truceline.store import notifications as store

T0 = 1_767_225_600  # 2026-01-01


def spec(k: int) -> dict[str, Any]:
    lon = 30.0 + k * 0.5  # each round in its own place
    return {
        "activity": "flight",
        "footprint": {"polygon": [[lon, 50.0], [lon + 0.1, 50.0], [lon + 0.1, 50.1], [lon, 50.1]]},
        "t_start": T0,
        "t_end": T0 + 3600,
        "alt_min_m": 0,
        "alt_max_m": 1000,
    }


def test_concurrent_meeting_submissions_cannot_both_slip_through(workspace: Workspace) -> None:
    rounds = 6
    for k in range(rounds):
        gate = threading.Barrier(2)
        outcome: dict[str, str] = {}

        def submit(
            party: str,
            k: int = k,
            gate: threading.Barrier = gate,
            outcome: dict[str, str] = outcome,
        ) -> None:
            gate.wait()
            try:
                notify(workspace, party, spec(k), now=T0 - 86400)
                outcome[party] = "accepted"
            except Conflict:
                outcome[party] = "refused"

        threads = [threading.Thread(target=submit, args=(p,)) for p in ("A", "B")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcome.values()) == ["accepted", "refused"], (k, outcome)
    with workspace.engine.connect() as conn:
        assert len(store.list_notifications(conn)) == rounds
