"""``check`` on both stores: findings with evidence and ledger, idempotent, versioned."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from test_rules_world import T0, agreement, rule

from truceline.compliance.agreement.model import Agreement
from truceline.domain.errors import Conflict, InputError
from truceline.service.compliance import check
from truceline.service.findings import confirm, dismiss, get_finding, list_findings
from truceline.service.workspace import Workspace
from truceline.store.ledger import append
from truceline.store.schema import (
    agreements,
    finding_changes,
    findings,
    incident_observations,
    incidents,
    ledger_entries,
    observations,
    sources,
)

DAY = 86400
NOW = T0 + 200 * DAY
RULES = [
    rule("band", "withdrawal_band", weapon_classes=["artillery_ge100"]),
    rule("buf", "buffer_fire", zone="buffer"),
    rule("nofor", "prohibition", what="foreign_forces", states=["XA"], territory_party="west"),
]


def store_agreement(ws: Workspace, a: Agreement) -> None:
    with ws.engine.begin() as conn:
        conn.execute(
            insert(agreements).values(
                agreement_id=a.id, version=a.version, valid_from=a.valid_from,
                valid_to=a.valid_to, sha256="0" * 64, content=json.dumps(a.to_json()),
                loaded_at=int(time.time()),
            )
        )  # fmt: skip


def add_incident(ws: Workspace, iid: int, lon: float, lat: float, kind: str, t: int,
                 n_obs: int = 1, **kw: Any) -> None:  # fmt: skip
    """An incident with ``n_obs`` ledgered observations (attrs may carry a foreign state)."""
    attrs = json.dumps({"state": kw.pop("state")}) if "state" in kw else None
    with ws.engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(sources)).scalar_one() == 0:
            src = {"id": "mon", "type": "monitor", "name": "m", "independence_group": "m"}
            conn.execute(insert(sources).values(**src, created_at=T0))
        exists = conn.execute(select(incidents.c.id).where(incidents.c.id == iid)).first()
        if exists is None:
            conn.execute(
                insert(incidents).values(
                    id=iid, t=t, t_start=t, t_end=t, lon=lon, lat=lat, radius_m=300.0,
                    kind=kind, count=kw.pop("count", 1), status=kw.pop("status", "corroborated"),
                    n_observations=n_obs, n_groups=1, confidence=0.9,
                    created_at=t, updated_at=t, **kw,
                )
            )  # fmt: skip
        base = conn.execute(select(func.count()).select_from(observations)).scalar_one()
        for k in range(n_obs):
            uid = f"obs-{iid}-{base + k}"
            [leaf] = append(conn, "observation", [(uid, {"uid": uid})])
            oid = conn.execute(
                insert(observations).values(
                    uid=uid, source_id="mon", t=t, t_unc_s=60.0, lon=lon, lat=lat, kind=kind,
                    count=1, credibility=2, received_at=t, attrs=attrs, ledger_index=leaf,
                )
            ).inserted_primary_key[0]  # fmt: skip
            conn.execute(insert(incident_observations).values(observation_id=oid, incident_id=iid))


def _count(ws: Workspace, table: Any) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def world(workspace: Workspace) -> Workspace:
    store_agreement(workspace, agreement(RULES))
    t = T0 + 40 * DAY
    add_incident(workspace, 1, 30.5, 48.5, "weapon_sighting", t, weapon_class="artillery_ge100")
    add_incident(workspace, 2, 30.98, 48.5, "explosion", t + 60, n_obs=2)
    add_incident(workspace, 3, 30.3, 48.5, "foreign_unit", t + 120, state="XA")
    add_incident(workspace, 4, 30.98, 48.6, "explosion", t + 180, status="rejected")
    add_incident(workspace, 5, 30.1, 48.5, "weapon_sighting", t, weapon_class="artillery_ge100")
    return workspace


def test_check_stores_findings_with_evidence_and_ledger(world: Workspace) -> None:
    res = check(world, now=NOW)
    got = sorted((f.rule_id, f.incidents, f.party) for f in res.new)
    assert got == [("band", (1,), "west"), ("buf", (2,), None), ("nofor", (3,), "west")]
    rows = {f.rule_id: f for f in list_findings(world)}
    assert len(rows["buf"].evidence["ledger"]) == 2  # the two observations' leaves
    assert rows["band"].status == "open" and rows["band"].ledger_index is not None
    with world.engine.connect() as conn:
        kinds = [k for (k,) in conn.execute(select(ledger_entries.c.kind))]
    assert kinds.count("finding") == 3


def test_check_twice_adds_nothing_and_growing_evidence_updates(world: Workspace) -> None:
    check(world, now=NOW)
    size = _count(world, ledger_entries)
    again = check(world, now=NOW)
    assert (again.new, again.updated, again.unchanged) == ([], [], 3)
    assert _count(world, ledger_entries) == size and _count(world, findings) == 3
    add_incident(world, 2, 30.98, 48.5, "explosion", T0 + 40 * DAY + 60, n_obs=1)  # one more
    grown = check(world, now=NOW)
    assert [f.rule_id for f in grown.updated] == ["buf"] and grown.new == []
    assert _count(world, findings) == 3
    buf = list_findings(world, rule_id="buf")[0]
    assert len(buf.evidence["ledger"]) == 3
    with world.engine.connect() as conn:
        kind = conn.execute(
            select(ledger_entries.c.kind).where(ledger_entries.c.idx == buf.ledger_index)
        ).scalar_one()
    assert kind == "finding_update"


def test_lifecycle_confirm_dismiss_with_reasons(world: Workspace) -> None:
    check(world, now=NOW)
    fid = list_findings(world, rule_id="band")[0].id
    with pytest.raises(Conflict):
        confirm(world, fid, "analyst-1", "  ")
    f = confirm(world, fid, "analyst-1", "patrol photo verified")
    assert f.status == "confirmed" and f.changes[0].reason == "patrol photo verified"
    with pytest.raises(Conflict):
        confirm(world, fid, "analyst-1", "again")
    f = dismiss(world, fid, "analyst-2", "the gun was a decoy")
    assert [c.to_status for c in get_finding(world, fid).changes] == ["confirmed", "dismissed"]
    assert _count(world, finding_changes) == 2
    assert check(world, now=NOW).unchanged == 3  # re-check keeps the status
    assert get_finding(world, fid).status == "dismissed"


def test_each_incident_is_judged_under_the_version_in_force(workspace: Workspace) -> None:
    amended = T0 + 60 * DAY
    store_agreement(workspace, agreement(RULES, version=1, valid_to=amended))
    store_agreement(workspace, agreement(RULES[1:], version=2, valid_from=amended))
    kw = {"weapon_class": "artillery_ge100"}
    add_incident(workspace, 1, 30.5, 48.5, "weapon_sighting", T0 + 40 * DAY, **kw)
    add_incident(workspace, 2, 30.5, 48.5, "weapon_sighting", T0 + 70 * DAY, **kw)
    add_incident(workspace, 3, 30.98, 48.5, "explosion", T0 + 70 * DAY)
    res = check(workspace, now=NOW)
    got = sorted((f.rule_id, f.incidents, f.agreement_version) for f in res.new)
    assert got == [("band", (1,), 1), ("buf", (3,), 2)]


def test_an_amendment_in_the_middle_of_a_day_splits_that_day(workspace: Workspace) -> None:
    """Fire before and after a noon amendment: one finding under each version, none lost."""
    amended = T0 + 40 * DAY + DAY // 2
    store_agreement(workspace, agreement(RULES, version=1, valid_to=amended))
    store_agreement(workspace, agreement(RULES, version=2, valid_from=amended))
    add_incident(workspace, 1, 30.98, 48.5, "explosion", amended - 3600)
    add_incident(workspace, 2, 30.98, 48.5, "explosion", amended + 3600)
    res = check(workspace, now=NOW)
    got = sorted((f.agreement_version, f.incidents, f.period_start, f.period_end) for f in res.new)
    day = T0 + 40 * DAY
    assert got == [(1, (1,), day, amended), (2, (2,), amended, day + DAY)]
    assert check(workspace, now=NOW).new == []


def test_an_amendment_that_drops_a_term_retires_its_open_findings(workspace: Workspace) -> None:
    """Version 2, loaded later from a date in the past, no longer has the buffer term: the
    findings version 1 made on its days are dismissed, with the amendment among the reasons."""
    from sqlalchemy import update

    store_agreement(workspace, agreement(RULES, version=1))
    add_incident(workspace, 1, 30.98, 48.5, "explosion", T0 + 70 * DAY)
    (buf,) = check(workspace, now=NOW).new
    amended = T0 + 60 * DAY
    with workspace.engine.begin() as conn:
        conn.execute(update(agreements).values(valid_to=amended))
    store_agreement(workspace, agreement(RULES[:1], version=2, valid_from=amended))
    again = check(workspace, now=NOW)
    (row,) = list_findings(workspace, rule_id="buf")
    assert again.retired == [row.id] and row.status == "dismissed"
    assert "amended" in get_finding(workspace, row.id).changes[-1].reason


def test_check_window(world: Workspace) -> None:
    res = check(world, t_from=T0, t_to=T0 + 40 * DAY + 100, now=NOW)
    assert sorted(f.rule_id for f in res.new) == ["band", "buf"]
    with pytest.raises(InputError, match="must be after"):
        check(world, t_from=T0 + DAY, t_to=T0, now=NOW)  # not silently nothing


def test_a_finding_whose_incidents_are_rejected_is_dismissed_by_the_recheck(
    world: Workspace,
) -> None:
    from sqlalchemy import update

    first = check(world, now=NOW)
    assert first.retired == [] and set(first.timings) == {"read", "rules", "store"}
    with world.engine.begin() as conn:
        conn.execute(update(incidents).where(incidents.c.id == 2).values(status="rejected"))
    again = check(world, now=NOW)
    buf = list_findings(world, rule_id="buf")[0]
    assert again.retired == [buf.id] and buf.status == "dismissed"
    change = get_finding(world, buf.id).changes[-1]
    assert change.actor == "truceline check" and "rejected" in change.reason
    assert check(world, now=NOW).retired == []  # already dismissed: nothing more
