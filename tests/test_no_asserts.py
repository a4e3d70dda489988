"""Integrity checks raise ``IntegrityError`` (or another named error), never ``assert``:
``python -O`` drops asserts, and a failed assert reaches a user as a bare traceback."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "truceline"

#: the asserts left, each only narrowing a type for mypy where the code has just
#: established it (none of them checks stored data)
ALLOWED = {
    # an exception handler narrows to the class Starlette dispatched on
    ("api/errors.py", "isinstance(exc, TrucelineError)"),
    ("api/errors.py", "isinstance(exc, RequestValidationError)"),
    ("api/errors.py", "isinstance(exc, HTTPException)"),
    # the options were checked for None just above, in a loop mypy cannot follow
    ("cli/declarations.py", "subject and item and period and unit and (value is not None)"),
}


def _asserts() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for p in sorted(SRC.rglob("*.py")):
        rel = p.relative_to(SRC)
        if rel.parts[0] == "examples":
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assert):
                found.add((rel.as_posix(), ast.unparse(node.test)))
    return found


def test_no_assert_checks_in_the_code() -> None:
    extra = _asserts() - ALLOWED
    assert not extra, f"raise IntegrityError (or a named error) instead of: {sorted(extra)}"


def test_the_allowed_asserts_still_exist() -> None:
    assert _asserts() >= ALLOWED, sorted(ALLOWED - _asserts())
