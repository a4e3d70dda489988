"""The register on real stores: conflicts of each kind at submission, proof of
knowledge, history, need to know, answers, escalation, hotline, ledger entries."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli_process import run_cli
from sqlalchemy import func, select

from truceline.domain.errors import Conflict, Forbidden, InputError, NotFound
from truceline.service.agreements import load_agreement
from truceline.service.deconfliction import amend, cancel, notify, withdraw
from truceline.service.deconfliction_replies import (
    answer,
    conflicts,
    escalate,
    hotline,
    hotline_log,
    list_views,
    view,
)
from truceline.service.workspace import Workspace, create_workspace
from truceline.store.schema import ledger_entries, notification_versions, notifications

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
T0 = int(datetime(2026, 1, 10, tzinfo=UTC).timestamp())
H = 3600
DNIPRO = [35.0462, 48.4647]  # far from the contact line
POKROVSK = [37.18, 48.28]  # on the line: inside the buffer zone
NPP = [34.5863, 47.5119]


def circle(c: list[float], r: float) -> dict[str, Any]:
    return {"circle": c, "radius_m": r}


def flight(c: list[float], t0: int, t1: int, lo: float = 500, hi: float = 3000) -> dict[str, Any]:
    return {
        "activity": "flight",
        "footprint": circle(c, 5000),
        "t_start": t0,
        "t_end": t1,
        "alt_min_m": lo,
        "alt_max_m": hi,
        "details": {"unit": "secret squadron"},
        "personnel": 4,
    }


def counts(ws: Workspace) -> tuple[int, int, int]:
    with ws.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (notifications, notification_versions, ledger_entries)
        )


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    load_agreement(workspace, EXAMPLES / "reference-2025")
    return workspace


def test_volume_and_site_conflicts_need_citations_and_carry_the_overlap(ws: Workspace) -> None:
    site = notify(ws, "A", {"activity": "hospital", "footprint": circle(DNIPRO, 2000),
                            "t_start": T0 - 86400}, now=T0 - 86400)  # fmt: skip
    assert site.conflicts == [] and site.answers_from == ["B"]
    before = counts(ws)
    with pytest.raises(Conflict) as e:
        notify(ws, "B", flight(DNIPRO, T0, T0 + 2 * H), now=T0 - 20 * 86400)
    assert [p.record for p in e.value.errors] == [str(site.id)]
    assert "not cited" in str(e.value.errors[0])
    assert counts(ws) == before  # refused: nothing stored, nothing in the ledger
    b = notify(ws, "B", flight(DNIPRO, T0, T0 + 2 * H), cited={site.id: 1}, now=T0 - 86400)
    (c,) = b.conflicts
    assert (c["kind"], c["other_id"], c["other_party"]) == ("site", site.id, "A")
    assert c["seconds"] == 2 * H and c["alt_m"] == 2500
    assert [x["id"] for x in conflicts(ws, b.id, None)] == [c["id"]]
    assert 0.95 < c["area_m2"] / (3.14159 * 2000**2) < 1.01  # the whole hospital circle
    # an abutting band, a window sharing only its start with B's end: still met
    a = notify(ws, "A", flight(DNIPRO, T0 + 2 * H, T0 + 3 * H, 3000, 4000),
               cited={b.id: 1}, now=T0 - 86400)  # fmt: skip
    kinds = sorted((x["kind"], x["other_id"], x["seconds"], x["alt_m"]) for x in a.conflicts)
    assert kinds == [("site", site.id, H, 1000.0), ("volume", b.id, 0, 0.0)]
    # a ground convoy under the flights, separated in altitude: no conflict with them
    convoy = {**flight(DNIPRO, T0, T0 + H, 0, 100), "activity": "convoy"}
    low = notify(ws, "B", convoy, cited={site.id: 1}, now=T0 - 86400)
    assert [x["other_id"] for x in low.conflicts] == [site.id]


def test_zone_rules_of_the_agreement_are_conflicts(ws: Workspace) -> None:
    over = notify(ws, "B", flight(POKROVSK, T0, T0 + H), now=T0 - 86400)
    assert [(c["kind"], c["rule_id"], c["zone_id"]) for c in over.conflicts] == [
        ("zone", "buffer-no-flights", "buffer")
    ]
    assert over.conflicts[0]["area_m2"] > 1e7
    exercise = {
        "activity": "exercise",
        "footprint": circle(NPP, 3000),
        "t_start": T0,
        "t_end": T0 + 86400,
        "alt_min_m": 0,
        "alt_max_m": 500,
        "personnel": 2000,
    }
    late = notify(ws, "A", exercise, now=T0 - 3 * 86400)
    got = {(c["kind"], c["rule_id"]) for c in late.conflicts}
    assert got == {("zone", "npp-exclusion"), ("notice", "notify-exercises")}
    far = {**exercise, "footprint": circle(DNIPRO, 3000), "personnel": 500}
    assert notify(ws, "A", far, now=T0 - 3 * 86400).conflicts == []


def test_amend_cancel_history_and_stale_citations(ws: Workspace) -> None:
    b = notify(ws, "B", flight(DNIPRO, T0, T0 + H), now=T0 - 86400)
    b2 = amend(ws, b.id, "B", flight(DNIPRO, T0, T0 + 2 * H), now=T0 - 86000)
    assert (b2.id, b2.version) == (b.id, 2)
    before = counts(ws)
    with pytest.raises(Conflict) as e:
        notify(ws, "A", flight(DNIPRO, T0, T0 + H), cited={b.id: 1}, now=T0 - 80000)
    assert "cited at version 1, current is 2" in str(e.value.errors[0])
    with pytest.raises(Forbidden):
        amend(ws, b.id, "A", flight(DNIPRO, T0, T0 + H))
    with pytest.raises(NotFound):
        amend(ws, 999, "B", flight(DNIPRO, T0, T0 + H))
    with pytest.raises(InputError) as bad:
        amend(ws, b.id, "B", {**flight(DNIPRO, T0, T0 + H), "alt_min_m": 9000})
    assert bad.value.errors[0].field == "alt_max_m"
    assert counts(ws) == before
    c = cancel(ws, b.id, "B", "weather", now=T0 - 70000)
    assert c.version == 3
    with pytest.raises(Conflict, match="cancelled"):
        amend(ws, b.id, "B", flight(DNIPRO, T0, T0 + H))
    # a cancelled volume no longer needs citing
    assert notify(ws, "A", flight(DNIPRO, T0, T0 + H), now=T0 - 60000).conflicts == []
    hist = view(ws, b.id, None).history
    assert [h["action"] for h in hist] == ["notify", "amend", "cancel"]
    assert hist[1]["t_end"] == T0 + 2 * H and hist[2]["reason"] == "weather"


def test_need_to_know_and_a_humanitarian_notifier(ws: Workspace) -> None:
    b = notify(ws, "B", flight(DNIPRO, T0, T0 + H), now=T0 - 86400)
    mine = view(ws, b.id, "B")
    assert mine.full and mine.details == {"unit": "secret squadron"} and mine.personnel == 4
    theirs = view(ws, b.id, "A")
    assert not theirs.full and theirs.activity == "flight" and theirs.t_end == T0 + H
    assert theirs.details is None and theirs.personnel is None and theirs.alt_min is None
    assert theirs.history == ()
    route = {"route": [[35.0, 48.0], [35.3, 48.2]], "width_m": 1000}
    aid = {"activity": "humanitarian", "footprint": route, "t_start": T0, "t_end": T0 + H,
           "alt_min_m": 0, "alt_max_m": 10}  # fmt: skip
    h = notify(ws, "OCHA", aid, now=T0 - 86400)
    assert h.answers_from == ["A", "B"]
    with pytest.raises(NotFound):
        view(ws, b.id, "OCHA")
    assert [v.id for v in list_views(ws, "OCHA")] == [h.id]
    answer(ws, h.id, "A", now=T0 - 80000)
    seen = view(ws, h.id, "OCHA")
    assert {(a.party, a.answer) for a in seen.answers} == {("A", "acknowledged"), ("B", None)}


def test_answers_escalation_and_hotline(ws: Workspace) -> None:
    b = notify(ws, "B", flight(POKROVSK, T0, T0 + H), now=T0 - 86400)
    with pytest.raises(InputError):
        answer(ws, b.id, "A", objection="  ")
    a = answer(ws, b.id, "A", objection="over the buffer zone", now=T0 - 80000)
    assert (a.answer, a.reason) == ("objected", "over the buffer zone")
    with pytest.raises(Conflict):
        answer(ws, b.id, "A", now=T0 - 79000)
    with pytest.raises(Forbidden):
        answer(ws, b.id, "B")  # the notifier does not answer itself
    assert [c["rule_id"] for c in conflicts(ws, b.id, "B")] == ["buffer-no-flights"]
    assert conflicts(ws, b.id, "A") == []  # not A's volume: nothing of A met
    late = notify(ws, "A", flight(DNIPRO, T0, T0 + H), now=T0 - 86400)
    # the reference agreement sets no answer deadline: 72 hours
    assert escalate(ws, now=T0 - 86400 + 71 * H) == []
    due = escalate(ws, now=T0 - 86400 + 73 * H)
    assert [(d.notification_id, d.party) for d in due] == [(late.id, "B")]
    assert escalate(ws, now=T0) == []  # once each
    cid = hotline(ws, "liaison B", "asked about the flight", "B", late.id, now=T0)
    assert [c["id"] for c in hotline_log(ws, late.id)] == [cid]
    with pytest.raises(InputError):
        hotline(ws, "", "x")


def test_every_step_is_in_the_ledger(ws: Workspace) -> None:
    b = notify(ws, "B", flight(POKROVSK, T0, T0 + H), now=T0 - 86400)
    answer(ws, b.id, "A", now=T0 - 80000)
    cancel(ws, b.id, "B", now=T0 - 70000)
    hotline(ws, "liaison A", "call", "A", b.id, now=T0)
    with ws.engine.connect() as conn:
        le = ledger_entries.c
        mine = le.kind.like("%notification%") | (le.kind == "hotline_call")
        rows = conn.execute(select(le.kind, le.ref).where(mine).order_by(le.idx)).all()
        first = conn.execute(select(le.data).where(le.kind == "notification")).scalars().first()
    # the notifier's unit details and personnel are in the ledger only by digest
    assert first is not None and b"private_sha256" in first
    assert b"secret squadron" not in first and b"personnel" not in first
    ref = f"notification/{b.id}"
    assert [(k, r) for k, r in rows] == [
        ("notification", f"{ref}/v1"),
        ("notification_conflict", f"{ref}/v1"),
        ("notification_answer", f"{ref}/v1"),
        ("notification", f"{ref}/v2"),
        ("hotline_call", f"hotline/{T0}"),
    ]


def _cli(ws: Workspace, *args: str) -> str:
    """``truceline --db URL ...`` in a process of its own."""
    url = ws.engine.url.render_as_string(hide_password=False)
    p = run_cli(["--db", url, *args], ws.root or Path.cwd(), columns=200)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_the_live_index_follows_changes_filed_by_another_process(ws: Workspace) -> None:
    b = notify(ws, "B", flight(DNIPRO, T0, T0 + H), now=T0 - 86400)  # now in this index
    with pytest.raises(Conflict):
        notify(ws, "A", flight(DNIPRO, T0, T0 + H), now=T0 - 86000)
    _cli(ws, "notify", "cancel", str(b.id), "--party", "B")
    a = notify(ws, "A", flight(DNIPRO, T0, T0 + H), now=T0 - 80000)
    assert a.conflicts == []  # B's flight was cancelled elsewhere: nothing left to cite
    foot = json.dumps(circle(DNIPRO, 5000))
    again = ["--party", "B", "--activity", "flight", "--footprint", foot, "--start", str(T0),
             "--end", str(T0 + H), "--alt-min", "500", "--alt-max", "3000",
             "--cite", f"{a.id}:1"]  # fmt: skip
    out = _cli(ws, "notify", "add", *again)
    found = re.search(r"notification (\d+) version 1", out)
    assert found is not None, out
    new = int(found.group(1))
    with pytest.raises(Conflict) as e:
        amend(ws, a.id, "A", flight(DNIPRO, T0, T0 + 2 * H), now=T0 - 70000)
    assert [p.record for p in e.value.errors] == [str(new)]
    _cli(ws, "notify", "amend", str(new), *again)
    with pytest.raises(Conflict) as e:
        amend(ws, a.id, "A", flight(DNIPRO, T0, T0 + 2 * H), {new: 1}, now=T0 - 60000)
    assert "cited at version 1, current is 2" in str(e.value.errors[0])
    ok = amend(ws, a.id, "A", flight(DNIPRO, T0, T0 + 2 * H), {new: 2}, now=T0 - 60000)
    assert ok.version == 2  # the refused amendments left nothing


def test_a_store_replaced_at_the_same_address_is_read_afresh(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    first = create_workspace(tmp_path / "ws", f"sqlite:///{db}")
    notify(first, "B", flight(DNIPRO, T0, T0 + H), now=T0 - 86400)
    with pytest.raises(Conflict):
        notify(first, "A", flight(DNIPRO, T0, T0 + H), now=T0 - 86000)
    first.engine.dispose()
    db.unlink()
    fresh = create_workspace(tmp_path / "ws2", f"sqlite:///{db}")
    notify(fresh, "C", flight(NPP, T0, T0 + H), now=T0 - 86400)  # a ledger as long as before
    assert notify(fresh, "A", flight(DNIPRO, T0, T0 + H), now=T0 - 86000).conflicts == []
    fresh.engine.dispose()


def test_protected_sites_cite_nothing_never_meet_each_other_and_are_withdrawn(
    ws: Workspace,
) -> None:
    b = notify(ws, "B", flight(DNIPRO, T0, T0 + H), now=T0 - 86400)
    # a site cites nothing: the activities it touches are listed and their owners asked
    hospital = {"activity": "hospital", "footprint": circle(DNIPRO, 2000), "t_start": T0 - 86400}
    site = notify(ws, "A", hospital, now=T0 - 86000)
    assert [(c["kind"], c["other_id"]) for c in site.conflicts] == [("site", b.id)]
    assert site.answers_from == ["B"]
    shelter = {"activity": "shelter", "footprint": circle(DNIPRO, 1000), "t_start": T0}
    sh = notify(ws, "B", shelter, now=T0 - 86000)
    assert sh.conflicts == []  # two sites do not clash; B's own flight is not B's concern
    before = counts(ws)
    with pytest.raises(Conflict, match="withdraw the site"):
        cancel(ws, site.id, "A")
    with pytest.raises(Conflict, match="cancel the activity"):
        withdraw(ws, b.id, "B")
    assert counts(ws) == before
    w = withdraw(ws, site.id, "A", "moved", now=T0 - 3600)
    assert (w.action, w.version) == ("withdraw", 2)
    seen = view(ws, site.id, "A")
    assert seen.status == "withdrawn"
    steps = [(h["action"], h["reason"]) for h in seen.history]
    assert steps == [("notify", None), ("withdraw", "moved")]
    with pytest.raises(Conflict, match="withdrawn"):
        withdraw(ws, site.id, "A")
    # the withdrawn hospital is no longer met; an activity cites B's flight and shelter
    with pytest.raises(Conflict) as e:
        notify(ws, "A", flight(DNIPRO, T0, T0 + H), cited={b.id: 1}, now=T0 - 3000)
    assert [p.record for p in e.value.errors] == [str(sh.id)]
    later = notify(ws, "A", flight(DNIPRO, T0, T0 + H), {b.id: 1, sh.id: 1}, now=T0 - 3000)
    found = [(c["kind"], c["other_id"]) for c in later.conflicts]
    assert found == [("volume", b.id), ("site", sh.id)]


def test_bad_submissions_are_refused_with_the_reason_and_store_nothing(ws: Workspace) -> None:
    b = notify(ws, "B", flight(DNIPRO, T0, T0 + H), now=T0 - 86400)
    gone = notify(ws, "B", flight([35.6, 48.9], T0, T0 + H), now=T0 - 86400)
    cancel(ws, gone.id, "B", now=T0 - 86000)
    before = counts(ws)
    ok = flight(DNIPRO, T0, T0 + H)
    bowtie = {"polygon": [[35, 48], [35.1, 48.1], [35.1, 48], [35, 48.1]]}
    for spec, field, why in [
        ({**ok, "footprint": bowtie}, "polygon", "self-intersecting"),
        ({**ok, "footprint": {"polygon": [[35, 48], [35, 48], [35, 48]]}}, "polygon", "empty"),
        (flight(DNIPRO, T0 + H, T0), "t_end", "ends before it starts"),
        (flight(DNIPRO, T0, T0 + H, lo=3000, hi=500), "alt_max_m", "upside down"),
        ({**ok, "activity": "parade"}, "activity", "unknown activity type"),
    ]:
        with pytest.raises(InputError) as e:
            notify(ws, "A", spec, cited={b.id: 1}, now=T0 - 80000)
        assert any(p.field == field and why in p.reason for p in e.value.errors), e.value.errors
    with pytest.raises(Conflict, match="cancelled"):
        amend(ws, gone.id, "B", ok, now=T0 - 80000)
    with pytest.raises(NotFound):
        amend(ws, 999, "B", ok, now=T0 - 80000)
    with pytest.raises(Conflict) as stale:
        notify(ws, "A", ok, cited={b.id: 7}, now=T0 - 80000)
    assert "cited at version 7, current is 1" in str(stale.value.errors[0])
    assert counts(ws) == before  # nothing stored, nothing in the ledger
