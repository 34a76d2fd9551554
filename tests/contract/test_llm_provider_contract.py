"""Every LLM provider honours the one interface: text deltas, then exactly one StreamEnd, and usage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from ask_panel.application.ports import LLMProvider
from ask_panel.domain.llm import ChatMessage, StreamEnd, TextDelta
from ask_panel.infrastructure.llm.anthropic import AnthropicProvider
from ask_panel.infrastructure.llm.openai_compat import OpenAICompatibleProvider
from ask_panel.infrastructure.llm.resilient import ResilientProvider
from ask_panel.infrastructure.llm.simulated import SimulatedProvider
from tests.scripted import ScriptedProvider

QUESTION = [ChatMessage("system", "You are a concise expert."), ChatMessage("user", "Tell me about the fox.")]

Factory = Callable[[str], LLMProvider]
FACTORIES: dict[str, Factory] = {
    "simulated": lambda _url: SimulatedProvider(token_delay_ms=0),
    "resilient(simulated)": lambda _url: ResilientProvider(SimulatedProvider(token_delay_ms=0)),
    "scripted": lambda _url: ScriptedProvider(),
    "openai": lambda url: OpenAICompatibleProvider(base_url=f"{url}/v1", api_key="k", default_model="gpt-4o"),
    "anthropic": lambda url: AnthropicProvider(base_url=url, api_key="k", default_model="claude-sonnet-4-5"),
}


@pytest.fixture(params=list(FACTORIES))
async def provider(request: pytest.FixtureRequest, fakellm_url: str) -> AsyncIterator[LLMProvider]:
    provider = FACTORIES[request.param](fakellm_url)
    yield provider
    close = getattr(getattr(provider, "inner", provider), "aclose", None)
    if close is not None:
        await close()


async def test_a_stream_is_text_deltas_then_exactly_one_end_with_usage(provider: LLMProvider) -> None:
    parts = [p async for p in provider.stream(QUESTION, model=None, temperature=0.2)]
    assert isinstance(parts[-1], StreamEnd)
    assert sum(isinstance(p, StreamEnd) for p in parts) == 1
    deltas = [p for p in parts if isinstance(p, TextDelta)]
    assert deltas and "".join(d.text for d in deltas).strip()
    end = parts[-1]
    assert end.model and end.usage.input_tokens > 0 and end.usage.output_tokens > 0


async def test_a_provider_has_a_name(provider: LLMProvider) -> None:
    assert isinstance(provider.name, str) and provider.name


async def test_a_stream_can_be_abandoned_and_the_provider_used_again(provider: LLMProvider) -> None:
    stream = provider.stream(QUESTION, model=None, temperature=None)
    first = await anext(aiter(stream))
    assert isinstance(first, TextDelta)
    await stream.aclose()  # type: ignore[attr-defined]
    again = [p async for p in provider.stream(QUESTION, model=None, temperature=None)]
    assert isinstance(again[-1], StreamEnd)
