"""The OpenAI-compatible provider against a real fakellm server process."""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import ChatMessage, StreamEnd, StreamPart, TextDelta
from ask_panel.infrastructure.llm.openai_compat import OpenAICompatibleProvider

FOX_ANSWER = "The quick brown fox jumps over the lazy dog"
QUESTION = [
    ChatMessage("system", "You are a concise expert."),
    ChatMessage("user", "Tell me about the fox."),
]


@pytest.fixture
async def provider(fakellm_url: str) -> AsyncIterator[OpenAICompatibleProvider]:
    provider = OpenAICompatibleProvider(base_url=f"{fakellm_url}/v1", api_key="sk-test", default_model="gpt-4o")
    yield provider
    await provider.aclose()


async def _collect(stream: AsyncIterator[StreamPart]) -> list[StreamPart]:
    return [part async for part in stream]


async def test_streamed_deltas_join_into_the_full_answer(provider: OpenAICompatibleProvider) -> None:
    parts = await _collect(provider.stream(QUESTION, model="gpt-4o-mini", temperature=0.2))

    deltas = [part for part in parts if isinstance(part, TextDelta)]
    assert len(deltas) > 1
    assert "".join(delta.text for delta in deltas) == FOX_ANSWER


async def test_the_stream_ends_once_with_the_reported_model_and_token_usage(
    provider: OpenAICompatibleProvider,
) -> None:
    parts = await _collect(provider.stream(QUESTION, model="gpt-4o-mini", temperature=None))

    ends = [part for part in parts if isinstance(part, StreamEnd)]
    assert len(ends) == 1
    assert parts[-1] is ends[0]
    assert ends[0].model == "gpt-4o-mini"
    assert ends[0].usage.input_tokens > 0
    assert ends[0].usage.output_tokens > 0


async def test_without_server_usage_the_tokens_are_estimated_at_four_characters_each(
    provider: OpenAICompatibleProvider,
) -> None:
    parts = await _collect(provider.stream(QUESTION, model=None, temperature=None))

    end = parts[-1]
    assert isinstance(end, StreamEnd)
    prompt_chars = sum(len(message.content) for message in QUESTION)
    assert end.usage.input_tokens == math.ceil(prompt_chars / 4)
    assert end.usage.output_tokens == math.ceil(len(FOX_ANSWER) / 4)


async def test_the_default_model_is_asked_when_no_model_is_given(provider: OpenAICompatibleProvider) -> None:
    parts = await _collect(provider.stream(QUESTION, model=None, temperature=None))

    end = parts[-1]
    assert isinstance(end, StreamEnd)
    assert end.model == "gpt-4o"


async def test_a_json_schema_request_streams_like_any_other(provider: OpenAICompatibleProvider) -> None:
    schema = {"title": "Verdict", "type": "object", "properties": {"verdict": {"type": "string"}}}

    parts = await _collect(provider.stream(QUESTION, model=None, temperature=0.0, json_schema=schema))

    assert "".join(part.text for part in parts if isinstance(part, TextDelta)) == FOX_ANSWER
    assert isinstance(parts[-1], StreamEnd)


async def test_one_provider_serves_consecutive_and_abandoned_streams(
    provider: OpenAICompatibleProvider,
) -> None:
    stream = provider.stream(QUESTION, model=None, temperature=None)
    assert isinstance(stream, AsyncGenerator)
    first = await anext(stream)
    await stream.aclose()

    parts = await _collect(provider.stream(QUESTION, model=None, temperature=None))

    assert isinstance(first, TextDelta)
    assert "".join(part.text for part in parts if isinstance(part, TextDelta)) == FOX_ANSWER


async def test_an_unknown_endpoint_is_a_non_retryable_provider_error(fakellm_url: str) -> None:
    provider = OpenAICompatibleProvider(base_url=f"{fakellm_url}/nowhere", api_key=None, default_model="gpt-4o")
    try:
        with pytest.raises(ProviderError) as raised:
            await _collect(provider.stream(QUESTION, model=None, temperature=None))
    finally:
        await provider.aclose()

    assert raised.value.retryable is False
    assert "404" in raised.value.detail


async def test_a_closed_port_is_a_retryable_provider_error(closed_port_url: str) -> None:
    provider = OpenAICompatibleProvider(base_url=f"{closed_port_url}/v1", api_key=None, default_model="gpt-4o")
    try:
        with pytest.raises(ProviderError) as raised:
            await _collect(provider.stream(QUESTION, model=None, temperature=None))
    finally:
        await provider.aclose()

    assert raised.value.retryable is True
    assert raised.value.retry_after is None
