"""Control maps travel with the agreement version: the map in force places a sighting."""

from __future__ import annotations

from dataclasses import replace

import shapely
from test_compliance import DAY, NOW, add_incident, store_agreement
from test_rules_world import T0, agreement, rule

from truceline.compliance.agreement.model import Agreement, Zone
from truceline.service.compliance import check
from truceline.service.workspace import Workspace

NOFOR = rule("nofor", "prohibition", what="foreign_forces", states=["USA"],
             territory_party="east")  # fmt: skip


def _moved_line(a: Agreement) -> Agreement:
    """The same terms on a map where east holds up to lon 30.5 (the line moved west)."""
    no = (None, None, None)
    moved = {
        "line": Zone("line", "contact_line", *no, shapely.LineString([(30.5, 47.9), (30.5, 49.1)])),
        "ctl-w": Zone("ctl-w", "control", "west", None, None, shapely.box(30, 48, 30.5, 49)),
        "ctl-e": Zone("ctl-e", "control", "east", None, None, shapely.box(30.5, 48, 32, 49)),
    }
    return replace(a, zones=tuple(moved.get(z.id, z) for z in a.zones))


def test_the_control_map_of_the_version_in_force_places_a_sighting(workspace: Workspace) -> None:
    amended = T0 + 60 * DAY
    store_agreement(workspace, agreement([NOFOR], version=1, valid_to=amended))
    v2 = _moved_line(agreement([NOFOR], version=2, valid_from=amended))
    store_agreement(workspace, v2)
    add_incident(workspace, 1, 30.7, 48.5, "foreign_unit", amended - DAY, state="USA")
    add_incident(workspace, 2, 30.7, 48.5, "foreign_unit", amended + DAY, state="USA")
    found = check(workspace, now=NOW).new
    # held by west under version 1 (not the barred territory), by east under version 2
    assert [(f.incidents, f.party, f.agreement_version) for f in found] == [((2,), "east", 2)]
