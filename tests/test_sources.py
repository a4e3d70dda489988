"""The source registry on both stores: registration, grades over time, keys, coverage, CLI."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from shapely.geometry import box
from sqlalchemy import select
from typer.testing import CliRunner

from truceline.cli import app
from truceline.domain.errors import Conflict, InputError, NotFound
from truceline.service.coverage import add_coverage_windows
from truceline.service.sources import (
    add_coverage,
    coverage_of,
    ensure_sources,
    grade_source,
    list_sources,
    register_source,
    reliability_at,
    show_source,
    update_source,
)
from truceline.service.workspace import Workspace
from truceline.store.schema import ledger_entries, source_grades, sources

DAY = 86400


def _key() -> tuple[str, bytes]:
    pub = Ed25519PrivateKey.generate().public_key()
    raw = pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
    pem = pub.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(raw).decode(), pem


def test_register_grade_over_time_and_ledger(workspace: Workspace) -> None:
    b64, _ = _key()
    s = register_source(
        workspace,
        "cam-1",
        "camera",
        group="array-north",
        public_key=b64,
        reliability="B",
        actor="ana",
    )
    assert s.signature_policy == "required" and s.public_key == b64
    assert s.independence_group == "array-north" and s.reliability == "B"
    grade_source(workspace, "cam-1", "D", valid_from=1000 * DAY, actor="ana", reason="drift")
    grade_source(workspace, "cam-1", "A", valid_from=2000 * DAY, actor="ana", reason="fixed")
    with workspace.engine.connect() as conn:
        got = reliability_at(
            conn,
            ["cam-1", "cam-1", "cam-1", "cam-1", "nobody"],
            [5, 1000 * DAY, 1500 * DAY, 2500 * DAY, 5],
        )
        assert got.tolist() == ["B", "D", "D", "A", "F"]
        kinds = conn.execute(select(ledger_entries.c.kind).order_by(ledger_entries.c.idx))
        assert [k for (k,) in kinds] == ["source", "source_grade", "source_grade", "source_grade"]
        rows = conn.execute(select(source_grades.c.ledger_index)).scalars().all()
        assert sorted(rows) == [1, 2, 3]  # history kept, each grade its own leaf
    detail = show_source(workspace, "cam-1")
    assert [g.reliability for g in detail.grades] == ["B", "D", "A"]


def test_reliability_at_is_vectorised_over_many_sources(workspace: Workspace) -> None:
    with workspace.engine.begin() as conn:
        ensure_sources(conn, [(f"s{i}", "osint") for i in range(30)])
    for i in range(0, 30, 3):
        grade_source(workspace, f"s{i}", "C", valid_from=100, actor="a", reason="r")
    rng = np.random.default_rng(1)
    ids = np.array([f"s{i}" for i in rng.integers(0, 30, 500)])
    t = rng.integers(0, 200, 500)
    with workspace.engine.connect() as conn:
        got = reliability_at(conn, ids, t)
    num = np.array([int(s[1:]) for s in ids])
    expect = np.where((num % 3 == 0) & (t >= 100), "C", "F")
    assert got.tolist() == expect.tolist()


def test_bad_registrations(workspace: Workspace) -> None:
    with pytest.raises(InputError, match="signatures are required"):
        register_source(workspace, "op-1", "monitor", actor="a")
    with pytest.raises(InputError, match="not one of"):
        register_source(workspace, "x", "satellite", actor="a")
    with pytest.raises(InputError, match="party it speaks for"):
        register_source(workspace, "p", "party", actor="a")
    with pytest.raises(InputError, match="32 bytes"):
        register_source(workspace, "op-1", "monitor", public_key="AAAA", actor="a")
    with pytest.raises(InputError, match="A-F"):
        register_source(workspace, "o", "osint", reliability="Z", actor="a")
    register_source(workspace, "o", "osint", actor="a")
    with pytest.raises(Conflict, match="already registered"):
        register_source(workspace, "o", "osint", actor="a")
    with pytest.raises(NotFound):
        grade_source(workspace, "nope", "A", actor="a", reason="r")
    with workspace.engine.connect() as conn:
        assert conn.execute(select(sources.c.id)).scalars().all() == ["o"]


def test_pem_key_and_update(workspace: Workspace, tmp_path: Path) -> None:
    b64, pem = _key()
    f = tmp_path / "k.pem"
    f.write_bytes(pem)
    register_source(workspace, "op", "monitor", public_key=str(f), actor="a")
    assert list_sources(workspace)[0].public_key == b64
    s = update_source(workspace, "op", group="mission-east", actor="a", reason="same team")
    assert s.independence_group == "mission-east" and s.public_key == b64
    with pytest.raises(InputError, match="nothing to change"):
        update_source(workspace, "op", actor="a", reason="r")


def test_coverage_and_fraction(workspace: Workspace) -> None:
    register_source(workspace, "op", "monitor", signature_policy="optional", actor="a")
    s1, s2 = box(37.0, 48.0, 37.1, 48.1), box(37.1, 48.0, 37.2, 48.1)
    add_coverage(workspace, "op", "observed", 0, DAY, s1.__geo_interface__, actor="a")
    add_coverage(workspace, "op", "outage", 0, DAY // 4, None, note="power", actor="a")
    route = {"type": "LineString", "coordinates": [[37.1, 48.05], [37.2, 48.05]]}
    c = add_coverage(workspace, "op", "observed", DAY // 2, DAY, route, buffer_m=500, actor="a")
    assert c.geometry is not None and c.geometry["type"] == "Polygon"
    with pytest.raises(InputError, match="area"):
        add_coverage(workspace, "op", "observed", 0, DAY, route, actor="a")
    with pytest.raises(InputError, match="ends before"):
        add_coverage(workspace, "op", "denied", DAY, 0, None, actor="a")
    with pytest.raises(InputError, match="no window"):  # not "ends before it starts"
        add_coverage_windows(workspace, "op", "outage", [], None, actor="a")
    with workspace.engine.connect() as conn:
        f = coverage_of(conn, {"s1": s1, "s2": s2}, 0, DAY)
    assert np.isclose(f["s1"], 0.75)
    assert 0.0 < f["s2"] < 0.1
    assert [c.kind for c in show_source(workspace, "op").coverage] == [
        "observed",
        "outage",
        "observed",
    ]


def test_cli_sources(workspace: Workspace, tmp_path: Path) -> None:
    run = CliRunner()
    db = ["--db", workspace.url]
    b64, _ = _key()
    r = run.invoke(
        app,
        [
            *db,
            "sources",
            "add",
            "ac-1",
            "--type",
            "acoustic",
            "--public-key",
            b64,
            "--group",
            "array-1",
            "--grade",
            "C",
        ],
    )
    assert r.exit_code == 0, r.output
    r = run.invoke(
        app,
        [
            *db,
            "sources",
            "grade",
            "ac-1",
            "B",
            "--from",
            "2025-01-01",
            "--reason",
            "calibrated",
            "--actor",
            "ana",
        ],
    )
    assert r.exit_code == 0, r.output
    fov = tmp_path / "fov.geojson"
    fov.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {},
                "geometry": box(37, 48, 37.1, 48.1).__geo_interface__,
            }
        )
    )
    r = run.invoke(
        app,
        [
            *db,
            "sources",
            "coverage",
            "add",
            "ac-1",
            "--from",
            "2025-01-01",
            "--to",
            "2025-01-02T06:00:00Z",
            "--geometry",
            str(fov),
        ],
    )
    assert r.exit_code == 0, r.output
    r = run.invoke(
        app,
        [
            *db,
            "sources",
            "coverage",
            "add",
            "ac-1",
            "--from",
            "2025-02-01",
            "--to",
            "2025-02-04",
            "--hours",
            "06:00-18:00",
            "--geometry",
            str(fov),
        ],
    )
    assert r.exit_code == 0 and "3 coverage record(s)" in r.output, r.output
    r = run.invoke(
        app,
        [
            *db,
            "sources",
            "coverage",
            "add",
            "ac-1",
            "--from",
            "2025-02-01",
            "--to",
            "2025-02-04",
            "--hours",
            "6-18",
            "--geometry",
            str(fov),
        ],
    )
    assert isinstance(r.exception, InputError)
    r = run.invoke(app, [*db, "sources", "list"])
    assert "ac-1" in r.output and "array-1" in r.output
    r = run.invoke(app, [*db, "sources", "show", "ac-1", "--format", "json"])
    shown = json.loads(r.stdout)
    assert [g["reason"] for g in shown["grades"]][-1] == "calibrated"
    assert "2025-01-01T00:00:00Z" in [g["valid_from"] for g in shown["grades"]]
    assert [c["kind"] for c in shown["coverage"]] == ["observed"] * 4  # 1 + 3 daily windows
    r = run.invoke(app, [*db, "sources", "grade", "ac-1", "Q", "--reason", "x"])
    assert r.exit_code != 0 and isinstance(r.exception, InputError)


def test_sector_coverage_summary_on_the_agreement(workspace: Workspace) -> None:
    from truceline.compliance.agreement import load_agreement_file
    from truceline.service.agreements import load_agreement

    example = Path(__file__).resolve().parents[1] / "examples" / "minsk-2015"
    load_agreement(workspace, example)
    sector = load_agreement_file(example).zone("S01").geometry
    t0 = load_agreement_file(example).valid_from + 10 * DAY
    register_source(workspace, "op", "monitor", signature_policy="optional", actor="a")
    add_coverage(
        workspace, "op", "observed", t0, t0 + DAY // 2, sector.__geo_interface__, actor="a"
    )
    r = CliRunner().invoke(
        app,
        [
            "--db",
            workspace.url,
            "sources",
            "coverage",
            "summary",
            "--from",
            str(t0),
            "--to",
            str(t0 + DAY),
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = {row["sector"]: row for row in json.loads(r.stdout)}
    assert rows["S01"]["observed"] == pytest.approx(0.5, abs=1e-3)
    assert rows["S02"]["observed"] == 0 and "nobody could see" in rows["S02"]["note"]
