"""Each kind of term on a hand-made case: exactly the expected findings, and none."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from test_rules_world import T0, agreement, context, decl, incident, rule

from truceline.compliance.rules import Finding, Notifications, evaluate
from truceline.compliance.wording import render


def _found(rules: list[Any], rows: list[dict[str, Any]] = [], **kw: Any) -> list[Finding]:  # noqa: B006
    """The findings of ``rules`` alone, in the world that holds every rule of this file (so its
    zone index is built once; the registry runs only the rules asked for)."""
    ids = {r.id for r in rules}
    ctx = context(WORLD, rows, **kw)
    only = replace(
        ctx, agreement=replace(WORLD, rules=tuple(r for r in WORLD.rules if r.id in ids))
    )
    found = sorted(evaluate(only), key=lambda f: (f.rule_id, f.incidents, f.anchor))
    for f in found:  # every rule words its summary as msgid and arguments (issue #11)
        assert render(f.evidence()["summary"]) == f.summary, f.rule_id
        # and the basis on which it names a party, likewise
        assert (f.party_basis is None) == ("basis" not in f.evidence()), f.rule_id
        if f.party_basis is not None:
            assert render(f.evidence()["basis"]) == f.party_basis, f.rule_id
    return found


DAY = 86400
BAND = rule("band", "withdrawal_band", weapon_classes=["artillery_ge100"])


def test_withdrawal_band_finds_the_heavy_weapon_and_places_it() -> None:
    rows = [
        incident(1, 30.5, 48.5, "weapon_sighting", weapon_class="artillery_ge100"),
        incident(2, 31.5, 48.5, "weapon_sighting", weapon_class="artillery_ge100",
                 actor="west", actor_confidence=0.9, actor_basis="unit markings"),
        incident(3, 31.001, 48.5, "weapon_sighting", weapon_class="artillery_ge100",
                 radius_m=1000.0),  # straddles the line: no party
    ]  # fmt: skip
    found = sorted(_found([BAND], rows), key=lambda f: f.incidents)
    assert [(f.incidents, f.party, f.severity) for f in found] == [
        ((1,), "west", "high"),
        ((2,), "west", "high"),  # in east's band, but attributed to west
        ((3,), None, "high"),
    ]
    assert "whole uncertainty circle" in (found[0].party_basis or "")
    assert "unit markings" in (found[1].party_basis or "")
    assert found[2].party_basis is None
    assert "band-w-art" in found[0].summary and found[0].rule_id == "band"


def test_withdrawal_band_none() -> None:
    rows = [
        incident(1, 30.1, 48.5, "weapon_sighting", weapon_class="artillery_ge100"),  # behind band
        incident(2, 30.5, 48.5, "weapon_sighting", weapon_class="tank"),  # class not barred here
        incident(3, 30.5, 48.5, "explosion", weapon_class="artillery_ge100"),  # impact
        incident(4, 30.5, 48.5, "weapon_sighting", weapon_class="artillery_ge100",
                 status="rejected"),
    ]  # fmt: skip
    assert _found([BAND], rows) == []


BUFFER = rule("buf", "buffer_fire", zone="buffer")


def test_buffer_fire_has_no_party_unless_attributed() -> None:
    rows = [
        incident(1, 30.98, 48.5, "explosion", weapon_class="mortar_artillery_lt100"),
        incident(2, 31.02, 48.4, "burst", weapon_class="small_arms", actor="east",
                 actor_confidence=0.7, actor_basis="acoustic bearing"),
        incident(3, 30.99, 48.6, "explosion", actor="east", actor_confidence=0.2),
    ]  # fmt: skip
    found = sorted(_found([BUFFER], rows), key=lambda f: f.incidents)
    assert [(f.incidents, f.party) for f in found] == [
        ((1, 3), None),  # 3's attribution is too weak to place it: it joins the unplaced fire
        ((2,), "east"),
    ]


def test_buffer_fire_none() -> None:
    rows = [
        incident(1, 30.8, 48.5, "explosion"),  # outside the buffer
        incident(2, 31.0, 48.5, "weapon_sighting", weapon_class="tank"),  # not fire
    ]
    assert _found([BUFFER], rows) == []


def test_exclusion_bars_what_the_zone_bars() -> None:
    rules = [rule("npp", "exclusion", zone="npp"), rule("sky", "exclusion", zone="skies")]
    rows = [
        incident(1, 30.5, 48.2, "movement", count=40),
        incident(2, 31.5, 48.2, "drone"),
        incident(3, 31.5, 48.2, "movement"),  # skies bars flights only
    ]
    found = _found(rules, rows)
    assert [(f.rule_id, f.incidents, f.party) for f in found] == [
        ("npp", (1,), "west"),
        ("sky", (2,), None),
    ]


def test_fire_in_a_zone_with_its_own_buffer_fire_rule_is_judged_once() -> None:
    rows = [incident(1, 30.98, 48.5, "explosion")]
    bufx = rule("bufx", "exclusion", zone="buffer")
    assert [f.rule_id for f in _found([BUFFER, bufx], rows)] == ["buf"]
    assert [f.rule_id for f in _found([bufx], rows)] == ["bufx"]  # alone, it judges the fire


def test_an_exclusion_rule_may_bar_part_of_what_the_zone_bars() -> None:
    rows = [incident(1, 30.98, 48.5, "explosion"), incident(2, 30.99, 48.4, "drone")]
    flights = rule("bufx", "exclusion", zone="buffer", bars=["flight"])
    world = replace(WORLD, rules=(flights,))
    found = evaluate(context(world, rows))
    assert [(f.rule_id, f.incidents) for f in found] == [("bufx", (2,))]


def test_exclusion_none() -> None:
    rows = [incident(1, 30.5, 48.2, "casualty"), incident(2, 30.7, 48.2, "movement")]
    assert _found([rule("npp", "exclusion", zone="npp")], rows) == []


AREA = rule("pocket", "withdrawal_area", zone="pocket", party="west", by="2026-02-01")


def test_withdrawal_area_after_the_date_only_for_the_withdrawing_party() -> None:
    day = 86400
    west = {"actor": "west", "actor_confidence": 0.9, "actor_basis": "insignia"}
    rows = [
        incident(1, 30.8, 48.8, "movement", t=T0 + 40 * day, **west),
        incident(2, 30.8, 48.8, "movement", t=T0 + 10 * day, **west),  # before the deadline
        incident(3, 30.8, 48.8, "explosion", t=T0 + 40 * day),  # fire: origin unknown
        incident(4, 30.8, 48.8, "movement", t=T0 + 40 * day),  # unidentified: not by map
    ]
    found = _found([AREA], rows)
    assert [(f.incidents, f.party) for f in found] == [((1,), "west")]


def test_withdrawal_area_none() -> None:
    rows = [incident(1, 30.2, 48.2, "movement"), incident(2, 31.5, 48.8, "movement")]
    assert _found([AREA], rows) == []


PROHIBIT = rule("nofor", "prohibition", what="foreign_forces", states=["XA", "XB"],
                territory_party="west")  # fmt: skip


def test_prohibition_foreign_units_of_listed_states_on_the_territory() -> None:
    rows = [
        incident(1, 30.3, 48.5, "foreign_unit", state="xa"),
        incident(2, 30.3, 48.5, "foreign_unit", state="XC"),  # not listed
        incident(3, 31.3, 48.5, "foreign_unit", state="XB"),  # other territory
    ]
    found = _found([PROHIBIT], rows)
    assert [(f.incidents, f.party, f.severity) for f in found] == [((1,), "west", "high")]


def test_prohibition_none() -> None:
    assert _found([PROHIBIT], [incident(1, 30.3, 48.5, "movement", state="XA")]) == []


NOTIFY = rule("notify", "notification_duty", activities=["exercise"], threshold_personnel=1000,
              days_ahead=7)  # fmt: skip


def test_notification_duty_large_movement_without_notice() -> None:
    rows = [
        incident(1, 31.5, 48.5, "movement", count=3000),
        incident(2, 31.5, 48.5, "movement", count=200),  # below the threshold
    ]
    found = _found([NOTIFY], rows)
    assert [(f.incidents, f.party) for f in found] == [((1,), "east")]


def test_notification_duty_none_when_notified_in_time() -> None:
    t = T0 + 86400 * 40 + 1
    notes = Notifications(("east",), ("exercise",), (t - 3600,), (t + 3600,), (t - 10 * 86400,))
    rows = [incident(1, 31.5, 48.5, "movement", count=3000)]
    assert _found([NOTIFY], rows, notes=notes) == []
    late = Notifications(("east",), ("exercise",), (t - 3600,), (t + 3600,), (t - 2 * 86400,))
    assert len(_found([NOTIFY], rows, notes=late)) == 1


def test_notification_duty_of_named_parties_only() -> None:
    """A duty on west alone is not held against a movement the evidence places on east; an
    unplaced movement (straddling the line) may be either side's and stays."""
    west_only = rule("notify-w", "notification_duty", activities=["exercise"],
                     threshold_personnel=1000, days_ahead=7, parties=["west"])  # fmt: skip
    rows = [
        incident(1, 31.5, 48.5, "movement", count=3000),  # on east's ground
        incident(2, 31.001, 48.5, "movement", count=3000, radius_m=1000.0),
        incident(3, 30.5, 48.5, "movement", count=3000),  # on west's ground
    ]
    found = evaluate(context(agreement([west_only]), rows))
    assert sorted((f.incidents, f.party) for f in found) == [((2,), None), ((3,), "west")]


