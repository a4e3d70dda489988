"""The command starts light: `--help` and `--version` import no store and no numeric
library, each command's module is imported only when it runs, and the shortcuts
taken for speed give the same answers as the slow way. (Times are measured by
benchmarks/startup.py, never here.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import truceline
from truceline.cli import COMMANDS, app

HEAVY = ("sqlalchemy", "alembic", "numpy", "scipy", "shapely", "pyproj", "matplotlib",
         "weasyprint", "pyarrow")  # fmt: skip


def _loaded_after(args: list[str], cwd: Path | None = None) -> tuple[str, set[str]]:
    code = (
        "import sys, json\n"
        "from truceline.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = set(sys.modules) | {m.split('.')[0] for m in sys.modules}\n"
        "print(json.dumps(sorted(names)), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRUCELINE_DATABASE_URL"}
    r = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )
    return r.stdout, set(json.loads(r.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["incidents", "--help"]])
def test_help_and_version_import_nothing_heavy(args: list[str]) -> None:
    out, loaded = _loaded_after(args)
    assert out.strip()
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


#: what listing reads from the store does not need (the store itself, SQLAlchemy's core,
#: it does): the numeric and crypto libraries, SQLAlchemy's ORM, the migrations
NOT_FOR_LISTING = (*(m for m in HEAVY if m != "sqlalchemy"), "cryptography", "sqlalchemy.orm")


#: every list command (benchmarks/startup.py times the same ones)
LISTS = [["incidents", "list"], ["findings", "list"], ["notify", "list"], ["sources", "list"],
         ["users", "list"], ["alerts", "list"], ["alerts", "subscriptions"],
         ["alerts", "dead"]]  # fmt: skip


@pytest.fixture(scope="module")
def empty_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("empty")
    r = CliRunner().invoke(app, ["init", str(root)], env={"TRUCELINE_DATABASE_URL": None})
    assert r.exit_code == 0, r.output
    return root


@pytest.mark.parametrize("args", LISTS, ids=" ".join)
def test_listing_an_empty_workspace_loads_no_numeric_or_crypto_library(
    args: list[str], empty_workspace: Path
) -> None:
    out, loaded = _loaded_after([*args, "--format", "json"], cwd=empty_workspace)
    assert out.strip() == "[]"
    assert "sqlalchemy" in loaded  # it did read the store
    assert not loaded & set(NOT_FOR_LISTING), sorted(loaded & set(NOT_FOR_LISTING))


def test_listing_incidents_loads_neither_the_ledger_nor_the_migrations(
    empty_workspace: Path,
) -> None:
    out, loaded = _loaded_after(["incidents", "list", "--format", "json"], cwd=empty_workspace)
    assert out.strip() == "[]"
    assert not loaded & {"truceline.store.ledger", "truceline.ledger", "alembic"}


def test_version() -> None:
    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"truceline {truceline.__version__}"


def test_help_lists_every_registered_command() -> None:
    r = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    for c in COMMANDS:
        assert f" {c.name} " in r.output


def test_every_registered_command_exists_in_its_module() -> None:
    runner = CliRunner()
    for c in COMMANDS:
        r = runner.invoke(app, [c.name, "--help"])
        assert r.exit_code == 0, (c, r.output)
    assert runner.invoke(app, ["no-such-command"]).exit_code != 0


def test_migration_heads_read_from_files_equal_alembics() -> None:
    from alembic.script import ScriptDirectory

    from truceline.store.db import _alembic_config, migration_heads, open_engine

    script = ScriptDirectory.from_config(_alembic_config(open_engine("sqlite://")))
    assert migration_heads() == set(script.get_heads())


def test_written_out_quantiles_equal_scipys() -> None:
    from scipy import stats

    from truceline.fusion.bearings import CHI2_95_2D, Z95

    assert CHI2_95_2D == float(stats.chi2.ppf(0.95, 2))
    assert Z95 == float(stats.norm.ppf(0.975))


def _gc_after(args: list[str], cwd: Path) -> tuple[list[int], list[int], int]:
    """The collector's thresholds before and after ``truceline ARGS``, and how many
    objects it was left not to scan (frozen)."""
    code = (
        "import gc, sys, json\n"
        "before = gc.get_threshold()\n"
        "from truceline.__main__ import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps([before, gc.get_threshold(), gc.get_freeze_count()]), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRUCELINE_DATABASE_URL"}
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       check=False, cwd=cwd, env=env)  # fmt: skip
    before, after, frozen = json.loads(r.stderr.strip().splitlines()[-1])
    return before, after, frozen


def test_start_up_collects_garbage_rarely_until_the_command_opens_the_store(
    empty_workspace: Path,
) -> None:
    from truceline.startup import STARTUP_THRESHOLD

    before, after, frozen = _gc_after(["--version"], empty_workspace)
    assert after == [STARTUP_THRESHOLD, *before[1:]] and frozen == 0  # never got to work
    before, after, frozen = _gc_after(["incidents", "list"], empty_workspace)
    assert after == before  # the defaults again once the store is open
    assert frozen > 10_000  # what start-up made is out of the collector's sight
