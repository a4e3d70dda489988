"""Volume specs: the three footprint shapes, and each bad input refused with its reason."""

from __future__ import annotations

from typing import Any

import pytest

from truceline.deconfliction.volumes import FOREVER, volume_from_spec
from truceline.domain.errors import InputError

SQUARE = [[35.0, 48.0], [35.1, 48.0], [35.1, 48.1], [35.0, 48.1]]


def spec(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "activity": "flight",
        "footprint": {"polygon": SQUARE},
        "t_start": 1_000,
        "t_end": 5_000,
        "alt_min_m": 0,
        "alt_max_m": 500,
    }
    base.update(kw)
    return base


def refused(s: dict[str, Any]) -> list[tuple[str | None, str]]:
    with pytest.raises(InputError) as e:
        volume_from_spec(s, record="N1")
    assert all(p.record == "N1" for p in e.value.errors)
    return [(p.field, p.reason) for p in e.value.errors]


def test_polygon_circle_and_route_footprints() -> None:
    sq = volume_from_spec(spec())
    assert sq.bbox == (35.0, 48.0, 35.1, 48.1) and not sq.is_site
    circ = volume_from_spec(spec(footprint={"circle": [35.0, 48.0], "radius_m": 5000}))
    # 5 km is about 0.045 degrees of latitude
    assert abs((circ.bbox[3] - circ.bbox[1]) / 2 - 0.045) < 0.001
    route = volume_from_spec(
        spec(activity="convoy", footprint={"route": [[35.0, 48.0], [36.0, 48.0]], "width_m": 2000})
    )
    assert abs((route.bbox[3] - route.bbox[1]) - 0.018) < 0.001
    assert route.bbox[2] - route.bbox[0] > 1.0


def test_a_protected_site_stands_until_withdrawn_at_every_altitude() -> None:
    site = volume_from_spec(
        {"activity": "hospital", "footprint": {"polygon": SQUARE}, "t_start": 0}
    )
    assert site.is_site and site.t_end == FOREVER
    assert site.alt_min < 0 < 20_000 < site.alt_max


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (
            {"footprint": {"polygon": [[35, 48], [36, 49], [36, 48], [35, 49]]}},
            "polygon",
            "self-intersecting",
        ),
        ({"footprint": {"polygon": [[35, 48], [35, 48], [35, 48]]}}, "polygon", "empty"),
        ({"footprint": {"polygon": [[35, 48], [36, 48], [37, 48]]}}, "polygon", "zero area"),
        ({"footprint": {}}, "footprint", "exactly one"),
        ({"footprint": {"circle": [35, 48], "radius_m": 0}}, "radius_m", "(0,"),
        ({"footprint": {"route": [[35, 48]], "width_m": 100}}, "route", "empty route"),
        ({"footprint": {"polygon": [[200, 48], [36, 48], [36, 49]]}}, "polygon", "out of range"),
        ({"t_end": 999}, "t_end", "ends before it starts"),
        ({"t_start": "soon"}, "t_start", "epoch seconds"),
        ({"alt_min_m": 500, "alt_max_m": 100}, "alt_max_m", "upside down"),
        ({"alt_max_m": float("nan")}, "alt_max_m", "finite"),
        ({"activity": "picnic"}, "activity", "unknown activity type 'picnic'"),
    ],
)
def test_bad_input_is_refused_with_field_and_reason(
    change: dict[str, Any], field: str, words: str
) -> None:
    problems = refused(spec(**change))
    assert any(f == field and words in r for f, r in problems), problems


def test_every_problem_of_a_spec_is_named_at_once() -> None:
    problems = refused(spec(activity="picnic", t_end=0, alt_min_m=9, alt_max_m=1))
    assert {f for f, _ in problems} == {"activity", "t_end", "alt_max_m"}
