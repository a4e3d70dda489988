"""The notification duty judged against the register, on the reference agreement: an
observed large movement covered by a notification filed in time is no breach; one
notified too late, and one never notified, are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_compliance import add_incident

from truceline.compliance.periods import to_epoch
from truceline.compliance.rules import Notifications
from truceline.service.agreements import load_agreement
from truceline.service.compliance import check
from truceline.service.deconfliction import notify
from truceline.service.workspace import Workspace

REFERENCE = Path(__file__).resolve().parents[1] / "examples" / "reference-2025"
DAY = 86400
DNIPRO = (35.0462, 48.4647)
POLTAVA = (34.55, 49.59)
KHARKIV = (36.23, 49.99)


def exercise(at: tuple[float, float], t0: int) -> dict[str, Any]:
    return {
        "activity": "exercise",
        "footprint": {"circle": list(at), "radius_m": 10_000},
        "t_start": t0,
        "t_end": t0 + 2 * DAY,
        "alt_min_m": 0,
        "alt_max_m": 500,
        "personnel": 5000,
    }


def test_notification_duty_judged_against_the_register(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    load_agreement(ws, REFERENCE)
    t = to_epoch("2026-03-10")
    notify(ws, "A", exercise(DNIPRO, t - DAY), now=t - 20 * DAY)  # 19 days ahead: in time
    late = notify(ws, "A", exercise(POLTAVA, t - DAY), now=t - 3 * DAY)  # 2 days ahead
    assert {c["rule_id"] for c in late.conflicts} == {"notify-exercises"}  # told at once
    add_incident(ws, 1, *DNIPRO, "movement", t, count=5000)
    add_incident(ws, 2, *POLTAVA, "movement", t, count=5000)
    add_incident(ws, 3, *KHARKIV, "movement", t, count=5000)  # nothing notified there
    found = [
        f for f in check(ws, now=to_epoch("2026-03-20")).new if f.rule_id == "notify-exercises"
    ]
    by_incident = {f.incidents: f for f in found}
    assert set(by_incident) == {(2,), (3,)}
    assert "notified late" in by_incident[(2,)].summary
    assert "without a notification" in by_incident[(3,)].summary
    assert all(f.party == "A" for f in found)


def test_without_a_register_no_one_is_accused() -> None:
    from truceline.compliance.rules.presence import notification_duty

    class Ctx:
        notifications = Notifications(available=False)

    assert notification_duty(None, Ctx()) == []  # type: ignore[arg-type]
