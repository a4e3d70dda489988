"""Schemathesis against the OpenAPI description: no input, however odd, gets a 5xx.

Runs every operation as the analyst (who may call everything) with generated
parameters and bodies, in-process over the real app and a real SQLite store.
By hand, against a running server: ``st run http://127.0.0.1:8000/openapi.json
-H "Authorization: Bearer $TOKEN" --checks not_a_server_error``.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from truceline.api import ApiLimits, create_app
from truceline.service.users import add_user
from truceline.service.workspace import Workspace


def test_no_input_gets_a_server_error(sqlite_workspace: Workspace) -> None:
    token = add_user(sqlite_workspace, "fuzz", "analyst").token
    app = create_app(sqlite_workspace, ApiLimits(rate_per_s=0, max_body_bytes=1 << 20))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    seen: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            response = case.call(headers=headers)
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, (where, response.text[:500])
            if response.status_code >= 400:
                kind = response.headers["content-type"]
                kind = kind[0] if isinstance(kind, list) else kind
                assert kind == "application/problem+json", where

        call()
        seen.append(operation.label)
    assert len(seen) >= 20, seen
