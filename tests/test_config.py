"""Settings: declared once, documented, read from file and environment in that order."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from truceline.config import SETTINGS, Settings, resolve_env
from truceline.domain.errors import InputError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_is_a_field_and_documented() -> None:
    assert {f.name for f in fields(Settings)} == {s.name for s in SETTINGS}
    text = DOCS.read_text(encoding="utf-8")
    for s in SETTINGS:
        assert f"`{s.name}`" in text, f"{s.name} is not documented in {DOCS.name}"
        assert f"TRUCELINE_{s.name.upper()}" in text
        assert getattr(Settings(), s.name) == s.default


def test_environment_overrides_file() -> None:
    s = Settings.load({"fusion_window_s": 300}, {"TRUCELINE_FUSION_WINDOW_S": "900"})
    assert s.fusion_window_s == 900
    assert Settings.load({"fusion_window_s": 300}, {}).fusion_window_s == 300


def test_env_reference_resolved_and_missing_named() -> None:
    s = Settings.load({"database_url": {"$env": "DBURL"}}, {"DBURL": "sqlite:///x.db"})
    assert s.database_url == "sqlite:///x.db"
    with pytest.raises(InputError, match="DBURL"):
        resolve_env({"$env": "DBURL"}, {})


def test_bad_settings_name_the_key() -> None:
    with pytest.raises(InputError, match="unknown setting"):
        Settings.load({"nope": 1}, {})
    with pytest.raises(InputError, match="fusion_window_s: expected int"):
        Settings.load({"fusion_window_s": "soon"}, {})


@pytest.mark.parametrize(
    ("key", "value"),
    [("fusion_window_s", 600.5), ("fusion_window_s", True), ("fusion_distance_m", "nan")],
)
def test_values_are_not_truncated_nor_non_finite(key: str, value: object) -> None:
    with pytest.raises(InputError, match=f"{key}: expected"):
        Settings.load({key: value}, {})
    assert Settings.load({"fusion_window_s": 600.0}, {}).fusion_window_s == 600
