"""Estimated cost of model calls, from a price table in USD per million tokens."""

from __future__ import annotations

from collections.abc import Mapping

# (input, output) USD per 1M tokens; the longest matching prefix wins. Local models cost nothing.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "simulated": (0.0, 0.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-haiku-4": (1.00, 5.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-opus-4": (15.00, 75.00),
}


class PriceTable:
    def __init__(self, prices: Mapping[str, tuple[float, float]] | None = None) -> None:
        self._prices = dict(DEFAULT_PRICES if prices is None else prices)
        self._prefixes = sorted(self._prices, key=len, reverse=True)

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        for prefix in self._prefixes:
            if model.startswith(prefix):
                price_in, price_out = self._prices[prefix]
                return (input_tokens * price_in + output_tokens * price_out) / 1_000_000
        return 0.0
