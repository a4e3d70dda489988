"""The compliance rules: one module per family of rule kinds, a registry, pure functions."""

from __future__ import annotations

from truceline.compliance.rules.base import (
    Context,
    Declaration,
    Finding,
    Incidents,
    Notifications,
    ZoneView,
)
from truceline.compliance.rules.registry import RULE_KINDS, evaluate

__all__ = [
    "RULE_KINDS",
    "Context",
    "Declaration",
    "Finding",
    "Incidents",
    "Notifications",
    "ZoneView",
    "evaluate",
]
