"""Users, tokens and the shape of every API error (application/problem+json)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from truceline.api import ApiLimits, create_app
from truceline.api.auth import allow, check_every_route_guarded
from truceline.cli import app as cli
from truceline.domain.errors import Conflict, InputError
from truceline.service.users import Role, add_user, authenticate, revoke_user
from truceline.service.workspace import Workspace

PROBLEM = "application/problem+json"


def _is_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["code"] == code and body["ok"] is False
    assert body["detail"] and body["title"] and body["type"].endswith(code)
    return body


def test_users_add_prints_the_token_once_and_stores_only_its_hash(
    sqlite_workspace: Workspace,
) -> None:
    root = sqlite_workspace.root
    assert root is not None
    res = CliRunner().invoke(
        cli,
        ["--db", sqlite_workspace.url, "users", "add", "olena", "--role", "party", "--party", "B"],
    )
    assert res.exit_code == 0, res.output
    token = res.stdout.strip().splitlines()[-1]
    assert token.startswith("tl_") and len(token) > 40
    user = authenticate(sqlite_workspace, token)
    assert (user.name, user.role, user.party) == ("olena", Role.PARTY, "B")
    db = sqlite3.connect(sqlite_workspace.url.removeprefix("sqlite:///"))
    stored = db.execute("SELECT token_hash FROM api_users WHERE name='olena'").fetchone()[0]
    db.close()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token.encode() not in (root / "truceline.db").read_bytes()
    listed = CliRunner().invoke(cli, ["--db", sqlite_workspace.url, "users", "list",
                                      "--format", "json"])  # fmt: skip
    [row] = json.loads(listed.stdout)
    assert (row["name"], row["role"], row["party"], row["revoked_at"]) == (
        "olena",
        "party",
        "B",
        None,
    )
    assert row["created_at"].endswith("Z") and token not in listed.stdout
    assert "token_hash" not in row and stored not in listed.stdout


def test_users_are_checked(sqlite_workspace: Workspace) -> None:
    with pytest.raises(InputError, match="role"):
        add_user(sqlite_workspace, "x", "admin")
    with pytest.raises(InputError, match="--party"):
        add_user(sqlite_workspace, "x", "party")
    with pytest.raises(InputError, match="only for the party role"):
        add_user(sqlite_workspace, "x", "analyst", "A")
    add_user(sqlite_workspace, "x", "analyst")
    with pytest.raises(Conflict):
        add_user(sqlite_workspace, "x", "monitor")


def test_health_and_readiness_need_no_token(api_client: TestClient) -> None:
    assert api_client.get("/healthz").json() == {"status": "ok"}
    ready = api_client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_openapi_is_3_1_and_declares_bearer_tokens(api_client: TestClient) -> None:
    doc = api_client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert any(s.get("scheme") == "bearer" for s in doc["components"]["securitySchemes"].values())


def _guarded_app(ws: Workspace) -> FastAPI:
    app = create_app(ws, ApiLimits(rate_per_s=0))
    router = APIRouter()

    @router.get("/only-analysts", dependencies=[allow(Role.ANALYST)])
    def only() -> dict[str, int]:
        return {"n": 1}

    @router.get("/boom", dependencies=[allow(Role.ANALYST)])
    def boom() -> None:
        raise RuntimeError("secret detail: password=hunter2")

    app.include_router(router)
    return app


def test_tokens_roles_and_revocation(sqlite_workspace: Workspace) -> None:
    analyst = add_user(sqlite_workspace, "ana", "analyst").token
    monitor = add_user(sqlite_workspace, "mon", "monitor").token
    with TestClient(_guarded_app(sqlite_workspace)) as c:
        _is_problem(c.get("/only-analysts"), 401, "unauthorized")
        bad = {"Authorization": "Bearer tl_not-a-token"}
        _is_problem(c.get("/only-analysts", headers=bad), 401, "unauthorized")
        mon = {"Authorization": f"Bearer {monitor}"}
        body = _is_problem(c.get("/only-analysts", headers=mon), 403, "forbidden")
        assert "monitor" in body["detail"]
        assert c.get("/only-analysts", headers={"Authorization": f"Bearer {analyst}"}).json() == {
            "n": 1
        }
    revoke_user(sqlite_workspace, "ana")
    with TestClient(_guarded_app(sqlite_workspace)) as c:
        ana = {"Authorization": f"Bearer {analyst}"}
        _is_problem(c.get("/only-analysts", headers=ana), 401, "unauthorized")


def test_an_unexpected_error_is_a_generic_500_with_a_reference(
    sqlite_workspace: Workspace,
) -> None:
    analyst = add_user(sqlite_workspace, "ana", "analyst").token
    with TestClient(_guarded_app(sqlite_workspace), raise_server_exceptions=False) as c:
        r = c.get("/boom", headers={"Authorization": f"Bearer {analyst}"})
    body = _is_problem(r, 500, "internal")
    assert "hunter2" not in r.text and "RuntimeError" not in r.text
    assert "reference" in body["detail"]


def test_unknown_routes_and_methods_are_problems(api_client: TestClient) -> None:
    _is_problem(api_client.get("/no/such/thing"), 404, "not_found")
    _is_problem(api_client.post("/healthz"), 405, "method_not_allowed")


def test_a_route_without_roles_cannot_be_served(sqlite_workspace: Workspace) -> None:
    app = create_app(sqlite_workspace)
    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> None:
        return None

    app.include_router(router)
    with pytest.raises(RuntimeError, match="GET /forgotten"):
        check_every_route_guarded(app)


def test_rate_limit_per_token(sqlite_workspace: Workspace) -> None:
    token = add_user(sqlite_workspace, "ana", "analyst").token
    other = add_user(sqlite_workspace, "bob", "analyst").token
    app = create_app(sqlite_workspace, ApiLimits(rate_per_s=0.001, burst=3))
    with TestClient(app) as c:
        h = {"Authorization": f"Bearer {token}"}
        assert [c.get("/healthz", headers=h).status_code for _ in range(3)] == [200] * 3
        r = c.get("/healthz", headers=h)
        _is_problem(r, 429, "rate_limited")
        assert r.headers["retry-after"] == "1"
        assert c.get("/healthz", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_an_oversized_body_is_413_before_it_is_read(sqlite_workspace: Workspace) -> None:
    app = create_app(sqlite_workspace, ApiLimits(max_body_bytes=1000, rate_per_s=0))
    with TestClient(app) as c:
        r = c.post("/healthz", content=b"x" * 5000)
    body = _is_problem(r, 413, "too_large")
    assert "1000 bytes" in body["detail"]


def test_a_request_past_its_time_gets_503_with_the_reason(sqlite_workspace: Workspace) -> None:
    import time

    analyst = add_user(sqlite_workspace, "ana", "analyst").token
    app = create_app(sqlite_workspace, ApiLimits(rate_per_s=0, timeout_s=0.3))
    router = APIRouter()

    @router.get("/slow", dependencies=[allow(Role.ANALYST)])
    async def slow() -> dict[str, int]:
        import asyncio

        await asyncio.sleep(5)
        return {"n": 1}

    app.include_router(router)
    with TestClient(app) as c:
        t0 = time.monotonic()
        r = c.get("/slow", headers={"Authorization": f"Bearer {analyst}"})
        assert time.monotonic() - t0 < 3
    body = _is_problem(r, 503, "timeout")
    assert "resubmitting the same records is safe" in body["detail"]
