"""The most an agreement may ask of the loader: caps, each refused with a named reason.

An agreement is trusted text, but a typo (``length_km = 0.0001``), a huge region or a
hostile file must be refused in well under a second, not after minutes and gigabytes.
The defaults are documented in ``docs/configuration.md``; a caller with larger needs
passes its own :class:`AgreementLimits` to ``load_agreement_file``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_LIMITS", "AgreementLimits", "nesting"]


@dataclass(frozen=True, slots=True)
class AgreementLimits:
    #: bytes of the TOML file
    max_toml_bytes: int = 1 << 20
    #: nesting depth of any TOML value (an agreement needs 4)
    max_toml_depth: int = 16
    #: bytes of one GeoJSON file
    max_geojson_bytes: int = 64 << 20
    #: vertices of all the geometries of one GeoJSON file
    max_vertices: int = 500_000
    #: any distance given in km (buffer width, band, radius, sector size, depth)
    max_km: float = 1000.0
    #: reporting sectors cut along the contact line
    max_sectors: int = 1000


DEFAULT_LIMITS = AgreementLimits()


def nesting(value: object, most: int) -> int:
    """Nesting depth of a parsed TOML value, counted no further than ``most + 1``."""
    if most < 0 or not isinstance(value, dict | list):
        return 0
    items = value.values() if isinstance(value, dict) else value
    return 1 + max((nesting(v, most - 1) for v in items), default=0)
