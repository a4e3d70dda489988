"""The controlled vocabularies of observations, sources and incidents."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "FindingStatus",
    "IncidentStatus",
    "ObservationKind",
    "SignaturePolicy",
    "SourceType",
    "WeaponClass",
    "CREDIBILITY",
    "RELIABILITY",
    "FIRE_KINDS",
    "MILITARY_KINDS",
]


class ObservationKind(StrEnum):
    EXPLOSION = "explosion"
    PROJECTILE = "projectile"
    BURST = "burst"
    SHOT = "shot"
    WEAPON_SIGHTING = "weapon_sighting"
    MOVEMENT = "movement"
    DRONE = "drone"
    FLIGHT = "flight"
    CASUALTY = "casualty"
    DAMAGE = "damage"
    RESTRICTION = "restriction"  # restriction of the monitors' freedom of movement
    FOREIGN_UNIT = "foreign_unit"  # a unit of a foreign state sighted
    DENIAL = "denial"  # a party denies an event happened
    OTHER = "other"


#: kinds that are fire (weapons discharged); barred inside a buffer zone.
FIRE_KINDS = frozenset(
    {
        ObservationKind.EXPLOSION,
        ObservationKind.PROJECTILE,
        ObservationKind.BURST,
        ObservationKind.SHOT,
    }
)
#: kinds that are military activity; barred inside an exclusion zone.
MILITARY_KINDS = FIRE_KINDS | {
    ObservationKind.WEAPON_SIGHTING,
    ObservationKind.MOVEMENT,
    ObservationKind.DRONE,
    ObservationKind.FLIGHT,
    ObservationKind.FOREIGN_UNIT,
}


class WeaponClass(StrEnum):
    """Weapon classes as the Minsk package and the bench workloads name them."""

    SMALL_ARMS = "small_arms"
    MORTAR_ARTILLERY_LT100 = "mortar_artillery_lt100"  # mortars and artillery under 100 mm
    TANK = "tank"
    ARTILLERY_GE100 = "artillery_ge100"
    MLRS = "mlrs"
    MLRS_LONG_TBM = "mlrs_long_tbm"  # Tornado-S/Uragan/Smerch, Tochka
    AIRCRAFT = "aircraft"
    UAV = "uav"


class SourceType(StrEnum):
    MONITOR = "monitor"
    CAMERA = "camera"
    ACOUSTIC = "acoustic"
    UAV = "uav"
    PARTY = "party"
    OSINT = "osint"


class SignaturePolicy(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"


class IncidentStatus(StrEnum):
    REPORTED = "reported"
    CORROBORATED = "corroborated"
    VERIFIED = "verified"
    DISPUTED = "disputed"
    REJECTED = "rejected"


class FindingStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


#: Admiralty code: source reliability A (completely reliable) .. F (cannot be judged)
RELIABILITY = ("A", "B", "C", "D", "E", "F")
#: Admiralty code: information credibility 1 (confirmed) .. 6 (cannot be judged)
CREDIBILITY = (1, 2, 3, 4, 5, 6)
