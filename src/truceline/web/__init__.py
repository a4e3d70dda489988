"""The web dashboard: one server-rendered page (Jinja2, translated through the same
catalogues as the reports) with a little JavaScript and a Leaflet map. Leaflet comes
from the ``xstatic-leaflet`` package and everything is served by the API itself, so
the page works in a field office with no internet. The page reads the API with the
user's token; what it shows is what the user's role may read."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["asset", "leaflet_dir", "static_dir"]


def static_dir() -> Path:
    return Path(str(resources.files("truceline.web") / "static"))


def leaflet_dir() -> Path:
    import xstatic.pkg.leaflet as leaflet

    return Path(leaflet.BASE_DIR)


def asset(path: str) -> Path | None:
    """The file behind ``/static/PATH`` (``leaflet/...`` from the Leaflet package), or
    None when there is none or the path would leave its folder."""
    base, rest = (
        (leaflet_dir(), path.removeprefix("leaflet/"))
        if path.startswith("leaflet/")
        else (static_dir(), path)
    )
    target = (base / rest).resolve()
    if not target.is_file() or base.resolve() not in target.parents:
        return None
    return target
