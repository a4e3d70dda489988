"""The agreement as data: the TOML + GeoJSON format, the compiled model, derived geometry.

load_agreement_file(path) -> Agreement      read, validate, compile (AgreementError if bad)
Agreement.to_json() / Agreement.from_json() what the store keeps (a round trip)
Agreement.zones_geojson()                   the zones in the bench's zones.geojson shape
build_from_control(...)                     an agreement directory from a control GeoJSON
"""

from __future__ import annotations

from truceline.compliance.agreement.build import Built, build_from_control
from truceline.compliance.agreement.loader import (
    AGREEMENT_FILE,
    agreement_path,
    load_agreement_file,
    parse_agreement,
)
from truceline.compliance.agreement.model import (
    BARS,
    ZONE_KINDS,
    Agreement,
    Party,
    Rule,
    Zone,
)
from truceline.compliance.rules.registry import RULE_KINDS

__all__ = [
    "AGREEMENT_FILE",
    "BARS",
    "RULE_KINDS",
    "ZONE_KINDS",
    "Agreement",
    "Built",
    "Party",
    "Rule",
    "Zone",
    "agreement_path",
    "build_from_control",
    "load_agreement_file",
    "parse_agreement",
]
