"""The store owns the SQL: the services and cores moved onto it import no SQLAlchemy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "truceline"
#: modules whose queries live in ``store/`` (the other services are being moved, #8)
MOVED = [
    *(f"service/{m}.py" for m in ("incidents", "fusion", "fusion_write", "verification",
                                  "sources", "coverage", "agreements", "workspace", "demo")),
    *(str(p.relative_to(SRC)) for d in ("fusion", "geo", "scenario")
      for p in sorted((SRC / d).glob("*.py"))),
]  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize("module", MOVED)
def test_no_sqlalchemy_outside_the_store(module: str) -> None:
    found = {m for m in _imports(SRC / module) if m.split(".")[0] == "sqlalchemy"}
    assert not found, f"{module} imports {sorted(found)}: its SQL belongs in store/"


def test_the_cores_do_not_reach_the_store_or_a_service() -> None:
    for d in ("fusion", "geo", "scenario"):
        for p in (SRC / d).glob("*.py"):
            bad = {m for m in _imports(p) if m.startswith(("truceline.store", "truceline.service"))}
            assert not bad, f"{p.relative_to(SRC)} imports {sorted(bad)}"
