"""The observation vocabulary: every kind is documented where needed and ranked by fusion."""

from truceline.domain.vocab import (
    CIVILIAN_HARM_KINDS,
    RESTRICTION_KINDS,
    ObservationKind,
)
from truceline.fusion.attributes import KIND_RANK


def test_every_kind_is_ranked_by_fusion() -> None:
    assert set(KIND_RANK) == {k.value for k in ObservationKind}


def test_restriction_and_civilian_harm_kinds_are_documented() -> None:
    doc = ObservationKind.__doc__ or ""
    for kind in RESTRICTION_KINDS | CIVILIAN_HARM_KINDS:
        assert f"``{kind.value}``" in doc, kind
    assert ObservationKind.ACCESS_DENIED is not ObservationKind.DENIAL
