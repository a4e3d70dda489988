"""Declarations: stored with the ledger, idempotent, late ones flagged, bad rows named."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert
from test_compliance import NOW, store_agreement
from test_rules_world import T0, agreement, rule
from typer.testing import CliRunner

from truceline.cli import app
from truceline.domain.errors import InputError
from truceline.ledger.signatures import sign_record
from truceline.service.compliance import check
from truceline.service.declarations import (
    DeclarationIn,
    declaration_record,
    declare,
    declare_file,
    load_declarations,
)
from truceline.service.workspace import Workspace
from truceline.store.schema import sources

DAY = 86400
RULES = [
    rule("army", "ceiling", subject="personnel", item="army", parties=["west", "east"],
         max=800000, unit="persons"),
    rule("duty", "declaration_duty", subject="personnel", item="army", every="month",
         due_days=10),
]  # fmt: skip


def _army(party: str, value: float, filed_days: float, period: str = "2026-01") -> DeclarationIn:
    return DeclarationIn(party, "personnel", "army", period, value, "persons",
                         filed_at=T0 + int((31 + filed_days) * DAY))  # fmt: skip


def _received(days: float) -> int:
    return T0 + int((31 + days) * DAY)


def test_declare_stores_flags_late_and_is_idempotent(workspace: Workspace) -> None:
    store_agreement(workspace, agreement(RULES))
    on_time = declare(workspace, _army("west", 812000, 3), received_at=_received(3))
    assert (on_time.late, on_time.duplicate) == (False, False) and on_time.ledger_index is not None
    late = declare(workspace, _army("east", 790000, 20), received_at=_received(20))
    assert late.late
    again = declare(workspace, _army("west", 812000, 3))
    assert again.duplicate and again.id == on_time.id
    with pytest.raises(InputError) as exc:
        declare(workspace, _army("north", 1, 1))
    assert exc.value.errors[0].field == "party"
    res = check(workspace, now=T0 + 45 * DAY)
    got = sorted((f.rule_id, f.anchor.split(":")[0], f.party, f.declarations) for f in res.new)
    assert got == [("army", "west", "west", (on_time.id,)), ("duty", "late", "east", (late.id,))]
    army = next(f for f in res.new if f.rule_id == "army")
    assert army.ledger == (on_time.ledger_index,)


def test_declaration_file_good_rows_in_bad_rows_named(workspace: Workspace, tmp_path: Path) -> None:
    store_agreement(workspace, agreement(RULES))
    path = tmp_path / "decl.csv"
    path.write_text(
        "party,subject,item,period,value,unit,filed_at\n"
        "west,personnel,army,2026-01,790000,persons,2026-02-03\n"
        "east,personnel,army,2026-13,790000,persons,\n"
        "east,personnel,army,2026-01,lots,persons,\n"
        "east,morale,army,2026-01,1,persons,\n"
        "east,personnel,army,2026-01,780000,persons,2026-02-28\n",
        encoding="utf-8",
    )
    rep = declare_file(workspace, path, received_at=_received(3))
    assert (rep.accepted, rep.late, rep.duplicates) == (2, 0, 0)  # lateness is on receipt
    assert [(p.line, p.field) for p in rep.problems] == [
        (3, "period"),
        (4, "value"),
        (5, "subject"),
    ]
    assert all(p.file == str(path) for p in rep.problems)
    assert declare_file(workspace, path).accepted == 0


def test_cli_declare_and_findings(sqlite_workspace: Workspace) -> None:
    store_agreement(sqlite_workspace, agreement(RULES))
    db = ["--db", sqlite_workspace.url]
    run = CliRunner().invoke
    r = run(app, [*db, "declare", "--party", "west", "--subject", "personnel", "--item", "army",
                  "--period", "2026-01", "--value", "812000", "--unit", "persons"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "stored" in r.output
    r = run(app, [*db, "declare", "--party", "west", "--subject", "personnel"])
    assert r.exit_code != 0
    r = run(app, [*db, "declare", "--party", "west", "--subject", "personnel", "--item", "",
                  "--period", "2026-01", "--value", "1", "--unit", "persons"])  # fmt: skip
    assert isinstance(r.exception, InputError), r.exception  # main() prints it, no traceback
    assert "give --file, or --item" in r.exception.message
    r = run(app, [*db, "check", "--from", "2026-01-01", "--to", "2026-03-01"])
    assert r.exit_code == 0, r.output
    assert "army" in r.output and "3 new" in r.output  # the ceiling; west late, east missing
    r = run(app, [*db, "findings", "list", "--rule", "army"])
    assert r.exit_code == 0 and "812000" in r.output
    r = run(app, [*db, "findings", "confirm", "1", "--actor", "hq", "--reason", "own figure"])
    assert r.exit_code == 0 and "confirmed" in r.output
    r = run(app, [*db, "findings", "show", "1", "--format", "json"])
    shown = json.loads(r.stdout)
    assert shown["changes"][-1]["reason"] == "own figure" and shown["evidence"]["declarations"] == [
        1
    ]
    assert NOW > T0


def test_a_duty_due_after_an_amendment_is_still_judged_under_the_version_in_force(
    workspace: Workspace,
) -> None:
    """January's declaration falls due after version 1 ends (mid-February): it is still missing,
    and January and February (both begun under version 1) are judged under version 1."""
    duty = [rule("duty", "declaration_duty", subject="personnel", item="army", every="month",
                 due_days=20)]  # fmt: skip
    amended = T0 + 45 * DAY
    store_agreement(workspace, agreement(duty, version=1, valid_to=amended))
    store_agreement(workspace, agreement(duty, version=2, valid_from=amended))
    res = check(workspace, now=T0 + 100 * DAY)  # March is over but not yet due
    got = sorted((f.anchor, f.agreement_version) for f in res.new)
    assert got == sorted(
        (f"missing:{p}:personnel:army:{t}", 1)
        for t in (T0, T0 + 31 * DAY)
        for p in ("east", "west")
    )


def test_lateness_is_judged_on_receipt_and_the_stated_date_kept(workspace: Workspace) -> None:
    store_agreement(workspace, agreement(RULES))
    backdated = declare(workspace, _army("west", 790000, 3), received_at=_received(25))
    assert backdated.late  # the declarant wrote day 3; the mission received it on day 25
    with workspace.engine.connect() as conn:
        [d] = load_declarations(conn)
    assert d.filed_at == _received(25) and d.attrs["stated_at"] == _received(3)


def test_units_come_from_the_subject_vocabulary(workspace: Workspace) -> None:
    store_agreement(workspace, agreement(RULES))
    bad = DeclarationIn("west", "personnel", "army", "2026-01", 850000, "personnel")
    with pytest.raises(InputError) as exc:
        declare(workspace, bad)
    assert exc.value.errors[0].field == "unit"
    assert "allowed: persons" in exc.value.message


def test_a_signed_declaration_is_verified_and_kept(workspace: Workspace) -> None:
    store_agreement(workspace, agreement(RULES))
    key = Ed25519PrivateKey.generate()
    with workspace.engine.begin() as conn:
        conn.execute(insert(sources).values(
            id="west-mod", type="party", name="west ministry", party="west",
            independence_group="west", public_key=key.public_key().public_bytes_raw(),
            created_at=T0,
        ))  # fmt: skip
    d = _army("west", 790000, 3)
    signed = replace(d, signature=sign_record(key, declaration_record(d)))
    stored = declare(workspace, signed, received_at=_received(3))
    with workspace.engine.connect() as conn:
        [row] = load_declarations(conn, [stored.id])
    assert row.attrs["signed_by"] == "west-mod" and row.attrs["signature"] == signed.signature
    forged = replace(d, value=1.0, signature=signed.signature)
    with pytest.raises(InputError) as exc:
        declare(workspace, forged)
    assert exc.value.errors[0].field == "signature"
    other = replace(_army("east", 1.0, 3), signature=signed.signature)
    with pytest.raises(InputError, match="no channel with a public key"):
        declare(workspace, other)


def test_a_later_declaration_supersedes_did_not_declare(workspace: Workspace) -> None:
    from truceline.service.findings import list_findings

    store_agreement(workspace, agreement(RULES))
    first = check(workspace, now=T0 + 45 * DAY)  # January is due and nobody declared
    missing = sorted((f.anchor.split(":")[0], f.party) for f in first.new if f.rule_id == "duty")
    assert missing == [("missing", "east"), ("missing", "west")]
    declare(workspace, _army("west", 790000, 20), received_at=_received(20))  # late
    second = check(workspace, now=T0 + 46 * DAY)
    assert len(second.retired) == 1
    rows = {
        (f.rule_id, f.party, f.status, f.summary.split(" ")[1]) for f in list_findings(workspace)
    }
    assert ("duty", "west", "dismissed", "did") in rows  # superseded, kept in history
    assert ("duty", "west", "open", "declared") in rows  # counted as late instead
    assert ("duty", "east", "open", "did") in rows  # east still has not declared
    assert check(workspace, now=T0 + 46 * DAY).retired == []  # nothing more to supersede
