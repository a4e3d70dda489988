"""A workspace: a directory holding ``truceline.toml`` and, by default, the SQLite store."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from truceline.config import Settings
from truceline.domain.errors import WorkspaceError
from truceline.store.db import Engine, migrate, open_engine, schema_current

__all__ = [
    "WORKSPACE_FILE",
    "Workspace",
    "create_workspace",
    "find_workspace",
    "open_workspace",
    "workspace_settings",
]

WORKSPACE_FILE = "truceline.toml"


@dataclass(frozen=True, slots=True)
class Workspace:
    root: Path | None  # None when opened from a bare --db URL
    settings: Settings
    engine: Engine

    @property
    def url(self) -> str:
        return self.settings.database_url


def _absolute_url(url: str, root: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((root / url.removeprefix(prefix)).resolve())
    return url


def find_workspace(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``truceline.toml``."""
    for d in (start, *start.parents):
        if (d / WORKSPACE_FILE).is_file():
            return d
    return None


def _settings_for(root: Path | None, environ: Mapping[str, str]) -> Settings:
    file_values: dict[str, object] = {}
    if root is not None:
        path = root / WORKSPACE_FILE
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
            raise WorkspaceError(f"{path}: {exc}") from exc
        table = doc.get("settings", {})
        if not isinstance(table, dict):
            raise WorkspaceError(f"{path}: settings must be a table ([settings])")
        file_values = dict(table)
    settings = Settings.load(file_values, environ)
    if root is not None:
        settings = replace(settings, database_url=_absolute_url(settings.database_url, root))
    return settings


def workspace_settings(root: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of the workspace in ``root`` (its file, then the environment),
    without opening its store."""
    return _settings_for(root, os.environ if environ is None else environ)


def open_workspace(
    db_url: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    require_schema: bool = True,
) -> Workspace:
    """The workspace for ``--db URL`` if given, else the one found from ``cwd``."""
    env = os.environ if environ is None else environ
    root = find_workspace((cwd or Path.cwd()).resolve())
    settings = _settings_for(root, env)
    if db_url:
        settings = replace(settings, database_url=db_url)
    elif root is None and "TRUCELINE_DATABASE_URL" not in env:
        raise WorkspaceError(
            "no workspace here: run `truceline init DIR --agreement PATH` first, or pass --db URL"
        )
    engine = open_engine(settings.database_url, lock_timeout_s=settings.lock_timeout_s)
    if require_schema and not schema_current(engine):
        engine.dispose()  # close the connection the check opened
        raise WorkspaceError(
            f"the database at {settings.database_url} has an old, unknown or no schema: "
            "run `truceline init` (it migrates)"
        )
    return Workspace(root, settings, engine)


def create_workspace(root: Path, db_url: str | None = None) -> Workspace:
    """Create (or re-open and migrate) a workspace in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    wfile = root / WORKSPACE_FILE
    if not wfile.exists():
        url = db_url or "sqlite:///truceline.db"
        wfile.write_text(
            f"# truceline workspace\n[settings]\ndatabase_url = {_toml_str(url)}\n",
            encoding="utf-8",
        )
    ws = open_workspace(db_url, cwd=root, require_schema=False)
    migrate(ws.engine)
    return ws


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
