"""A radius or a bearing's range beyond half the Earth's circumference is refused at
every intake face (a file, the API over real HTTP, the stream), with the record, the
field and the reason; nothing of it is stored."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from observation_rows import KEY, sighting, signed
from sqlalchemy import func, select
from typer.testing import CliRunner

from truceline.cli import app
from truceline.domain.observations import MAX_DISTANCE_M
from truceline.service.sources import register_source
from truceline.service.stream import ingest_messages
from truceline.service.users import add_user
from truceline.service.workspace import Workspace
from truceline.store.schema import observations

HUGE = 1e18
BEARING = {"lon": None, "lat": None, "radius_m": None, "obs_lon": 37.7, "obs_lat": 48.1,
           "bearing_deg": 80.0, "bearing_sd_deg": 2.0}  # fmt: skip


def _stored(ws: Workspace) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(observations)).scalar_one())


def test_a_file_row_beyond_the_earth_is_refused_by_line_and_field(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    rows = [
        sighting("ok", source_id="wire-1", source_type="osint", radius_m=MAX_DISTANCE_M),
        sighting("far", source_id="wire-1", source_type="osint", radius_m=HUGE),
        sighting("arc", source_id="wire-1", source_type="osint", **BEARING, range_max_m=HUGE),
    ]
    path = tmp_path / "obs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    errors = tmp_path / "errors.csv"
    r = CliRunner().invoke(
        app, ["--db", sqlite_workspace.url, "ingest", str(path), "--errors", str(errors)]
    )
    assert "radius_m" in r.output, r.output
    text = errors.read_text(encoding="utf-8")
    assert "radius_m" in text and "far" in text and "half the Earth's circumference" in text
    assert "range_max_m" in text and "arc" in text
    assert _stored(sqlite_workspace) == 1  # the radius at the bound itself is a place on Earth


def test_the_api_answers_422_naming_the_field(sqlite_workspace: Workspace, api_server: str) -> None:
    pub = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    register_source(sqlite_workspace, "mon-07", "monitor", public_key=base64.b64encode(pub),
                    actor="test")  # fmt: skip
    token = add_user(sqlite_workspace, "m", "monitor", source="mon-07").token
    h = {"Authorization": f"Bearer {token}"}
    cases = (("far", {"radius_m": HUGE}, "radius_m"),
             ("arc", {**BEARING, "range_min_m": HUGE}, "range_min_m"))  # fmt: skip
    for cid, extra, field in cases:
        row = signed(sighting(cid, source_id="mon-07", **extra))
        r = httpx.post(f"{api_server}/observations", json=row, headers=h, timeout=30)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        err = r.json()["errors"][0]
        assert err["field"] == field and "half the Earth's circumference" in err["reason"], err
    assert _stored(sqlite_workspace) == 0


def test_a_stream_message_beyond_the_earth_is_refused_with_its_reason(
    sqlite_workspace: Workspace,
) -> None:
    good = sighting("ok", source_id="wire-1", source_type="osint")
    bad = sighting("far", source_id="wire-1", source_type="osint", radius_m=HUGE)
    out = ingest_messages(
        sqlite_workspace, [json.dumps(good).encode(), json.dumps(bad).encode()], "nats"
    )
    assert out.accepted == 1 and list(out.refused) == [1]
    assert "radius_m" in out.refused[1] and "half the Earth's circumference" in out.refused[1]
    assert _stored(sqlite_workspace) == 1
