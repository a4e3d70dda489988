"""Languages of the human-facing outputs (reports, dashboard): English, Ukrainian, Russian.

Fixed strings are marked in templates (``{% trans %}``, ``_()``) and in Python
(``gettext``); their translations are gettext catalogues in ``i18n/locale/LANG/
LC_MESSAGES/truceline.po``, read with Babel and compiled in memory, so no build step
is needed. English is the source language. Numbers and dates are formatted per
locale through Babel. ``tests/test_i18n.py`` fails when a marked string has no
translation in every language.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from truceline.domain.errors import InputError

if TYPE_CHECKING:
    from babel.support import NullTranslations
    from jinja2 import Environment

__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALES",
    "catalogue_path",
    "check_language",
    "format_date",
    "format_datetime",
    "format_decimal",
    "format_number",
    "install",
    "translations",
]

DOMAIN = "truceline"
LANGUAGES: dict[str, str] = {"en": "English", "uk": "Українська", "ru": "Русский"}
LOCALES = {"en": "en_GB", "uk": "uk_UA", "ru": "ru_RU"}


def check_language(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else an ``InputError`` listing them."""
    if lang not in LANGUAGES:
        raise InputError(f"unknown language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    return lang


def catalogue_path(lang: str) -> str:
    """The ``.po`` file of ``lang``, relative to the package (for tools and tests)."""
    return f"locale/{lang}/LC_MESSAGES/{DOMAIN}.po"


@cache
def translations(lang: str) -> NullTranslations:
    """The translations of ``lang`` (English: the identity)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import NullTranslations, Translations

    check_language(lang)
    if lang == "en":
        return NullTranslations()
    po = resources.files("truceline.i18n").joinpath(catalogue_path(lang))
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=LOCALES[lang], domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def install(env: Environment, lang: str) -> Environment:
    """Give a Jinja2 environment ``{% trans %}``, ``_()`` and the locale's formatters."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # as the catalogue extraction trims
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals["lang"] = lang
    env.filters["num"] = _bind(format_number, lang)
    env.filters["dec"] = _bind(format_decimal, lang)
    env.filters["date"] = _bind(format_date, lang)
    env.filters["datetime"] = _bind(format_datetime, lang)
    return env


def _bind(fn: Callable[[object, str], str], lang: str) -> Callable[[object], str]:
    return lambda value: fn(value, lang)


def format_number(value: object, lang: str) -> str:
    """An integer with the locale's grouping (12,345 / 12 345)."""
    from babel.numbers import format_decimal as fmt

    return fmt(int(value), locale=LOCALES[lang])  # type: ignore[call-overload]


def format_decimal(value: object, lang: str) -> str:
    """A number with up to two decimals, per locale (0.62 / 0,62)."""
    from babel.numbers import format_decimal as fmt

    return fmt(float(value), format="#,##0.##", locale=LOCALES[lang])  # type: ignore[arg-type]


def format_date(value: object, lang: str) -> str:
    """A calendar day, e.g. 15 Jan 2026 / 15 січ. 2026 р."""
    from babel.dates import format_date as fmt

    d = value.date() if isinstance(value, datetime) else value
    if not isinstance(d, date):
        d = date.fromisoformat(str(d))
    return fmt(d, format="medium", locale=LOCALES[lang])


def format_datetime(value: object, lang: str) -> str:
    """A UTC instant given as epoch seconds or an aware datetime, with ``UTC`` stated."""
    from datetime import UTC

    from babel.dates import format_datetime as fmt

    t = value if isinstance(value, datetime) else datetime.fromtimestamp(int(value), UTC)  # type: ignore[call-overload]
    return fmt(t, format="medium", tzinfo=UTC, locale=LOCALES[lang]) + " UTC"
