"""A time uncertainty beyond ten years is refused at intake with the record, the field and
the reason; it used to be stored, and then one such record (1e20 s) made `fuse` fail for
every observation, its span overflowing the incidents' integer times."""

from __future__ import annotations

import json
from pathlib import Path

from observation_rows import sighting
from sqlalchemy import Table, func, select
from typer.testing import CliRunner

from truceline.cli import app
from truceline.domain.observations import MAX_T_UNC_S
from truceline.service.workspace import Workspace
from truceline.store.schema import incidents, observations


def _count(ws: Workspace, table: Table) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_time_uncertain_beyond_ten_years_is_refused_and_fuse_goes_on(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    wire = {"source_id": "wire-1", "source_type": "osint"}
    rows = [
        sighting("ok", **wire, t_unc_s=MAX_T_UNC_S),
        sighting("vast", **wire, t_unc_s=1e20),
        sighting("over", **wire, t_unc_s=MAX_T_UNC_S + 1),
        sighting("near", **wire, lon=37.81),
    ]
    path = tmp_path / "obs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    errors = tmp_path / "errors.csv"
    db = ["--db", sqlite_workspace.url]
    r = CliRunner().invoke(app, [*db, "ingest", str(path), "--errors", str(errors)])
    text = errors.read_text(encoding="utf-8")
    for cid in ("vast", "over"):
        line = next(x for x in text.splitlines() if f",{cid}," in x or x.endswith(f",{cid}"))
        assert "t_unc_s" in line and "ten years" in line, line
    assert _count(sqlite_workspace, observations) == 2, r.output  # the bound itself is kept
    r = CliRunner().invoke(app, [*db, "fuse"])
    assert r.exit_code == 0, r.output
    assert _count(sqlite_workspace, incidents) >= 1
