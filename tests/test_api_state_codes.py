"""Over the API, a foreign unit whose state is not an ISO 3166-1 alpha-3 code is refused
with a 422 naming the record, the field and the allowed form; an empty state is stored."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from observation_rows import KEY, sighting, signed

from truceline.domain.observations import attrs_text
from truceline.service.sources import register_source
from truceline.service.workspace import Workspace


def test_a_bad_state_code_is_a_422_and_an_empty_one_is_stored(
    api_client: TestClient, api_tokens: dict[str, str], sqlite_workspace: Workspace
) -> None:
    pub = base64.b64encode(KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    register_source(sqlite_workspace, "mon-07", "monitor", public_key=pub.decode(), actor="t")
    h = {"Authorization": f"Bearer {api_tokens['monitor']}"}

    def unit(cid: str, state: str) -> dict[str, object]:
        attrs = {"state": state}  # signed as the text intake stores: the object's RFC 8785 form
        row = signed(sighting(cid, "mon-07", kind="foreign_unit", attrs=attrs_text(attrs)))
        return {**row, "attrs": attrs}

    r = api_client.post("/observations", json=unit("f-1", "FRANCE"), headers=h)
    assert r.status_code == 422, r.text
    (err,) = r.json()["errors"]
    assert err["field"] == "attrs.state" and err["record"] == "f-1"
    assert "ISO 3166-1 alpha-3" in err["reason"] and "'FRANCE'" in err["reason"]
    for cid, state in (("f-2", "FRA"), ("f-3", "")):  # "": an unknown state, kept
        r = api_client.post("/observations", json=unit(cid, state), headers=h)
        assert r.status_code == 201, r.text
