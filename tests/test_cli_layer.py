"""The CLI is a face: its modules reach the service, never the store or a core's
internals (fusion, compliance, ledger, intake, geo), and never SQLAlchemy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parents[1] / "src" / "truceline" / "cli"
#: the command modules already thin (ledger, report and assess are being moved, #8)
THIN = ["__init__", "_common", "_output", "agreement", "alerts", "backup", "check", "declarations",
        "demo", "fuse", "incidents", "ingest", "sources", "warning", "workspace"]  # fmt: skip
PAST_THE_SERVICE = ("sqlalchemy", "alembic", *(f"truceline.{p}" for p in (
    "store", "fusion", "compliance", "ledger", "intake", "geo", "scenario")))  # fmt: skip


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize("module", THIN)
def test_a_command_module_calls_the_service_only(module: str) -> None:
    bad = {m for m in _imports(CLI / f"{module}.py") if m.startswith(PAST_THE_SERVICE)}
    assert not bad, f"cli/{module}.py reaches past the service: {sorted(bad)}"
