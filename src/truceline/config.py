"""Every setting, declared once: name, type, default and help.

Settings come, in rising order of precedence, from these defaults, the
workspace file ``truceline.toml`` (table ``[settings]``) and environment
variables ``TRUCELINE_<NAME>`` (upper case). A value written as
``{"$env": "NAME"}`` in the file is read from that environment variable, so
secrets never sit in the file. ``environ`` is passed in, never read globally.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from truceline.domain.errors import InputError

__all__ = ["SETTINGS", "Setting", "Settings", "resolve_env"]


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "database_url",
        str,
        "sqlite:///truceline.db",
        "SQLAlchemy URL of the store; a relative SQLite path is taken from the workspace",
    ),
    Setting(
        "fusion_distance_m",
        float,
        2000.0,
        "observations closer than this (plus their uncertainty) may be one incident",
    ),
    Setting(
        "fusion_window_s", int, 600, "observations closer in time than this may be one incident"
    ),
    Setting(
        "lock_timeout_s",
        float,
        10.0,
        "how long a write waits for another writer's database lock before giving up",
    ),
    Setting(
        "log_origin",
        str,
        "truceline.local/log",
        "the ledger's origin line in its checkpoints (C2SP tlog-checkpoint)",
    ),
    Setting(
        "ledger_key_file",
        str,
        "keys/ledger.key",
        "the mission's Ed25519 tree-head signing key (mode 0600); relative to the workspace",
    ),
)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite:///truceline.db"
    fusion_distance_m: float = 2000.0
    fusion_window_s: int = 600
    lock_timeout_s: float = 10.0
    log_origin: str = "truceline.local/log"
    ledger_key_file: str = "keys/ledger.key"

    @classmethod
    def load(cls, file_values: Mapping[str, Any], environ: Mapping[str, str]) -> Settings:
        known = {s.name: s for s in SETTINGS}
        values: dict[str, Any] = {}
        for key, raw in file_values.items():
            if key not in known:
                raise InputError(f"truceline.toml: [settings] {key}: unknown setting")
            values[key] = _coerce(known[key], resolve_env(raw, environ), "truceline.toml")
        for s in SETTINGS:
            env_key = f"TRUCELINE_{s.name.upper()}"
            if env_key in environ:
                values[s.name] = _coerce(s, environ[env_key], env_key)
        return cls(**values)


def resolve_env(value: Any, environ: Mapping[str, str]) -> Any:
    """Replace ``{"$env": NAME}`` by the environment variable NAME."""
    if isinstance(value, Mapping) and set(value) == {"$env"}:
        name = str(value["$env"])
        if name not in environ:
            raise InputError(f"environment variable {name} is not set")
        return environ[name]
    return value


def _coerce(s: Setting, value: Any, where: str) -> Any:
    """``value`` as ``s.type``; never truncated (600.5 is not an int) nor non-finite."""
    try:
        if s.type is not str and isinstance(value, bool):
            raise TypeError(value)
        out = s.type(value)
        if s.type is int and isinstance(value, float | str) and float(value) != out:
            raise ValueError(value)
        if isinstance(out, float) and not math.isfinite(out):
            raise ValueError(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: {s.name}: expected {s.type.__name__}, got {value!r}") from exc
    return out
