"""Submitting observations over the API: signed, idempotent, screened by role."""

from __future__ import annotations

import base64
from functools import partial

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from observation_rows import KEY, sighting, signed
from sqlalchemy import select

from truceline.service.ledger import verify_store
from truceline.service.sources import register_source, show_source
from truceline.service.workspace import Workspace
from truceline.store.schema import observations


def _pub(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


_obs = partial(sighting, source_id="mon-07")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _monitor_source(ws: Workspace) -> None:
    register_source(ws, "mon-07", "monitor", public_key=_pub(KEY), actor="test")


def _stored(ws: Workspace) -> list[tuple[str, str | None, int | None]]:
    q = select(observations.c.source_id, observations.c.client_id, observations.c.ledger_index)
    with ws.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(q.order_by(observations.c.id))]  # type: ignore[misc]


def test_a_signed_observation_is_stored_once_and_ledgered(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    _monitor_source(sqlite_workspace)
    h = _auth(api_tokens["monitor"])
    first = api_client.post("/observations", json=signed(_obs("m-1")), headers=h)
    assert first.status_code == 201, first.text
    assert first.json() == {"status": "stored", "client_id": "m-1"}
    again = api_client.post("/observations", json=signed(_obs("m-1")), headers=h)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    rows = _stored(sqlite_workspace)
    assert len(rows) == 1 and rows[0][:2] == ("mon-07", "m-1") and rows[0][2] is not None
    assert verify_store(sqlite_workspace).ok


def test_a_bad_signature_or_an_unsigned_record_is_refused_with_its_reason(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    _monitor_source(sqlite_workspace)
    h = _auth(api_tokens["monitor"])
    forged = signed(_obs("m-2"), Ed25519PrivateKey.generate())
    r = api_client.post("/observations", json=forged, headers=h)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == "signature"
    r = api_client.post("/observations", json=_obs("m-3"), headers=h)
    assert r.status_code == 422 and "missing signature" in r.json()["errors"][0]["reason"]
    assert _stored(sqlite_workspace) == []


def test_an_unregistered_monitor_cannot_submit_by_api(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    r = api_client.post(
        "/observations", json=_obs("x-1", source_id="mon-99"), headers=_auth(api_tokens["analyst"])
    )
    assert r.status_code == 422
    assert "not registered" in r.json()["errors"][0]["reason"]
    assert _stored(sqlite_workspace) == []


def test_a_batch_stores_the_good_and_names_the_bad(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    _monitor_source(sqlite_workspace)
    batch = [signed(_obs(f"b-{i}")) for i in range(5)]
    batch[2] = signed(_obs("b-2", lat=123.0))
    batch.append(signed(_obs("b-0")))  # repeated in the batch
    r = api_client.post(
        "/observations/batch", json={"observations": batch}, headers=_auth(api_tokens["sensor"])
    )
    assert r.status_code == 200  # a sensor may not speak as a monitor: all refused, none stored
    assert r.json()["accepted"] == 0 and r.json()["rejected"] == 6
    r = api_client.post(
        "/observations/batch", json={"observations": batch}, headers=_auth(api_tokens["monitor"])
    )
    body = r.json()
    assert (body["read"], body["accepted"], body["duplicates"], body["rejected"]) == (6, 4, 1, 1)
    (problem,) = body["problems"]
    assert (problem["line"], problem["field"], problem["record"]) == (3, "lat", "b-2")
    assert sorted(c for _, c, _ in _stored(sqlite_workspace)) == ["b-0", "b-1", "b-3", "b-4"]


def test_a_strict_batch_is_all_or_nothing(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    _monitor_source(sqlite_workspace)
    batch = [signed(_obs("s-1")), signed(_obs("s-2", kind="nonsense"))]
    r = api_client.post(
        "/observations/batch",
        json={"observations": batch, "strict": True},
        headers=_auth(api_tokens["monitor"]),
    )
    assert r.status_code == 422 and r.json()["code"] == "rejected_batch"
    assert r.json()["errors"][0]["line"] == 2
    assert _stored(sqlite_workspace) == []


def test_a_liaison_submits_only_through_its_own_partys_channel(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    register_source(sqlite_workspace, "b-desk", "party", party="B", actor="test")
    h = _auth(api_tokens["party"])  # party A
    mine = _obs("a-1", source_id="a-desk", source_type="party")
    assert api_client.post("/observations", json=mine, headers=h).status_code == 201
    assert show_source(sqlite_workspace, "a-desk").source.party == "A"
    theirs = _obs("a-2", source_id="b-desk", source_type="party")
    r = api_client.post("/observations", json=theirs, headers=h)
    assert r.status_code == 422 and "party A" in r.json()["errors"][0]["reason"]
    as_monitor = _obs("a-3", source_id="a-desk-2")
    r = api_client.post("/observations", json=as_monitor, headers=h)
    assert r.status_code == 422 and "type monitor" in r.json()["errors"][0]["reason"]
    assert [c for _, c, _ in _stored(sqlite_workspace)] == ["a-1"]


def test_malformed_and_oversized_submissions_are_4xx(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    h = _auth(api_tokens["analyst"])
    r = api_client.post(
        "/observations", content=b"{not json", headers={**h, "content-type": "application/json"}
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = api_client.post(
        "/observations", json={"source_id": "x", "t": 1, "kind": "shot", "bogus": 1}, headers=h
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "bogus"
    big = {
        "observations": [
            _obs(f"o-{i}", source_id="osint-1", source_type="osint") for i in range(10_001)
        ]
    }
    r = api_client.post("/observations/batch", json=big, headers=h)
    assert r.status_code == 413 and "10000" in r.json()["detail"]
    assert _stored(sqlite_workspace) == []


def test_submissions_on_each_store(workspace: Workspace) -> None:
    from truceline.api import ApiLimits, create_app
    from truceline.service.users import add_user

    register_source(workspace, "mon-07", "monitor", public_key=_pub(KEY), actor="test")
    token = add_user(workspace, "m", "monitor").token
    batch = [signed(_obs(f"s-{i}")) for i in range(3)] + [_obs("s-9")]
    with TestClient(create_app(workspace, ApiLimits(rate_per_s=0))) as c:
        r = c.post("/observations/batch", json={"observations": batch}, headers=_auth(token))
        body = r.json()
        assert (body["accepted"], body["rejected"]) == (3, 1), body
        again = c.post("/observations/batch", json={"observations": batch}, headers=_auth(token))
        assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 3)
    assert sorted(c for _, c, _ in _stored(workspace)) == ["s-0", "s-1", "s-2"]
    assert verify_store(workspace).ok


def test_grouped_submissions_are_each_reported_as_if_alone(sqlite_workspace: Workspace) -> None:
    from truceline.service.submissions import Submitter, ingest_groups

    _monitor_source(sqlite_workspace)
    monitor = Submitter(frozenset({"monitor"}))
    first = [signed(_obs("g-1")), signed(_obs("g-2", lat=100.0))]
    second = [signed(_obs("g-1")), signed(_obs("g-3"))]  # g-1 again: a duplicate
    party = [_obs("g-4", source_id="a-desk", source_type="party")]
    reports = ingest_groups(
        sqlite_workspace,
        [(first, monitor), (second, monitor), (party, Submitter(frozenset({"monitor"})))],
    )
    counts = [(r.read, r.accepted, r.duplicates, r.rejected) for r in reports]
    assert counts == [(2, 1, 0, 1), (2, 1, 1, 0), (1, 0, 0, 1)]
    assert [(p.line, p.field) for p in reports[0].problems] == [(2, "lat")]
    assert [(p.line, p.field) for p in reports[2].problems] == [(1, "source_id")]
    assert sorted(c for _, c, _ in _stored(sqlite_workspace)) == ["g-1", "g-3"]


def test_the_group_writer_answers_each_waiter_and_stores_what_one_gave_up_on(
    sqlite_workspace: Workspace,
) -> None:
    """Waiting coroutines are answered together, each with its own report; a caller
    whose wait ends (0 s here) leaves its records to the writer, which stores them and
    answers the others still."""
    import asyncio

    from truceline.api.writer import GroupWriter
    from truceline.domain.errors import StoreError
    from truceline.service.submissions import Submitter

    _monitor_source(sqlite_workspace)
    writer, who = GroupWriter(sqlite_workspace), Submitter(frozenset({"monitor"}))

    async def one(records: list[dict[str, object]], timeout: float) -> tuple[int, int, int]:
        try:
            r = await writer.submit_async(records, who, timeout)
        except StoreError as exc:
            assert "did not answer within 0 s" in exc.message
            return (-1, -1, -1)
        return (r.read, r.accepted, r.rejected)

    async def submit() -> list[tuple[int, int, int]]:
        sends = [
            [signed(_obs(f"w-{i}"))] if i % 2 else [signed(_obs(f"w-{i}", lat=100.0))]
            for i in range(1, 9)
        ]
        # queued together, the one that gives up among them (so in the same group)
        waits = [one(s, 30) for s in sends]
        waits.insert(4, one([signed(_obs("w-0"))], 0))
        return list(await asyncio.gather(*waits))

    got = asyncio.run(submit())
    assert got == [(1, 1, 0), (1, 0, 1)] * 2 + [(-1, -1, -1)] + [(1, 1, 0), (1, 0, 1)] * 2
    stored = sorted(c for _, c, _ in _stored(sqlite_workspace))
    assert stored == ["w-0", "w-1", "w-3", "w-5", "w-7"]
    assert verify_store(sqlite_workspace).ok


def test_the_group_writer_holds_a_group_open_only_after_concurrent_submissions(
    sqlite_workspace: Workspace,
) -> None:
    """A lone caller is never held back for company (a linger of 60 s would time out its
    20 s wait); once submissions came together, the next group waits for more, so two
    sent 0.1 s after a first are stored with it."""
    import asyncio

    from truceline.api.writer import GroupWriter
    from truceline.service.submissions import Submitter

    _monitor_source(sqlite_workspace)
    groups: list[int] = []
    writer = GroupWriter(sqlite_workspace, on_group=groups.append, linger_s=60.0)
    who = Submitter(frozenset({"monitor"}))
    records = iter([signed(_obs(f"l-{i}"))] for i in range(100))

    async def alone() -> None:
        await writer.submit_async(next(records), who, 20)
        await writer.submit_async(next(records), who, 20)

    asyncio.run(alone())
    assert groups == [1, 1]
    writer.linger_s = 2.0

    async def together() -> None:
        await asyncio.gather(*(writer.submit_async(next(records), who, 20) for _ in range(3)))

    for _ in range(5):  # until submissions sent together were stored together
        asyncio.run(together())
        if groups[-1] > 1:
            break

    async def staggered() -> None:
        first = asyncio.ensure_future(writer.submit_async(next(records), who, 20))
        await asyncio.sleep(0.1)
        later = [writer.submit_async(next(records), who, 20) for _ in range(2)]
        await asyncio.gather(first, *later)

    asyncio.run(staggered())
    assert groups[-1] == 3
    assert len(_stored(sqlite_workspace)) == sum(groups)


def test_a_tampered_signature_in_a_large_batch_is_named_and_the_rest_land(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    """Batches large enough to be checked on the verification threads: the record whose
    signature fails is refused by its place, the others of its batch and of the batch
    stored in the same group commit land, and the ledger holds exactly those."""
    from truceline.service.submissions import Submitter, ingest_groups

    _monitor_source(sqlite_workspace)
    first = [signed(_obs(f"p-{i}", t=1740802200 + i)) for i in range(100)]
    first[37] = {**first[37], "lon": 37.9}  # changed after signing
    second = [signed(_obs(f"q-{i}", t=1740802200 + i)) for i in range(100)]
    monitor = Submitter(frozenset({"monitor"}))
    a, b = ingest_groups(sqlite_workspace, [(first, monitor), (second, monitor)])
    assert (a.read, a.accepted, a.rejected, b.accepted, b.rejected) == (100, 99, 1, 100, 0)
    (problem,) = a.problems
    assert (problem.line, problem.field, problem.record) == (38, "signature", "p-37")
    assert problem.reason.startswith("signature does not match")
    third = [signed(_obs(f"r-{i}")) for i in range(80)]
    third[79] = signed(_obs("r-79"), Ed25519PrivateKey.generate())  # another monitor's key
    r = api_client.post(
        "/observations/batch",
        json={"observations": third},
        headers=_auth(api_tokens["monitor"]),
    )
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (79, 1), body
    assert [(p["line"], p["field"], p["record"]) for p in body["problems"]] == [
        (80, "signature", "r-79")
    ]
    stored = {c for _, c, _ in _stored(sqlite_workspace)}
    assert len(stored) == 99 + 100 + 79 and "p-37" not in stored and "r-79" not in stored
    assert verify_store(sqlite_workspace).ok