CEIL = rule("army", "ceiling", subject="personnel", item="army", parties=["west", "east"],
            max=800000, unit="persons")  # fmt: skip


def test_ceiling_over_the_maximum() -> None:
    decls = [
        decl(1, "west", "personnel", "army", "2026-01", 812000),
        decl(2, "east", "personnel", "army", "2026-01", 790000),
        decl(3, "east", "personnel", "army", "2026-02", 805000, filed_days=1),
        decl(4, "east", "personnel", "army", "2026-02", 799000, filed_days=2),  # correction
    ]
    found = _found([CEIL], decls=decls)
    assert [(f.anchor.split(":")[0], f.party, f.declarations) for f in found] == [
        ("west", "west", (1,))
    ]
    assert found[0].ledger == (1001,) and "812000" in found[0].summary


def test_ceiling_none() -> None:
    decls = [decl(1, "west", "personnel", "army", "2026-01", 800000)]
    assert _found([CEIL], decls=decls) == []


def test_a_figure_filed_about_a_party_by_another_is_not_its_declaration() -> None:
    """east's later figure for west's army neither replaces west's own declaration under the
    ceiling nor is west's: no finding names west on it, and west's duty is met on time."""
    decls = [
        decl(1, "west", "personnel", "army", "2026-01", 790000),
        decl(2, "west", "personnel", "army", "2026-01", 900000, declarant="east", filed_days=30),
        decl(3, "east", "personnel", "army", "2026-01", 700000),
    ]
    assert _found([CEIL, DUTY], decls=decls, t_to=T0 + 86400 * 50) == []


