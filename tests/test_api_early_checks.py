"""Batches checked as they arrive: a batch's signatures are checked before it waits for
the group writer, and the transaction that stores it still decides by the key it reads."""

from __future__ import annotations

import base64
import os
import signal
from functools import partial

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from observation_rows import KEY, sighting, signed
from sqlalchemy import select

from truceline.domain.observations import observation_record
from truceline.ledger import signatures
from truceline.ledger.canonical import canonical_bytes
from truceline.service.ledger import verify_store
from truceline.service.sources import register_source, update_source
from truceline.service.submissions import EARLY, Submitter, ingest_groups, prepare
from truceline.service.workspace import Workspace
from truceline.store.schema import observations

OTHER = Ed25519PrivateKey.generate()
MONITOR = Submitter(frozenset({"monitor"}))
_obs = partial(sighting, source_id="mon-07")


def _pub(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _stored(ws: Workspace) -> set[str]:
    with ws.engine.connect() as conn:
        return set(conn.execute(select(observations.c.client_id)).scalars())


def _batch(prefix: str, n: int = EARLY, key: Ed25519PrivateKey = KEY) -> list[dict[str, object]]:
    return [signed(_obs(f"{prefix}-{i}", t=1740802200 + i), key) for i in range(n)]


def test_a_batch_checked_early_is_stored_and_refused_as_if_checked_in_its_transaction(
    sqlite_workspace: Workspace,
) -> None:
    """The early checks are over the bytes each source signed; a tampered record and one
    signed with another key are refused by their place, the rest of the batch and of the
    submission stored beside it (not prepared) land, and the ledger holds exactly those."""
    ws = sqlite_workspace
    register_source(ws, "mon-07", "monitor", public_key=_pub(KEY), actor="test")
    batch = _batch("e")
    batch[3] = {**batch[3], "lat": 48.3}  # changed after signing
    batch[150] = signed(_obs("e-150", t=1740802200 + 150), OTHER)
    early = prepare(ws, batch, MONITOR)
    assert early.checks is not None
    signed_bytes = [canonical_bytes(observation_record(r)) for r in batch]
    assert list(early.checks.messages) == signed_bytes
    alone = [signed(_obs("s-1")), signed(_obs("s-2"), OTHER)]
    first, second = ingest_groups(ws, [(early, MONITOR), (alone, MONITOR)])
    assert (first.read, first.accepted, first.rejected) == (EARLY, EARLY - 2, 2)
    assert [(p.line, p.field, p.record) for p in first.problems] == [
        (4, "signature", "e-3"),
        (151, "signature", "e-150"),
    ]
    assert all(p.reason.startswith("signature does not match") for p in first.problems)
    assert (second.accepted, [(p.line, p.record) for p in second.problems]) == (1, [(2, "s-2")])
    assert _stored(ws) == {f"e-{i}" for i in range(EARLY)} - {"e-3", "e-150"} | {"s-1"}
    assert verify_store(ws).ok


def test_a_key_rotated_after_the_early_check_is_the_key_that_decides(
    sqlite_workspace: Workspace,
) -> None:
    """A batch checked early under the old key is checked again under the key read in the
    storing transaction: records signed with the old key are refused once it is replaced,
    records signed with the new one are stored though the early check refused them."""
    ws = sqlite_workspace
    register_source(ws, "mon-07", "monitor", public_key=_pub(KEY), actor="test")
    old, new = _batch("old"), _batch("new", key=OTHER)
    early_old, early_new = prepare(ws, old, MONITOR), prepare(ws, new, MONITOR)
    assert early_old.checks is not None and early_new.checks is not None
    assert set(early_old.checks.reasons()) == {None}
    assert None not in set(early_new.checks.reasons())
    update_source(ws, "mon-07", public_key=_pub(OTHER), actor="test", reason="lost device")
    refused, stored = ingest_groups(ws, [(early_old, MONITOR), (early_new, MONITOR)])
    assert (refused.accepted, refused.rejected) == (0, EARLY)
    assert {p.field for p in refused.problems} == {"signature"}
    assert (stored.accepted, stored.rejected) == (EARLY, 0)
    assert _stored(ws) == {r["client_id"] for r in new}


def test_no_early_check_is_spent_on_rows_their_sender_may_not_submit(
    sqlite_workspace: Workspace,
) -> None:
    """A party's liaison sending a monitor's signed records costs no signature check, and
    the transaction refuses each row for its sender as before."""
    ws = sqlite_workspace
    register_source(ws, "mon-07", "monitor", public_key=_pub(KEY), actor="test")
    liaison = Submitter(frozenset({"party"}), party="A")
    early = prepare(ws, _batch("x"), liaison)
    assert early.checks is None
    (rep,) = ingest_groups(ws, [(early, liaison)])
    assert (rep.accepted, rep.rejected) == (0, EARLY)
    assert {(p.field, p.reason) for p in rep.problems} == {
        ("source_id", "this user may not submit as a source of type monitor")
    }
    assert _stored(ws) == set()


def test_a_batch_sent_with_explicit_nulls_is_the_batch_without_them(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    """A field sent as null is a field not sent: the signature over the record without it
    holds, and the record is stored once whichever way it came."""
    register_source(sqlite_workspace, "mon-07", "monitor", public_key=_pub(KEY), actor="test")
    h = {"Authorization": f"Bearer {api_tokens['monitor']}"}
    nulls = {"bearing_deg": None, "attrs": None, "description": None, "actor": None}
    batch = [{**r, **nulls} for r in _batch("n")]
    r = api_client.post("/observations/batch", json={"observations": batch}, headers=h)
    assert r.status_code == 200 and (r.json()["accepted"], r.json()["rejected"]) == (EARLY, 0)
    again = api_client.post("/observations/batch", json={"observations": _batch("n")}, headers=h)
    assert again.json()["duplicates"] == EARLY
    assert len(_stored(sqlite_workspace)) == EARLY


@pytest.fixture
def verifier_processes() -> None:
    """Signatures checked in worker processes from here on, as in ``truceline serve``."""
    signatures.start_verifiers()
    if signatures.VERIFIERS == 1:
        pytest.skip("one core: signatures are checked on the caller's thread")


def test_signatures_checked_in_processes_give_the_same_verdicts(
    verifier_processes: None,
    api_client: TestClient,
    api_tokens: dict[str, str],
    sqlite_workspace: Workspace,
) -> None:
    register_source(sqlite_workspace, "mon-07", "monitor", public_key=_pub(KEY), actor="test")
    batch = _batch("p", 300)
    batch[299] = {**batch[299], "count": 2}
    h = {"Authorization": f"Bearer {api_tokens['monitor']}"}
    r = api_client.post("/observations/batch", json={"observations": batch}, headers=h)
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (299, 1), body
    assert [(p["line"], p["field"]) for p in body["problems"]] == [(300, "signature")]


def test_a_verification_process_that_dies_loses_no_verdict(
    verifier_processes: None, sqlite_workspace: Workspace
) -> None:
    """The checks a killed process held are made on the caller's thread, the batch is
    stored as it would have been, and later batches are checked on threads."""
    ws = sqlite_workspace
    register_source(ws, "mon-07", "monitor", public_key=_pub(KEY), actor="test")
    pool = signatures._processes
    assert pool is not None
    for pid in list(pool._processes):  # the pool's own worker processes
        os.kill(pid, signal.SIGKILL)
    batch = _batch("k", 300)
    batch[0] = signed(_obs("k-0", t=1740802200), OTHER)
    early = prepare(ws, batch, MONITOR)
    (rep,) = ingest_groups(ws, [(early, MONITOR)])
    assert (rep.accepted, rep.rejected) == (299, 1)
    assert signatures._processes is None
    (later,) = ingest_groups(ws, [(prepare(ws, _batch("l", 300), MONITOR), MONITOR)])
    assert later.accepted == 300
