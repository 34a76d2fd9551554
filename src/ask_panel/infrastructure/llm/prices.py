"""CatalogPrices: model prices from `genai-prices` (a maintained price list), under the configured overrides.

The price data is the snapshot bundled with the installed `genai-prices` release (no network at run
time: its auto-update is never started); `make lock` moves it forward with the other pins. A model
that neither the configuration (`ASK_PANEL_MODEL_PRICES`) nor the data knows costs 0.0, and is
logged once per process so that an operator can give it a price. The simulated model costs nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from genai_prices import Usage, calc_price

from ask_panel.application.pricing import SIMULATED, FixedPrices

log = logging.getLogger(__name__)

# Our provider names as genai-prices names them; an OpenAI-compatible server (vLLM, Ollama, ...) is
# looked up by the model name alone.
PROVIDER_IDS = {"anthropic": "anthropic"}
MAX_UNKNOWN_LOGGED = 100


class CatalogPrices:
    def __init__(self, overrides: FixedPrices | None = None) -> None:
        self._overrides = overrides or FixedPrices({})
        self._unknown: set[tuple[str | None, str]] = set()

    def cost(self, model: str, input_tokens: int, output_tokens: int, *, provider: str | None = None) -> float:
        if self._overrides.per_million(model) is not None:
            return self._overrides.cost(model, input_tokens, output_tokens)
        if provider == SIMULATED or model.startswith(SIMULATED) or (input_tokens == 0 and output_tokens == 0):
            return 0.0
        if (provider, model) in self._unknown:
            return 0.0
        try:
            calculation = calc_price(
                Usage(input_tokens=input_tokens, output_tokens=output_tokens),
                model,
                provider_id=PROVIDER_IDS.get(provider or ""),
                genai_request_timestamp=datetime.now(UTC),
            )
        except LookupError:
            if len(self._unknown) < MAX_UNKNOWN_LOGGED:
                self._unknown.add((provider, model))
                log.warning(
                    "no price known for model %r (provider %s): its calls are counted at 0 USD; "
                    "give it one in ASK_PANEL_MODEL_PRICES",
                    model,
                    provider or "unknown",
                )
            return 0.0
        return float(calculation.total_price)
