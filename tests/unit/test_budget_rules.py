"""The budget rules on their own: when a panel's next steps would go past its caps, and when a period turns."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ask_panel.application.estimates import CostEstimator
from ask_panel.application.pricing import FixedPrices
from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.errors import BudgetExceeded
from ask_panel.domain.experts import BUILTIN_BY_ID
from ask_panel.domain.status import PanelType
from ask_panel.domain.usage import PanelBudget, next_month, seconds_until
from ask_panel.domain.values import Usage

USED = Usage(input_tokens=800, output_tokens=200, llm_calls=4, cost_usd=0.4)  # 250 tokens, 0.1 USD per call


def test_a_step_that_fits_in_what_is_left_may_begin() -> None:
    PanelBudget(max_tokens=1500).check(USED, next_calls=2)  # 1,000 used + 2 x 250 = 1,500: at the cap, not past it
    PanelBudget(max_cost_usd=0.6).check(USED, next_calls=2)


def test_a_step_that_would_go_past_the_token_cap_is_refused_before_it_begins() -> None:
    with pytest.raises(BudgetExceeded, match=r"used 1,000 tokens of its max_tokens 1,400"):
        PanelBudget(max_tokens=1400).check(USED, next_calls=2)
    assert BudgetExceeded.reason == "budget_exceeded"


def test_a_step_that_would_go_past_the_cost_cap_is_refused() -> None:
    with pytest.raises(BudgetExceeded, match=r"max_cost_usd 0\.50,"):
        PanelBudget(max_cost_usd=0.5).check(USED, next_calls=2)


def test_steps_under_way_count_as_if_spent() -> None:
    """Concurrent turns: three under way and one more at 250 tokens each do not fit in 1,900."""
    with pytest.raises(BudgetExceeded):
        PanelBudget(max_tokens=1900).check(USED, next_calls=4)


def test_the_next_calls_are_expected_at_the_largest_call_so_far_when_it_is_above_the_mean() -> None:
    """Prompts carry the discussion so far, so calls grow: the mean of the earlier ones would fall short."""
    largest = Usage(input_tokens=350, output_tokens=50, llm_calls=1, cost_usd=0.15)  # the mean is 250 tokens, 0.1 USD
    PanelBudget(max_tokens=1800).check(USED, next_calls=2, largest=largest)  # 1,000 + 2 x 400
    with pytest.raises(BudgetExceeded, match=r"its next steps would use about 800 more"):
        PanelBudget(max_tokens=1799).check(USED, next_calls=2, largest=largest)
    with pytest.raises(BudgetExceeded, match=r"would cost about 0\.30 USD more"):
        PanelBudget(max_cost_usd=0.69).check(USED, next_calls=2, largest=largest)
    small = Usage(input_tokens=100, output_tokens=0, llm_calls=1, cost_usd=0.01)
    PanelBudget(max_tokens=1500).check(USED, next_calls=2, largest=small)  # the mean, when it is more


def test_before_any_call_the_estimate_tells_what_a_call_uses() -> None:
    estimate = Usage(input_tokens=15_000, output_tokens=5_000, llm_calls=10, cost_usd=1.0)  # 2,000 tokens per call
    PanelBudget(max_tokens=4000).check(Usage(), next_calls=2, estimate=estimate)
    with pytest.raises(BudgetExceeded):
        PanelBudget(max_tokens=3999).check(Usage(), next_calls=2, estimate=estimate)
    PanelBudget(max_tokens=10).check(Usage(), next_calls=2)  # no estimate, nothing used: nothing to go by


def test_the_estimate_counts_every_expected_call_at_its_model_price() -> None:
    prices = FixedPrices({"paid": (10.0, 30.0)})
    estimator = CostEstimator(prices, default_provider="openai", default_models={"openai": "paid"})
    experts = [BUILTIN_BY_ID["fda_expert"], BUILTIN_BY_ID["clinical_expert"]]
    two_rounds = estimator.estimate(PanelType.STRUCTURED, PanelConfiguration(max_rounds=2), experts)
    # 2 rounds x 2 experts = 4 turns of 2 calls, plus the framing and the synthesis: 10 calls.
    assert two_rounds.llm_calls == 10
    assert (two_rounds.input_tokens, two_rounds.output_tokens) == (15_000, 4_000)
    assert two_rounds.cost_usd == pytest.approx((15_000 * 10 + 4_000 * 30) / 1_000_000)
    free = CostEstimator(prices, default_provider="simulated", default_models={})
    assert free.estimate(PanelType.STRUCTURED, PanelConfiguration(max_rounds=2), experts).cost_usd == 0.0


def test_budget_periods_turn_at_utc_midnight_and_on_the_first_of_the_month() -> None:
    now = datetime(2026, 11, 30, 23, 59, 0, tzinfo=UTC)
    assert seconds_until(date(2026, 12, 1), now) == 61
    assert next_month(date(2026, 12, 15)) == date(2027, 1, 1)
    assert next_month(date(2026, 1, 31)) == date(2026, 2, 1)
