"""The main job end to end: a fresh workspace, an agreement, observations (the built-in
scenario or a file of real events), fusion, compliance, a signed tree head and the
daily report of the busiest day, with an index of the days.

Every step goes through the ordinary service functions (the scenario is written to
a native file and ingested like any other), so the demo shows the real path.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from truceline.compliance.agreement import Agreement, load_agreement_file
from truceline.domain.errors import Conflict, InputError, WorkspaceError
from truceline.domain.observations import observation_record
from truceline.domain.vocab import SourceType
from truceline.intake import write_observations
from truceline.ledger.signatures import sign_record
from truceline.scenario import (
    DEFAULT_DAYS,
    DEFAULT_SEED,
    ScenarioInfo,
    play,
    scenario_sources,
)
from truceline.service.agreements import load_agreement
from truceline.service.compliance import check
from truceline.service.coverage import add_coverage
from truceline.service.fusion import fuse
from truceline.service.ingest import ingest_files
from truceline.service.ledger import issue_tree_head
from truceline.service.reports import ReportPaths, busiest_day, daily_report, write_report_index
from truceline.service.sources import register_source
from truceline.service.workspace import WORKSPACE_FILE, Workspace, create_workspace
from truceline.store import demo as store
from truceline.store import sources as store_sources
from truceline.store.db import reading

__all__ = [
    "DEFAULT_AGREEMENT",
    "DemoResult",
    "default_agreement_path",
    "register_scenario_sources",
    "run_demo",
]

DEFAULT_AGREEMENT = "minsk-2015"
_MARKER = ".truceline-demo"
_DEMO_FILES = (WORKSPACE_FILE, "truceline.db", "truceline.db-wal", "truceline.db-shm", _MARKER)
_DEMO_DIRS = ("reports", "scenario", "keys")

Step = Callable[[str], None]


@dataclass(slots=True)
class DemoResult:
    """What the demo did and where its report is."""

    out_dir: Path
    db_url: str
    agreement_id: str
    agreement_version: int
    input_file: Path
    read: int
    accepted: int
    rejected: int
    incidents_by_status: dict[str, int]
    findings_by_rule: dict[str, int]
    tree_head_size: int
    day: date
    report: ReportPaths
    index: Path
    restricted: ReportPaths
    restricted_index: Path
    scenario: ScenarioInfo | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def incidents(self) -> int:
        return sum(self.incidents_by_status.values())

    @property
    def findings(self) -> int:
        return sum(self.findings_by_rule.values())


def default_agreement_path(name: str = DEFAULT_AGREEMENT) -> Path:
    """The shipped agreement ``name``: inside the installed package (``truceline/examples``,
    present in a built wheel) or, in a source checkout, the repository's ``examples/``."""
    packaged = resources.files("truceline").joinpath("examples", name, "agreement.toml")
    if packaged.is_file():
        return Path(str(packaged)).parent
    repo = Path(__file__).resolve().parents[3] / "examples" / name
    if (repo / "agreement.toml").is_file():
        return repo
    raise WorkspaceError(
        f"the shipped agreement {name!r} was not found (neither in the installed package nor "
        "in a source checkout's examples/): pass --agreement PATH"
    )


def _fresh(out_dir: Path) -> None:
    """Make ``out_dir`` ready: empty, or a previous demo (whose files are replaced)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not (out_dir / _MARKER).is_file():
            raise Conflict(
                f"{out_dir} is not empty and holds no earlier demo: choose an empty folder"
            )
        for name in _DEMO_FILES:
            (out_dir / name).unlink(missing_ok=True)
        for name in _DEMO_DIRS:
            shutil.rmtree(out_dir / name, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / _MARKER).write_text("a truceline demo lives here; `truceline demo` replaces it\n")


def register_scenario_sources(ws: Workspace, agreement: Agreement, seed: int) -> int:
    """Register the scenario's sources with their types, groups, parties and grades;
    returns how many were new."""
    with reading(ws.engine) as conn:
        known = {r.id for r in store_sources.all_sources(conn)}
    new = [s for s in scenario_sources(agreement, seed) if s.id not in known]
    for s in new:
        signed = s.type == SourceType.MONITOR.value
        raw = _monitor_key(seed, s.id).public_key().public_bytes_raw()
        key = base64.b64encode(raw).decode() if signed else None
        register_source(
            ws,
            s.id,
            s.type,
            name=s.name,
            party=s.party,
            group=s.group,
            reliability=s.reliability,
            signature_policy="required" if signed else "optional",
            public_key=key,
            actor="demo",
            reason="built-in scenario roster",
        )
    return len(new)


def _monitor_key(seed: int, source_id: str) -> Ed25519PrivateKey:
    """A demo-only key for a monitor's device, derived from the seed (never for real use)."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"truceline-demo:{seed}:{source_id}".encode()).digest()
    )


