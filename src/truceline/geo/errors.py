"""The one place where pyproj and shapely exceptions become truceline errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import shapely.errors
from pyproj.exceptions import CRSError, ProjError

from truceline.domain.errors import InputError

__all__ = ["geo_errors"]


@contextmanager
def geo_errors(what: str) -> Iterator[None]:
    """Translate projection and geometry failures while doing ``what``.

    A bad projection definition, a coordinate PROJ cannot transform, or geometry
    GEOS refuses are input problems: they surface as :class:`InputError` naming
    ``what`` (e.g. ``"zone 'S001'"``) and the library's reason.
    """
    try:
        yield
    except CRSError as exc:
        raise InputError(f"{what}: invalid projection: {exc}") from exc
    except ProjError as exc:
        raise InputError(f"{what}: projection failed: {exc}") from exc
    except shapely.errors.ShapelyError as exc:
        raise InputError(f"{what}: invalid geometry: {exc}") from exc
