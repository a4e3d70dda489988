"""The role matrix: every route of the real app, called by every role.

``MATRIX`` is the table of who may call what. The test fails when the app has
a route the table lacks (add its row when you add a route), when a route
declares other roles than the table says, or when a call is let through or
refused against the table. ``public`` is tested both as a public user's token
and as an anonymous caller.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from truceline.api.auth import route_roles
from truceline.service.users import Role

ALL = frozenset(Role)
STAFF = frozenset({Role.ANALYST})
READERS = frozenset({Role.ANALYST, Role.PARTY, Role.GUARANTOR})
SUBMITTERS = frozenset({Role.MONITOR, Role.SENSOR, Role.PARTY, Role.ANALYST})

#: (method, path) -> the roles that may call it
MATRIX: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/healthz"): ALL,
    ("GET", "/readyz"): ALL,
    ("POST", "/notifications"): frozenset({Role.PARTY}),
    ("POST", "/notifications/{nid}/amend"): frozenset({Role.PARTY}),
    ("POST", "/notifications/{nid}/cancel"): frozenset({Role.PARTY}),
    ("POST", "/notifications/{nid}/withdraw"): frozenset({Role.PARTY}),
    ("POST", "/notifications/{nid}/answer"): frozenset({Role.PARTY}),
    ("GET", "/notifications"): frozenset({Role.ANALYST, Role.PARTY}),
    ("GET", "/notifications/{nid}"): frozenset({Role.ANALYST, Role.PARTY}),
    ("GET", "/notifications/{nid}/conflicts"): frozenset({Role.ANALYST, Role.PARTY}),
    ("POST", "/notifications/escalate"): STAFF,
    ("POST", "/hotline"): STAFF,
    ("GET", "/hotline"): STAFF,
    ("GET", "/alerts"): frozenset({Role.ANALYST, Role.GUARANTOR}),
    ("GET", "/alerts/stream"): frozenset({Role.ANALYST, Role.GUARANTOR}),
    ("GET", "/"): ALL,
    ("GET", "/static/{path:path}"): ALL,
    ("GET", "/dashboard/zones"): ALL,
    ("GET", "/dashboard/me"): ALL,
    ("POST", "/observations"): SUBMITTERS,
    ("POST", "/observations/batch"): SUBMITTERS,
    ("GET", "/observations/mine"): frozenset({Role.MONITOR, Role.SENSOR}),
    ("GET", "/incidents"): ALL - {Role.SENSOR},
    ("GET", "/incidents/{incident_id}"): ALL - {Role.SENSOR},
    ("POST", "/incidents/{incident_id}/status"): STAFF,
    ("GET", "/findings"): READERS | {Role.PUBLIC},
    ("GET", "/findings/{finding_id}"): READERS | {Role.PUBLIC},
    ("POST", "/findings/{finding_id}/status"): STAFF,
    ("GET", "/declarations"): READERS,
    ("POST", "/declarations"): frozenset({Role.ANALYST, Role.PARTY}),
    ("GET", "/ledger/head"): ALL - {Role.SENSOR},
    ("GET", "/ledger/proof/{index}"): ALL - {Role.SENSOR},
    ("GET", "/ledger/consistency"): ALL - {Role.SENSOR},
    ("GET", "/reports"): ALL,
    ("GET", "/metrics"): STAFF,
    ("GET", "/ogc"): ALL,
    ("GET", "/ogc/conformance"): ALL,
    ("GET", "/ogc/collections"): ALL,
    ("GET", "/ogc/collections/{collection_id}"): ALL,
    ("GET", "/ogc/collections/{collection_id}/items"): ALL,
    ("GET", "/ogc/collections/{collection_id}/items/{feature_id}"): ALL,
}


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_is_in_the_matrix_with_its_roles(
    api_client: TestClient,
) -> None:
    declared = route_roles(api_client.app)  # type: ignore[arg-type]
    missing = sorted(set(declared) - set(MATRIX))
    assert not missing, f"routes missing from MATRIX: {missing}"
    stale = sorted(set(MATRIX) - set(declared))
    assert not stale, f"MATRIX rows for routes that no longer exist: {stale}"
    wrong = {k: sorted(declared[k]) for k in MATRIX if declared[k] != MATRIX[k]}
    assert not wrong, f"routes declaring other roles than MATRIX: {wrong}"


def test_every_role_is_let_through_or_refused_as_the_matrix_says(
    api_client: TestClient, api_tokens: dict[str, str]
) -> None:
    callers = [(r.value, {"Authorization": f"Bearer {api_tokens[r.value]}"}) for r in Role]
    callers.append(("anonymous", {}))
    bad: list[str] = []
    for (method, path), allowed in sorted(MATRIX.items()):
        for name, headers in callers:
            role = Role.PUBLIC if name == "anonymous" else Role(name)
            r = api_client.request(method, _filled(path), headers=headers)
            refused = r.status_code in (401, 403)
            if role in allowed and refused:
                bad.append(f"{name} refused {method} {path}: {r.status_code} {r.text[:200]}")
            if role not in allowed and not refused:
                bad.append(f"{name} let through {method} {path}: {r.status_code}")
            if role not in allowed and name == "anonymous" and r.status_code != 401:
                bad.append(f"anonymous got {r.status_code}, not 401, on {method} {path}")
            assert r.status_code < 500, f"{name} {method} {path}: {r.status_code} {r.text[:300]}"
    assert not bad, "\n".join(bad)