def _sign_monitors(table: pa.Table, monitors: set[str], seed: int) -> pa.Table:
    """The monitors sign their submissions on the device, as DESIGN has it."""
    sigs = [
        sign_record(_monitor_key(seed, row["source_id"]), observation_record(row))
        if row["source_id"] in monitors
        else None
        for row in table.to_pylist()
    ]
    i = table.schema.get_field_index("signature")
    return table.set_column(i, table.schema.field(i), pa.array(sigs, pa.string()))


def _scenario_file(
    ws: Workspace, agreement: Agreement, out_dir: Path, seed: int, days: int
) -> tuple[Path, ScenarioInfo]:
    register_scenario_sources(ws, agreement, seed)
    table, info = play(agreement, seed=seed, days=days)
    monitors = {s.id for s in scenario_sources(agreement, seed) if s.type == SourceType.MONITOR}
    table = _sign_monitors(table, monitors, seed)
    path = out_dir / "scenario" / f"observations-seed{seed}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_observations(path, table)
    for c in info.coverage:  # what the posts could see, outages, patrols turned back
        add_coverage(
            ws, c.source_id, c.kind, c.t_start, c.t_end, c.geometry, note=c.note, actor="demo"
        )
    return path, info


def _tallies(ws: Workspace) -> tuple[dict[str, int], dict[str, int]]:
    with reading(ws.engine, "summing up the demo") as conn:
        return store.tallies(conn)


def _day_of(t: int) -> date:
    return datetime.fromtimestamp(t, UTC).date()


def run_demo(
    out_dir: Path,
    events: Path | None = None,
    seed: int = DEFAULT_SEED,
    agreement: Path | None = None,
    days: int = DEFAULT_DAYS,
    step: Step | None = None,
) -> DemoResult:
    """Build a fresh workspace in ``out_dir`` and run the whole pipeline on it."""
    say = step or (lambda _msg: None)
    if events is not None and not events.is_file():
        raise InputError(f"{events}: events file not found")
    apath = agreement or default_agreement_path()
    compiled = load_agreement_file(apath)  # fail on a bad agreement before touching out_dir
    _fresh(out_dir)
    ws = create_workspace(out_dir)
    try:
        return _pipeline(ws, out_dir, compiled, apath, events, seed, days, say)
    finally:
        ws.engine.dispose()


def _pipeline(
    ws: Workspace,
    out_dir: Path,
    compiled: Agreement,
    apath: Path,
    events: Path | None,
    seed: int,
    days: int,
    say: Step,
) -> DemoResult:
    say(f"agreement {compiled.id} from {apath}")
    loaded = load_agreement(ws, apath)
    info: ScenarioInfo | None = None
    if events is None:
        say(f"built-in scenario, seed {seed}, {days} days")
        path, info = _scenario_file(ws, compiled, out_dir, seed, days)
    else:
        path = events
    say(f"ingest {path.name}")
    rep = ingest_files(ws, [path])
    say("fuse observations into incidents")
    fuse(ws)
    say("check the agreement's rules")
    check(ws)
    say("issue a signed tree head")
    head = issue_tree_head(ws)
    t0 = int(compiled.valid_from)
    t1 = None if compiled.valid_to is None else int(compiled.valid_to)
    day = busiest_day(ws, since=_day_of(t0), until=None if t1 is None else _day_of(t1 - 1))
    say(f"daily report of {day.isoformat()}")
    reports = out_dir / "reports"
    paths = daily_report(ws, day, reports, with_index_link=True)
    index = write_report_index(ws, reports, title=str(compiled.title))
    restricted = daily_report(ws, day, reports, edition="restricted", with_index_link=True)
    restricted_index = write_report_index(
        ws, reports, title=str(compiled.title), edition="restricted"
    )
    by_status, by_rule = _tallies(ws)
    return DemoResult(
        out_dir=out_dir,
        db_url=ws.url,
        agreement_id=loaded.agreement_id,
        agreement_version=loaded.version,
        input_file=path,
        read=rep.read,
        accepted=rep.accepted,
        rejected=rep.rejected,
        incidents_by_status=by_status,
        findings_by_rule=by_rule,
        tree_head_size=int(head.size),
        day=day,
        report=paths,
        index=index,
        restricted=restricted,
        restricted_index=restricted_index,
        scenario=info,
    )
