"""Every string marked for translation has one in every language, and the formatters
follow each locale."""

from __future__ import annotations

import pytest

from truceline.domain.errors import InputError
from truceline.i18n import LANGUAGES, format_date, format_decimal, format_number, translations
from truceline.i18n.catalog import extract, missing


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_marked_string_is_translated(lang: str) -> None:
    gaps = missing(lang)
    assert gaps == [], f"{lang}: {len(gaps)} strings lack a translation, e.g. {gaps[:5]}"


def test_translations_are_used() -> None:
    ids = [m.id for m in extract() if m.id and isinstance(m.id, str)]
    if not ids:
        pytest.skip("no string is marked for translation yet")
    for lang in ("uk", "ru"):
        t = translations(lang)
        assert any(t.gettext(i) != i for i in ids), lang


def test_formatting_per_locale() -> None:
    assert format_number(12345, "en") == "12,345"
    assert format_number(12345, "uk") == "12\xa0345"
    assert format_decimal(0.625, "ru") == "0,62"
    assert format_date("2026-01-15", "en") == "15 Jan 2026"
    assert "січ" in format_date("2026-01-15", "uk")


def test_unknown_language_is_refused() -> None:
    with pytest.raises(InputError, match="uk"):
        translations("de")
