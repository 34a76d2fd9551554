"""Model prices: the bundled genai-prices data, under the configured overrides; no network at run time."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from ask_panel.application.pricing import FixedPrices
from ask_panel.infrastructure.llm.prices import CatalogPrices

MILLION = 1_000_000


def test_a_known_model_is_priced_from_the_bundled_data() -> None:
    prices = CatalogPrices()
    # gpt-4o-mini: 0.15 USD per million input tokens, 0.60 per million output tokens.
    assert prices.cost("gpt-4o-mini", MILLION, 0, provider="openai") == pytest.approx(0.15)
    assert prices.cost("gpt-4o-mini", 0, MILLION, provider="openai") == pytest.approx(0.60)
    # Anthropic's models by their provider: claude-sonnet-4-5 costs 3 / 15 USD per million (below 200k input tokens).
    assert prices.cost("claude-sonnet-4-5", 1000, 1000, provider="anthropic") == pytest.approx(0.018)


def test_a_configured_price_wins_and_the_longest_prefix_is_used() -> None:
    prices = CatalogPrices(FixedPrices({"gpt-4o": (1.0, 1.0), "llama3": (0.0, 0.2), "llama3:70b": (0.5, 0.5)}))
    assert prices.cost("gpt-4o-mini", MILLION, MILLION, provider="openai") == pytest.approx(2.0)
    assert prices.cost("llama3:8b", MILLION, MILLION, provider="openai") == pytest.approx(0.2)
    assert prices.cost("llama3:70b-instruct", MILLION, MILLION, provider="openai") == pytest.approx(1.0)


def test_the_simulated_model_costs_nothing_whatever_model_name_it_answers_for() -> None:
    prices = CatalogPrices()
    assert prices.cost("simulated-expert-v1", MILLION, MILLION, provider="simulated") == 0.0
    assert prices.cost("gpt-4o", MILLION, MILLION, provider="simulated") == 0.0


def test_an_unknown_model_costs_nothing_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    prices = CatalogPrices()
    costs = [prices.cost("my-finetune-7b", 100, 100, provider="openai") for _ in range(3)]
    assert costs == [0.0, 0.0, 0.0]
    warnings = [r.getMessage() for r in caplog.records if "no price known" in r.getMessage()]
    assert len(warnings) == 1
    assert "my-finetune-7b" in warnings[0] and "ASK_PANEL_MODEL_PRICES" in warnings[0]


def test_prices_need_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("pricing tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    prices = CatalogPrices()
    assert prices.cost("gpt-5", MILLION, 0, provider="openai") > 0
    assert prices.cost("claude-haiku-4-5", MILLION, 0, provider="anthropic") > 0
