"""CostEstimator: what a panel is expected to use and cost before it runs (returned when it is created).

A rough, documented estimate: every expected expert turn is two model calls (the answer and its
stance), plus two decisions (the framing and the synthesis); each call at a typical size
(`INPUT_TOKENS_PER_CALL` in, `OUTPUT_TOKENS_PER_CALL` out), priced at the model that makes it (the
expert's own provider and model, else the panel's model, else the provider's default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ask_panel.application.pricing import Prices
from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.experts import Expert
from ask_panel.domain.panel import expected_turns
from ask_panel.domain.status import PanelType
from ask_panel.domain.values import Usage

INPUT_TOKENS_PER_CALL = 1500  # the persona, the question and the discussion so far
OUTPUT_TOKENS_PER_CALL = 400
CALLS_PER_TURN = 2
DECISION_CALLS = 2


class CostEstimator:
    def __init__(self, prices: Prices, *, default_provider: str, default_models: Mapping[str, str | None]) -> None:
        """`default_models`: each provider's own default model (what a call that names none uses)."""
        self._prices = prices
        self._provider = default_provider
        self._models = default_models

    def estimate(self, panel_type: PanelType, configuration: PanelConfiguration, experts: Sequence[Expert]) -> Usage:
        members = max(len(experts), 1)
        turns = expected_turns(panel_type, configuration, members)
        calls = [turns * CALLS_PER_TURN // members + (i < turns * CALLS_PER_TURN % members) for i in range(members)]
        usage = self._priced(self._provider, configuration.model, DECISION_CALLS)
        for expert, count in zip(experts, calls, strict=False):
            usage = _sum(
                usage, self._priced(expert.provider or self._provider, expert.model or configuration.model, count)
            )
        return usage

    def _priced(self, provider: str, model: str | None, calls: int) -> Usage:
        tokens_in, tokens_out = INPUT_TOKENS_PER_CALL * calls, OUTPUT_TOKENS_PER_CALL * calls
        name = model or self._models.get(provider) or provider
        return Usage(tokens_in, tokens_out, calls, self._prices.cost(name, tokens_in, tokens_out, provider=provider))


def _sum(a: Usage, b: Usage) -> Usage:
    return Usage(
        a.input_tokens + b.input_tokens,
        a.output_tokens + b.output_tokens,
        a.llm_calls + b.llm_calls,
        round(a.cost_usd + b.cost_usd, 8),
    )
