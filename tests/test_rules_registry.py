"""One registration per rule kind: the loader, the checks and the docs agree."""

from pathlib import Path

import pytest

from truceline.compliance.agreement import RULE_KINDS as AGREEMENT_KINDS
from truceline.compliance.rules.params import RuleContext
from truceline.compliance.rules.registry import (
    INCIDENT_RULE_KINDS,
    REGISTRY,
    RULE_KINDS,
    validate_params,
)

README = Path(__file__).resolve().parents[1] / "examples" / "README.md"


def test_one_list_of_kinds() -> None:
    assert AGREEMENT_KINDS is RULE_KINDS
    assert set(RULE_KINDS) == set(REGISTRY)
    assert INCIDENT_RULE_KINDS == {k for k, v in REGISTRY.items() if v.evidence == "incidents"}
    assert "ceiling" not in INCIDENT_RULE_KINDS and "buffer_fire" in INCIDENT_RULE_KINDS


def test_every_kind_and_param_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    for kind in REGISTRY.values():
        assert f"`{kind.name}`" in text, kind.name
        for param in [*kind.required, *kind.optional]:
            assert param in text, (kind.name, param)


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(LookupError) as exc:
        validate_params("curfew", {}, RuleContext({}, {"A", "B"}))
    assert exc.value.args[0] == "kind"
    assert "buffer_fire" in exc.value.args[1]
