"""The controlled vocabularies of observations, sources and incidents."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "FindingStatus",
    "IncidentStatus",
    "ObservationKind",
    "Severity",
    "SignaturePolicy",
    "SourceType",
    "WeaponClass",
    "CREDIBILITY",
    "DECLARATION_UNITS",
    "RELIABILITY",
    "CIVILIAN_HARM_KINDS",
    "FIRE_KINDS",
    "MILITARY_KINDS",
    "RESTRICTION_KINDS",
]


class ObservationKind(StrEnum):
    """What an observation reports.

    Restrictions of the mission's freedom of movement are their own kinds, placed where
    the restriction happened (a checkpoint, the area a UAV was jammed over); the party
    controlling that area is found from the agreement's map, or named in ``actor``:

    - ``restriction``: a restriction of unstated type;
    - ``access_denied``: a patrol or inspection refused passage or entry;
    - ``access_delayed``: passage granted only after a delay (minutes in ``attrs.delay_min``);
    - ``access_conditional``: passage granted only on conditions (escort, route, no
      equipment), stated in ``description``;
    - ``uav_jamming``: the mission's UAV jammed (GNSS or control link), or shot at.

    ``inspection``: the mission inspected a storage site named in the agreement and
    counted what it holds, per weapon class, in ``attrs.inspected`` (``{"tank": 8}``,
    0 for a class found empty).

    Harm to civilians, reported apart from the fire that caused it:

    - ``civilian_casualty``: civilians killed or injured (``count`` = persons);
    - ``civilian_damage``: damage to civilian infrastructure (housing, power, water,
      hospitals, schools); ``casualty`` and ``damage`` stay for reports that do not say
      whether the victims or objects were civilian.
    """

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
    ACCESS_DENIED = "access_denied"
    ACCESS_DELAYED = "access_delayed"
    ACCESS_CONDITIONAL = "access_conditional"
    UAV_JAMMING = "uav_jamming"
    CIVILIAN_CASUALTY = "civilian_casualty"
    CIVILIAN_DAMAGE = "civilian_damage"
    FOREIGN_UNIT = "foreign_unit"  # a unit of a foreign state sighted
    INSPECTION = "inspection"  # the mission's count at a storage site: attrs.inspected
    DENIAL = "denial"  # a party denies an event happened (not a denial of access)
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

#: kinds that restrict the mission's freedom of movement (rule freedom_of_movement).
RESTRICTION_KINDS = frozenset(
    {
        ObservationKind.RESTRICTION,
        ObservationKind.ACCESS_DENIED,
        ObservationKind.ACCESS_DELAYED,
        ObservationKind.ACCESS_CONDITIONAL,
        ObservationKind.UAV_JAMMING,
    }
)
#: kinds that report harm to civilians or civilian objects.
CIVILIAN_HARM_KINDS = frozenset(
    {ObservationKind.CIVILIAN_CASUALTY, ObservationKind.CIVILIAN_DAMAGE}
)


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


class Severity(StrEnum):
    """How grave a finding is; ``unconfirmed`` when its evidence is too weak to grade
    (party claims alone, or confidence below the agreement's ``[quality]`` threshold):
    such a finding appears only in restricted outputs until an analyst confirms it."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNCONFIRMED = "unconfirmed"


class FindingStatus(StrEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


#: the units a declaration of each subject may use (a figure in another unit is refused)
DECLARATION_UNITS: dict[str, tuple[str, ...]] = {
    "personnel": ("persons",),
    "equipment": ("items",),
    "energy": ("MWh",),
}

#: Admiralty code: source reliability A (completely reliable) .. F (cannot be judged)
RELIABILITY = ("A", "B", "C", "D", "E", "F")
#: Admiralty code: information credibility 1 (confirmed) .. 6 (cannot be judged)
CREDIBILITY = (1, 2, 3, 4, 5, 6)
