"""Compliance: the agreement as data (``compliance.agreement``) and the checks of its terms."""

from __future__ import annotations

__all__: list[str] = []
