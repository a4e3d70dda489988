"""Extract the marked strings and keep the catalogues in step with them.

``python -m truceline.i18n.catalog`` extracts every string marked in the
templates (``*.j2``) and in Python (``gettext``/``_``/``ngettext``), adds the new
ones to each language's ``.po`` file with an empty translation, marks vanished
ones obsolete, and prints what still lacks a translation. Translators then fill
in the ``msgstr`` lines; ``tests/test_i18n.py`` fails while any is empty.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from truceline.i18n import DOMAIN, LANGUAGES, LOCALES, catalogue_path

__all__ = ["extract", "missing", "update"]

METHOD_MAP = [("**/templates/**.j2", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.j2": {"trimmed": "true"}}


def _package_dir() -> Path:
    return Path(str(resources.files("truceline")))


def extract() -> Catalog:
    """Every marked string of the package, with where it is used."""
    template = Catalog(domain=DOMAIN, project="truceline")
    root = _package_dir()
    for filename, lineno, message, comments, context in extract_from_dir(
        root, METHOD_MAP, OPTIONS, strip_comment_tags=True
    ):
        if "/i18n/" in f"/{filename}":
            continue
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def _po(lang: str) -> Path:
    return _package_dir() / "i18n" / catalogue_path(lang)


def update() -> dict[str, list[str]]:
    """Merge the extracted strings into each catalogue; return what lacks a translation."""
    template = extract()
    out: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        if lang == "en":
            continue
        path = _po(lang)
        if path.exists():
            with path.open("rb") as fh:
                cat = read_po(fh, locale=LOCALES[lang], domain=DOMAIN)
        else:
            cat = Catalog(locale=LOCALES[lang], domain=DOMAIN, project="truceline")
        cat.update(template, no_fuzzy_matching=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, cat, width=100, omit_header=False, ignore_obsolete=True)
        out[lang] = missing(lang)
    return out


def missing(lang: str) -> list[str]:
    """The extracted strings that ``lang``'s catalogue does not translate (or marks fuzzy)."""
    with _po(lang).open("rb") as fh:
        cat = read_po(fh, locale=LOCALES[lang], domain=DOMAIN)
    gaps = []
    for msg in extract():
        if not msg.id:
            continue
        have = cat.get(msg.id, context=msg.context)
        text = have.string if have is not None else None
        done = all(text) if isinstance(text, tuple) else bool(text)
        if have is None or not done or have.fuzzy:
            gaps.append(msg.id if isinstance(msg.id, str) else msg.id[0])
    return gaps


if __name__ == "__main__":
    gaps = update()
    for lang, ids in gaps.items():
        for m in ids:
            print(f"{lang}: no translation: {m!r}")
    sys.exit(1 if any(gaps.values()) else 0)
