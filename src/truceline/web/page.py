"""The dashboard page, rendered in the reader's language from the same catalogues
as the reports; the strings the script needs go into the page as JSON."""

from __future__ import annotations

import json
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from truceline.i18n import LANGUAGES, check_language, install, translations

__all__ = ["SCRIPT_STRINGS", "render_page"]


def _(text: str) -> str:
    return text


#: strings the script shows, marked for the catalogues and translated into the page
SCRIPT_STRINGS = (
    _("signed in as %(name)s (%(role)s)"),
    _("public: published data only"),
    _("not available for your role"),
    _("no incidents in this period"),
    _("no findings in this period"),
    _("no notifications"),
    _("no alerts"),
    _("incident %(id)s"),
    _("observations"),
    _("status history"),
    _("loading..."),
    _("could not load: %(reason)s"),
    _("party not named until an analyst confirms"),
    _("new alert"),
    _("not on this server"),
    _("kind"),
    _("count"),
    _("status"),
    _("confidence"),
    _("sector"),
    _("weapon"),
    _("actor"),
    _("place"),
)


@cache
def _env(lang: str) -> Environment:
    env = Environment(
        loader=PackageLoader("truceline.web", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return install(env, lang)


def render_page(lang: str = "en") -> str:
    """The dashboard's HTML in ``lang``."""
    check_language(lang)
    from truceline.report.labels import LABELS

    t = translations(lang)
    strings = {s: t.gettext(s) for s in (*SCRIPT_STRINGS, *LABELS)}
    return (
        _env(lang)
        .get_template("dashboard.html.j2")
        .render(
            strings=json.dumps(strings, ensure_ascii=False).replace("</", "<\\/"),
            languages=LANGUAGES,
        )
    )
