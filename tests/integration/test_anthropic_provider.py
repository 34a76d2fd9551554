"""The Anthropic Messages provider against a real fakellm server process."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator

import pytest

from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import ChatMessage, StreamEnd, StreamPart, TextDelta
from ask_panel.infrastructure.llm.anthropic import AnthropicProvider

FOX_ANSWER = "The quick brown fox jumps over the lazy dog"
MODERATOR_ANSWER = "Moderator speaking: the panel will now begin."
JSON_ANSWER = '{"verdict": "proceed", "confidence": 0.8}'
QUESTION = [ChatMessage("user", "Tell me about the fox.")]


@pytest.fixture
async def provider(fakellm_url: str) -> AsyncIterator[AnthropicProvider]:
    provider = AnthropicProvider(base_url=fakellm_url, api_key="sk-ant-test", default_model="claude-sonnet-4-5")
    yield provider
    await provider.aclose()


async def _collect(stream: AsyncIterator[StreamPart]) -> list[StreamPart]:
    return [part async for part in stream]


def _text(parts: list[StreamPart]) -> str:
    return "".join(part.text for part in parts if isinstance(part, TextDelta))


async def test_streamed_deltas_join_into_the_full_answer(provider: AnthropicProvider) -> None:
    parts = await _collect(provider.stream(QUESTION, model=None, temperature=0.3))

    assert len([part for part in parts if isinstance(part, TextDelta)]) > 1
    assert _text(parts) == FOX_ANSWER


async def test_the_stream_ends_once_with_the_reported_model_and_server_usage(
    provider: AnthropicProvider,
) -> None:
    parts = await _collect(provider.stream(QUESTION, model="claude-haiku-4-5", temperature=None))

    ends = [part for part in parts if isinstance(part, StreamEnd)]
    assert len(ends) == 1
    assert parts[-1] is ends[0]
    assert ends[0].model == "claude-haiku-4-5"
    assert ends[0].usage.input_tokens > 0
    # fakellm reports output tokens in `message_delta` as len(answer) // 4.
    assert ends[0].usage.output_tokens == len(FOX_ANSWER) // 4


async def test_the_default_model_is_asked_when_no_model_is_given(provider: AnthropicProvider) -> None:
    parts = await _collect(provider.stream(QUESTION, model=None, temperature=None))

    end = parts[-1]
    assert isinstance(end, StreamEnd)
    assert end.model == "claude-sonnet-4-5"


async def test_system_messages_reach_the_server_as_the_system_prompt(provider: AnthropicProvider) -> None:
    messages = [ChatMessage("system", "You moderate the expert panel."), ChatMessage("user", "Begin.")]

    parts = await _collect(provider.stream(messages, model=None, temperature=None))

    assert _text(parts) == MODERATOR_ANSWER


async def test_a_json_schema_asks_for_a_json_object_in_the_system_prompt(provider: AnthropicProvider) -> None:
    schema = {"title": "Verdict", "type": "object", "properties": {"verdict": {"type": "string"}}}

    parts = await _collect(provider.stream(QUESTION, model=None, temperature=0.0, json_schema=schema))

    assert json.loads(_text(parts)) == {"verdict": "proceed", "confidence": 0.8}
    assert _text(parts) == JSON_ANSWER


async def test_one_provider_serves_consecutive_and_abandoned_streams(provider: AnthropicProvider) -> None:
    stream = provider.stream(QUESTION, model=None, temperature=None)
    assert isinstance(stream, AsyncGenerator)
    first = await anext(stream)
    await stream.aclose()

    parts = await _collect(provider.stream(QUESTION, model=None, temperature=None))

    assert isinstance(first, TextDelta)
    assert _text(parts) == FOX_ANSWER


async def test_an_unknown_endpoint_is_a_non_retryable_provider_error(fakellm_url: str) -> None:
    provider = AnthropicProvider(base_url=f"{fakellm_url}/nowhere", api_key="k", default_model="claude-sonnet-4-5")
    try:
        with pytest.raises(ProviderError) as raised:
            await _collect(provider.stream(QUESTION, model=None, temperature=None))
    finally:
        await provider.aclose()

    assert raised.value.retryable is False
    assert "404" in raised.value.detail


async def test_a_closed_port_is_a_retryable_provider_error(closed_port_url: str) -> None:
    provider = AnthropicProvider(base_url=closed_port_url, api_key="k", default_model="claude-sonnet-4-5")
    try:
        with pytest.raises(ProviderError) as raised:
            await _collect(provider.stream(QUESTION, model=None, temperature=None))
    finally:
        await provider.aclose()

    assert raised.value.retryable is True


async def test_json_schema_mode_reads_the_forced_tools_streamed_input_as_the_answer(
    provider: AnthropicProvider,
) -> None:
    schema = {
        "title": "verdict",
        "type": "object",
        "properties": {"verdict": {"type": "string"}, "confidence": {"type": "number"}},
    }

    parts = await _collect(
        provider.stream(QUESTION, model=None, temperature=None, json_schema=schema, output_mode="json_schema")
    )

    assert json.loads(_text(parts)) == json.loads(JSON_ANSWER)
    assert isinstance(parts[-1], StreamEnd)
