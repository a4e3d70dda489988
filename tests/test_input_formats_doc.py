"""docs/input-formats.md documents every input column, vocabulary value and mapping:
adding a column, a kind or a weapon class without documenting it fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from truceline.domain.observations import OBSERVATION_SCHEMA
from truceline.domain.vocab import ObservationKind, SourceType, WeaponClass
from truceline.intake import acled, ucdp
from truceline.intake.read import FORMATS

DOC = (Path(__file__).resolve().parents[1] / "docs" / "input-formats.md").read_text("utf-8")


def _section(title: str) -> str:
    start = DOC.index(f"\n## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else None]


def _first_cells(text: str) -> set[str]:
    """The code names in the first cell of each table row (a cell may list several)."""
    cells = [ln.split("|")[1] for ln in text.splitlines() if ln.startswith("| `")]
    return {name for cell in cells for name in re.findall(r"`([^`]+)`", cell)}


def test_every_native_column_is_documented() -> None:
    native = _section("The native layout")
    assert {f.name for f in OBSERVATION_SCHEMA} <= _first_cells(native)
    for f in OBSERVATION_SCHEMA:
        required = "| yes |" in next(
            ln for ln in native.splitlines() if ln.startswith(f"| `{f.name}` |")
        )
        assert required == (not f.nullable and f.name not in ("t_unc_s", "count", "credibility"))


@pytest.mark.parametrize("vocab", [ObservationKind, WeaponClass, SourceType])
def test_every_vocabulary_value_is_documented(vocab: type) -> None:
    documented = _first_cells(_section("The native layout"))
    missing = {v.value for v in vocab} - documented  # type: ignore[attr-defined]
    assert not missing, f"{vocab.__name__} values not in docs/input-formats.md: {missing}"


def test_every_reader_is_documented() -> None:
    assert set(FORMATS) <= _first_cells(_section("Which reader"))


def test_acled_mapping_is_documented() -> None:
    text = _section("ACLED")
    assert acled.ACLED_COLUMNS | {"time_precision", "geo_precision", "sub_event_type",
                                  "event_type"} <= _first_cells(text)  # fmt: skip
    for label, kind in {**acled.SUB_EVENT_KIND, **acled.EVENT_KIND}.items():
        assert label in text and f"`{kind}`" in text, label
    for code, radius in acled.GEO_PRECISION_RADIUS_M.items():
        assert f"{code} " in text and f"({radius / 1000:g} km)" in text
    for code, unc in acled.TIME_PRECISION_UNC_S.items():
        assert f"{code} the " in text and f"({unc:,.0f} s)" in text


def test_ucdp_mapping_is_documented() -> None:
    text = _section("UCDP GED")
    assert ucdp.UCDP_COLUMNS | {"type_of_violence", "event_clarity", "date_prec"} <= (
        _first_cells(text)
    )
    for code, radius in ucdp.WHERE_PREC_RADIUS_M.items():
        assert re.search(rf"\b{code} [^(]*\({radius / 1000:g} km\)", text), code
    for code, unc in ucdp.DATE_PREC_UNC_S.items():
        assert re.search(rf"\b{code} [^(]*\({unc / 86400:g} d\)", text), code
