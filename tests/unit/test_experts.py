"""The built-in expert catalogue and automatic panel selection."""

from __future__ import annotations

import pytest

from ask_panel.domain.errors import InvalidInput
from ask_panel.domain.experts import BUILTIN_EXPERTS, select_experts, validate_agent_id


def test_the_catalogue_has_at_least_ten_complete_personas() -> None:
    assert len(BUILTIN_EXPERTS) >= 10
    ids = {e.agent_id for e in BUILTIN_EXPERTS}
    assert {"fda_expert", "clinical_expert"} <= ids
    assert len(ids) == len(BUILTIN_EXPERTS)
    for expert in BUILTIN_EXPERTS:
        assert expert.name and expert.role and expert.expertise and len(expert.instructions) > 40
        assert expert.name in expert.system_prompt()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What is our FDA 510(k) strategy for this device?", "fda_expert"),
        ("How do we get CMS coverage and reimbursement codes?", "reimbursement_expert"),
        ("Is our EU MDR notified body plan realistic?", "eu_mdr_expert"),
        ("What sample size and power does the pivotal trial need?", "biostatistics_expert"),
        # Inflections count: "prices" meets the expertise term "pricing".
        ("Should we raise our subscription prices by 10% this quarter?", "commercial_expert"),
    ],
)
def test_selection_picks_the_relevant_expert_first(query: str, expected: str) -> None:
    chosen = select_experts(query, BUILTIN_EXPERTS)
    assert 3 <= len(chosen) <= 5
    assert chosen[0].agent_id == expected


def test_a_pricing_question_gets_experts_of_prices_and_value_not_of_regulation() -> None:
    chosen = {e.agent_id for e in select_experts("How should we price the device for hospitals?", BUILTIN_EXPERTS)}
    assert {"commercial_expert", "reimbursement_expert"} <= chosen
    assert "fda_expert" not in chosen


def test_selection_always_gives_at_least_three_experts() -> None:
    chosen = select_experts("Hello?", BUILTIN_EXPERTS)
    assert len(chosen) == 3


@pytest.mark.parametrize("bad", ["", "a", "Has Spaces", "UPPER", "-leading", "x" * 65])
def test_agent_ids_are_validated(bad: str) -> None:
    with pytest.raises(InvalidInput):
        validate_agent_id(bad)
