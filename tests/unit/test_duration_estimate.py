"""`estimated_duration`: the model calls a strategy makes, priced at the pace of the provider in use.

These tests check the formula's inputs and outputs; `bench/duration_calibration.py` checks the
estimate against real durations (docs/benchmarks.md), since tests never assert timings.
"""

from __future__ import annotations

import pytest

from ask_panel.application.panels import CreatePanel
from ask_panel.bootstrap import model_pace
from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.duration import (
    HOSTED_PACE,
    ModelPace,
    estimate_duration,
    estimate_seconds,
    expected_rounds,
)
from ask_panel.domain.status import PanelType
from ask_panel.infrastructure.llm.simulated import JSON_TOKENS, PROSE_WORDS, simulated_pace
from tests.harness import TENANT, harness, memory_settings
from tests.scripted import ScriptedProvider

SIMULATED = simulated_pace(8.0)


def test_the_simulated_pace_follows_its_token_delay() -> None:
    assert SIMULATED.answer_s == pytest.approx(PROSE_WORDS * 0.008)
    assert SIMULATED.json_s == pytest.approx(JSON_TOKENS * 0.008)
    assert simulated_pace(16.0).answer_s == pytest.approx(2 * SIMULATED.answer_s)
    assert simulated_pace(0.0).answer_s == 0


def test_a_small_simulated_panel_is_estimated_in_seconds_not_minutes() -> None:
    """Issue 9: `estimated_duration` said 48 s for a panel the simulated model finished in 2.4 s."""
    config = PanelConfiguration(max_rounds=3)
    assert estimate_duration(PanelType.STRUCTURED, config, 3, SIMULATED) <= 4
    assert estimate_duration(PanelType.STRUCTURED, config, 3, HOSTED_PACE) > 10


def test_an_instant_model_is_still_estimated_at_one_second_at_least() -> None:
    instant = ModelPace(0.0, 0.0, 0.0, 0.0)
    assert all(estimate_duration(t, PanelConfiguration(), 3, instant) == 1 for t in PanelType)


@pytest.mark.parametrize("panel_type", [PanelType.STRUCTURED, PanelType.DELPHI])
def test_concurrent_rounds_cost_little_per_extra_member(panel_type: PanelType) -> None:
    config = PanelConfiguration(max_rounds=2)
    two, ten = (estimate_seconds(panel_type, config, n, HOSTED_PACE) for n in (2, 10))
    assert two < ten < 2 * two


@pytest.mark.parametrize("panel_type", [PanelType.OPEN, PanelType.SOCRATIC, PanelType.ADVERSARIAL])
def test_sequential_turns_cost_in_proportion_to_the_members(panel_type: PanelType) -> None:
    config = PanelConfiguration(max_rounds=2)
    two, ten = (estimate_seconds(panel_type, config, n, HOSTED_PACE) for n in (2, 10))
    assert ten > 3 * two


def test_panels_that_stop_at_consensus_are_expected_to_hold_the_square_root_of_their_rounds() -> None:
    """Between 1 and max_rounds rounds: the geometric middle is off by the same factor either way."""
    for panel_type in (PanelType.STRUCTURED, PanelType.OPEN, PanelType.SOCRATIC, PanelType.DELPHI):
        assert expected_rounds(panel_type, PanelConfiguration(max_rounds=1)) == 1
        assert expected_rounds(panel_type, PanelConfiguration(max_rounds=4)) == 2
        assert expected_rounds(panel_type, PanelConfiguration(max_rounds=9)) == 3


def test_a_debate_is_expected_to_hold_every_round_and_at_least_two() -> None:
    assert expected_rounds(PanelType.ADVERSARIAL, PanelConfiguration(max_rounds=1)) == 2
    assert expected_rounds(PanelType.ADVERSARIAL, PanelConfiguration(max_rounds=5)) == 5


def test_an_open_panel_is_estimated_by_its_turn_limit() -> None:
    few = estimate_seconds(PanelType.OPEN, PanelConfiguration(max_rounds=3, max_turns=4), 4, HOSTED_PACE)
    many = estimate_seconds(PanelType.OPEN, PanelConfiguration(max_rounds=3), 4, HOSTED_PACE)
    assert few < many


def test_the_service_estimates_with_the_pace_of_the_configured_provider() -> None:
    assert model_pace(memory_settings(simulated_token_delay_ms=8.0)) == SIMULATED
    assert model_pace(memory_settings(llm_provider="openai", llm_api_key="sk-test")) == HOSTED_PACE


async def test_a_created_panel_carries_the_estimate_for_the_configured_provider() -> None:
    settings = memory_settings(simulated_token_delay_ms=20.0)
    async with harness(settings, ScriptedProvider()) as container:
        created = await container.panels.create(
            TENANT,
            CreatePanel(
                query="Should we launch?", panel_type=PanelType.SOCRATIC, agent_ids=["fda_expert", "clinical_expert"]
            ),
        )
    expected = estimate_duration(PanelType.SOCRATIC, created.panel.configuration, 2, simulated_pace(20.0))
    assert created.panel.estimated_duration == expected
