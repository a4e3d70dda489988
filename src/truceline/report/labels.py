"""Words of the vocabulary as reports print them, marked for translation.

``N_`` only marks a string for extraction into the catalogues; the templates
translate the value at run time with ``_(value)``.
"""

from __future__ import annotations

__all__ = ["LABELS", "N_", "WEAPON_LABELS", "weapon_label"]


def N_(text: str) -> str:  # noqa: N802 - gettext's marker name
    return text


LABELS = (
    # observation and incident kinds
    N_("explosion"),
    N_("projectile"),
    N_("burst"),
    N_("shot"),
    N_("weapon_sighting"),
    N_("movement"),
    N_("drone"),
    N_("flight"),
    N_("casualty"),
    N_("damage"),
    N_("restriction"),
    N_("access_denied"),
    N_("access_delayed"),
    N_("access_conditional"),
    N_("uav_jamming"),
    N_("civilian_casualty"),
    N_("civilian_damage"),
    N_("foreign_unit"),
    N_("inspection"),
    N_("denial"),
    N_("other"),
    N_("total"),
    # incident and finding statuses
    N_("reported"),
    N_("corroborated"),
    N_("verified"),
    N_("disputed"),
    N_("rejected"),
    N_("open"),
    N_("confirmed"),
    N_("dismissed"),
    # severities
    N_("low"),
    N_("medium"),
    N_("high"),
    N_("unconfirmed"),
    N_("major"),
    N_("minor"),
    # coverage gaps and source types
    N_("outage"),
    N_("denied"),
    N_("monitor"),
    N_("camera"),
    N_("acoustic"),
    N_("uav"),
    N_("party"),
    N_("osint"),
    # editions
    N_("public"),
    N_("restricted"),
    # compass points
    N_("N"),
    N_("NE"),
    N_("E"),
    N_("SE"),
    N_("S"),
    N_("SW"),
    N_("W"),
    N_("NW"),
    N_("(none)"),
    N_("(not attributed)"),
)


#: weapon classes as a reader names them (the vocabulary's codes are never printed)
WEAPON_LABELS = {
    "small_arms": N_("small arms"),
    "mortar_artillery_lt100": N_("mortars and artillery under 100 mm"),
    "tank": N_("tanks"),
    "artillery_ge100": N_("artillery of 100 mm and more"),
    "mlrs": N_("multiple rocket launchers"),
    "mlrs_long_tbm": N_("long-range rocket launchers and tactical missiles"),
    "aircraft": N_("combat aircraft"),
    "uav": N_("armed drones"),
}


def weapon_label(weapon_class: str | None) -> str:
    """A weapon class in English words (translate the result), "" for none."""
    if not weapon_class:
        return ""
    return WEAPON_LABELS.get(weapon_class, weapon_class.replace("_", " "))