SHARE = rule("npp-share", "sharing", plant="npp", shares={"west": 0.5, "east": 0.5},
             tolerance=0.05, period="month")  # fmt: skip


def _energy(i: int, party: str, month: str, mwh: float) -> Any:
    return decl(i, None, "energy", f"delivered_to:{party}", month, mwh, unit="MWh",
                declarant="operator", plant="npp")  # fmt: skip


def test_sharing_outside_the_tolerance() -> None:
    decls = [
        _energy(1, "west", "2026-01", 620.0),
        _energy(2, "east", "2026-01", 380.0),
        _energy(3, "west", "2026-02", 520.0),
        _energy(4, "east", "2026-02", 480.0),  # 52/48: within 5 %
    ]
    found = _found([SHARE], decls=decls)
    assert len(found) == 1
    f = found[0]
    assert (f.party, f.declarations, f.severity) == (None, (1, 2), "high")
    assert "west 62.0%" in f.summary


def test_sharing_reads_each_plant_apart() -> None:
    """Another plant's figures for the same month, filed later, do not hide this plant's."""
    other = [decl(i, None, "energy", f"delivered_to:{p}", "2026-01", 500.0, unit="MWh",
                  declarant="operator", plant="other", filed_days=5)
             for i, p in ((3, "west"), (4, "east"))]  # fmt: skip
    decls = [_energy(1, "west", "2026-01", 620.0), _energy(2, "east", "2026-01", 380.0), *other]
    assert [f.declarations for f in _found([SHARE], decls=decls)] == [(1, 2)]


def test_sharing_none() -> None:
    decls = [_energy(1, "west", "2026-01", 500.0), _energy(2, "east", "2026-01", 500.0)]
    assert _found([SHARE], decls=decls) == []


DUTY = rule("duty", "declaration_duty", subject="personnel", item="army", every="month",
            due_days=10)  # fmt: skip


def test_declaration_duty_missing_late_inconsistent() -> None:
    decls = [
        decl(1, "west", "personnel", "army", "2026-01", 700000, filed_days=3),
        decl(2, "east", "personnel", "army", "2026-01", 700000, filed_days=25),  # late
        decl(3, "west", "personnel", "army", "2026-02", 700000, filed_days=1),
        decl(4, "west", "personnel", "army", "2026-02", 710000, filed_days=2),  # differs
        # east never declares February
    ]
    t_to = T0 + 86400 * 75  # mid-March: February is due, March is not over
    found = _found([DUTY], decls=decls, t_to=t_to)
    assert [(f.anchor.split(":")[0], f.party) for f in found] == [
        ("inconsistent", "west"),
        ("late", "east"),
        ("missing", "east"),
    ]
    assert found[0].declarations == (3, 4)


