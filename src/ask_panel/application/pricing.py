"""Prices: what a model call costs (the port), and FixedPrices, a table of prices given by configuration.

The service's prices come from a maintained source (`infrastructure/llm/prices.py`, the `genai-prices`
data bundled with that package); `FixedPrices` holds the configured ones (`ASK_PANEL_MODEL_PRICES`:
self-hosted models, negotiated rates), which win over it. The simulated model costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

SIMULATED = "simulated"


class Prices(Protocol):
    def cost(self, model: str, input_tokens: int, output_tokens: int, *, provider: str | None = None) -> float:
        """The estimated cost in USD of one call that used these tokens; 0.0 for a model without a price."""
        ...


class FixedPrices:
    """Prices in USD per million tokens (input, output) by model name; the longest matching prefix wins."""

    def __init__(self, prices: Mapping[str, tuple[float, float]]) -> None:
        self._prices = dict(prices)
        self._prefixes = sorted(self._prices, key=len, reverse=True)

    def per_million(self, model: str) -> tuple[float, float] | None:
        """The (input, output) price of `model`, or None when no entry matches."""
        for prefix in self._prefixes:
            if model.startswith(prefix):
                return self._prices[prefix]
        return None

    def cost(self, model: str, input_tokens: int, output_tokens: int, *, provider: str | None = None) -> float:
        price = self.per_million(model)
        if price is None:
            return 0.0
        return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
