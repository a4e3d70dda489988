"""Geometry core: metric projections, the zone index (which sector, which side,
which bands, how far from the contact line) and distances to lines.

Everything here works on columns (numpy arrays, shapely 2 vectorised calls) and
raises truceline errors only; pyproj and shapely exceptions are translated once,
in :func:`truceline.geo.errors.geo_errors`.
"""

__all__: list[str] = []