def test_declaration_duty_none() -> None:
    decls = [
        decl(i, p, "personnel", "army", m, 700000)
        for i, (p, m) in enumerate(
            [("west", "2026-01"), ("east", "2026-01"), ("west", "2026-02"), ("east", "2026-02")]
        )
    ]
    assert _found([DUTY], decls=decls, t_to=T0 + 86400 * 75) == []


EXCL = [
    rule("npp", "exclusion", zone="npp"),
    rule("sky", "exclusion", zone="skies"),
    rule("bufx", "exclusion", zone="buffer"),
]
HELD = rule("held", "holdings_observed", item="mbt", weapon_class="tank")


def test_holdings_observed_words_its_summary_in_the_readers_language() -> None:
    from truceline.i18n import translations
    from truceline.report.labels import weapon_label

    rows = [incident(1, 30.5, 48.5, "weapon_sighting", weapon_class="tank", count=3)]
    decls = [decl(1, "west", "equipment", "mbt", "2026-02", 2, unit="pieces")]
    [f] = _found([HELD], rows, decls=decls)
    assert (f.party, f.incidents, f.declarations) == ("west", (1,), (1,))
    assert f.summary.startswith("3 tank seen on west's side")
    assert f.wording is not None
    ru = render(f.wording.doc(), translations("ru").gettext, weapon_label)
    assert ru.startswith("3 × ") and "замечено на стороне west" in ru and "tank" not in ru
    assert f.basis_wording is not None
    basis = render(f.basis_wording.doc(), translations("uk").gettext)
    assert basis == (
        "власна декларація сторони west № 1 і спостережень, віднесених до сторони west: 1"
    )


WORLD = agreement([BAND, BUFFER, AREA, PROHIBIT, NOTIFY, CEIL, SHARE, DUTY, HELD, *EXCL])


def test_confidence_follows_verification_status() -> None:
    rows = [  # one a day, so each is its own finding
        incident(i, 30.98, 48.5, "explosion", status=s, confidence=0.8, t=T0 + (40 + i) * DAY)
        for i, s in enumerate(["verified", "corroborated", "reported", "disputed"])
    ]
    found = sorted(_found([BUFFER], rows), key=lambda f: f.incidents)
    conf = [f.confidence for f in found]
    assert conf == sorted(conf, reverse=True) and len(set(conf)) == 4


def test_one_finding_per_rule_day_sector_and_party() -> None:
    day = T0 + 40 * DAY
    rows = [
        incident(1, 30.98, 48.5, "explosion", t=day + 10, status="reported"),
        incident(2, 30.97, 48.2, "burst", t=day + 5000, status="verified"),
        incident(3, 30.98, 48.5, "explosion", t=day + DAY + 10),
    ]
    found = sorted(_found([BUFFER], rows), key=lambda f: f.period_start)
    assert [(f.incidents, f.period_start) for f in found] == [((1, 2), day), ((3,), day + DAY)]
    assert found[0].confidence == 0.9  # the strongest incident: verified (1.0) x 0.9
    assert "1 explosion" in found[0].summary and "1 burst" in found[0].summary


def test_a_finding_carries_its_summary_as_msgid_and_arguments() -> None:
    """Reports word a summary in their language from the msgid and arguments in the evidence
    (issue #11); worded in English they are the stored summary."""
    from truceline.i18n import translations
    from truceline.report.labels import weapon_label

    rows = [
        incident(1, 30.5, 48.5, "weapon_sighting", weapon_class="artillery_ge100"),
        incident(2, 30.98, 48.5, "explosion", weapon_class="mortar_artillery_lt100"),
        incident(3, 30.3, 48.5, "foreign_unit", state="xa"),
        incident(4, 31.5, 48.5, "movement", count=3000),
    ]
    found = _found([BAND, BUFFER, PROHIBIT, NOTIFY], rows)
    assert {f.rule_id for f in found} == {"band", "buf", "nofor", "notify"}
    for f in found:
        form = f.evidence()["summary"]
        assert f.wording is not None and form == f.wording.doc()
        assert render(form) == f.summary, f.rule_id
        uk = render(form, translations("uk").gettext, weapon_label)
        assert uk != f.summary, uk
    band = next(f for f in found if f.rule_id == "band")
    uk = render(band.evidence()["summary"], translations("uk").gettext, weapon_label)
    assert "смузі відведення" in uk and "artillery_ge100" not in uk
