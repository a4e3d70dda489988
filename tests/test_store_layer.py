"""The store owns the SQL: no module outside ``store/`` imports SQLAlchemy."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "truceline"
#: every module outside ``store/`` (the store owns the SQL and the only SQLAlchemy imports)
OUTSIDE = sorted(
    str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] != "store"
)
#: modules outside ``store/`` allowed to import SQLAlchemy, each with the reason (none today)
ALLOWED: dict[str, str] = {}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def _sqlalchemy_imports(path: Path) -> set[str]:
    return {m for m in _imports(path) if m.split(".")[0] == "sqlalchemy"}


def test_the_walk_sees_the_services_and_faces() -> None:
    assert {"service/ingest.py", "cli/__init__.py", "api/app.py"} <= set(OUTSIDE)
    assert _sqlalchemy_imports(SRC / "store" / "db.py"), "the check would find nothing"


def test_no_sqlalchemy_outside_the_store() -> None:
    bad = {
        m: sorted(found)
        for m in OUTSIDE
        if m not in ALLOWED and (found := _sqlalchemy_imports(SRC / m))
    }
    assert not bad, f"these import SQLAlchemy, whose SQL belongs in store/: {bad}"


def test_the_cores_do_not_reach_the_store_or_a_service() -> None:
    for d in ("fusion", "geo", "scenario"):
        for p in (SRC / d).glob("*.py"):
            bad = {m for m in _imports(p) if m.startswith(("truceline.store", "truceline.service"))}
            assert not bad, f"{p.relative_to(SRC)} imports {sorted(bad)}"
