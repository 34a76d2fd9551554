"""What the LLM adapters send, and how they read usage and failures, checked with an in-memory transport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx2
import pytest

from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import ChatMessage, StreamEnd, StreamPart, TextDelta, TokenUsage
from ask_panel.infrastructure.llm.anthropic import AnthropicProvider, json_instruction
from ask_panel.infrastructure.llm.openai_compat import OpenAICompatibleProvider
from ask_panel.infrastructure.llm.provider_http import parse_retry_after

Provider = OpenAICompatibleProvider | AnthropicProvider
Handler = Callable[[httpx2.Request], httpx2.Response]
SCHEMA = {"title": "Verdict", "type": "object", "properties": {"verdict": {"type": "string"}}}
MESSAGES = [ChatMessage("system", "Be brief."), ChatMessage("user", "Ship it?")]
OPENAI_SSE = (
    'data: {"model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}\n\n'
    'data: {"model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "delta": {"content": "Yes"}}]}\n\n'
    'data: {"model": "gpt-4o-2024-08-06", "choices": [{"index": 0, "delta": {"content": ", ship."}}]}\n\n'
    'data: {"model": "gpt-4o-2024-08-06", "choices": [], '
    '"usage": {"prompt_tokens": 21, "completion_tokens": 3}}\n\n'
    "data: [DONE]\n\n"
)
ANTHROPIC_SSE = (
    "event: message_start\n"
    'data: {"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 9}}}\n\n'
    "event: error\n"
    'data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'
)

ANTHROPIC_OK = (
    "event: message_start\n"
    'data: {"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 9}}}\n\n'
    "event: content_block_delta\n"
    'data: {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Yes."}}\n\n'
    "event: message_stop\n"
    'data: {"type": "message_stop"}\n\n'
)


def _sse(body: str) -> httpx2.Response:
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())


def _make(kind: str, handler: Handler) -> tuple[Provider, httpx2.AsyncClient]:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    provider: Provider
    if kind == "openai":
        provider = OpenAICompatibleProvider(
            base_url="http://llm.test/v1", api_key="sk-1", default_model="gpt-4o", client=client
        )
    else:
        provider = AnthropicProvider(
            base_url="http://llm.test", api_key="sk-ant-1", default_model="claude-x", client=client
        )
    return provider, client


async def _run(provider: Provider, **kwargs: Any) -> list[StreamPart]:
    stream: AsyncIterator[StreamPart] = provider.stream(
        MESSAGES, model=kwargs.pop("model", None), temperature=kwargs.pop("temperature", None), **kwargs
    )
    return [part async for part in stream]


async def _sent_request(kind: str, **kwargs: Any) -> httpx2.Request:
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return _sse(OPENAI_SSE if kind == "openai" else ANTHROPIC_OK)

    provider, client = _make(kind, handler)
    async with client:
        await _run(provider, **kwargs)
    return sent[0]


async def test_openai_requests_stream_with_usage_and_omit_an_unset_temperature() -> None:
    request = await _sent_request("openai")

    body = json.loads(request.content)
    assert request.method == "POST"
    assert str(request.url) == "http://llm.test/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-1"
    assert body == {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Ship it?"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 2048,
    }


async def test_openai_json_schema_becomes_a_named_response_format() -> None:
    request = await _sent_request("openai", model="gpt-4o-mini", temperature=0.4, json_schema=SCHEMA)

    body = json.loads(request.content)
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0.4
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Verdict", "schema": SCHEMA},
    }


async def test_openai_response_format_is_named_response_when_the_schema_has_no_title() -> None:
    request = await _sent_request("openai", json_schema={"type": "object"})

    assert json.loads(request.content)["response_format"]["json_schema"]["name"] == "response"


async def test_anthropic_requests_carry_version_key_max_tokens_and_a_top_level_system() -> None:
    request = await _sent_request("anthropic", temperature=0.7)

    body = json.loads(request.content)
    assert str(request.url) == "http://llm.test/v1/messages"
    assert request.headers["x-api-key"] == "sk-ant-1"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert body == {
        "model": "claude-x",
        "max_tokens": 1024,
        "stream": True,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Ship it?"}],
        "temperature": 0.7,
    }


async def test_anthropic_json_schema_is_an_instruction_appended_to_the_system_prompt() -> None:
    request = await _sent_request("anthropic", json_schema=SCHEMA)

    system = json.loads(request.content)["system"]
    assert system == "Be brief.\n\n" + json_instruction(SCHEMA)
    assert json.dumps(SCHEMA) in system
    assert "only with a JSON object" in system


async def test_openai_usage_reported_by_the_server_is_used_as_is() -> None:
    provider, client = _make("openai", lambda request: _sse(OPENAI_SSE))
    async with client:
        parts = await _run(provider)

    assert parts == [
        TextDelta("Yes"),
        TextDelta(", ship."),
        StreamEnd("gpt-4o-2024-08-06", TokenUsage(21, 3)),
    ]


async def test_an_anthropic_overload_during_the_stream_is_a_retryable_provider_error() -> None:
    provider, client = _make("anthropic", lambda request: _sse(ANTHROPIC_SSE))
    async with client:
        with pytest.raises(ProviderError, match="Overloaded") as raised:
            await _run(provider)

    assert raised.value.retryable is True


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize(
    ("status", "headers", "retryable", "retry_after"),
    [
        (429, {"retry-after": "7"}, True, 7.0),
        (429, {}, True, None),
        (503, {"retry-after": "1.5"}, True, 1.5),
        (500, {}, True, None),
        (400, {"retry-after": "7"}, False, None),
        (401, {}, False, None),
        (404, {}, False, None),
    ],
)
async def test_http_statuses_map_to_provider_errors(
    kind: str, status: int, headers: dict[str, str], retryable: bool, retry_after: float | None
) -> None:
    error = {"error": {"type": "mock_error", "message": "computer says no"}}
    provider, client = _make(kind, lambda request: httpx2.Response(status, headers=headers, json=error))
    async with client:
        with pytest.raises(ProviderError) as raised:
            await _run(provider)

    assert raised.value.retryable is retryable
    assert raised.value.retry_after == retry_after
    assert f"HTTP {status}" in raised.value.detail
    assert "computer says no" in raised.value.detail


async def test_a_retry_after_http_date_becomes_seconds_from_now() -> None:
    later = datetime.now(UTC) + timedelta(seconds=30)
    headers = {"retry-after": format_datetime(later, usegmt=True)}
    provider, client = _make("openai", lambda request: httpx2.Response(429, headers=headers))
    async with client:
        with pytest.raises(ProviderError) as raised:
            await _run(provider)

    assert raised.value.retry_after is not None
    assert 25 <= raised.value.retry_after <= 30


def test_retry_after_in_the_past_or_unreadable_is_zero_or_absent() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Wed, 31 Dec 2025 23:59:00 GMT", now=now) == 0.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now=now) == 60.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_timeout_is_a_retryable_provider_error(kind: str) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout("no answer", request=request)

    provider, client = _make(kind, handler)
    async with client:
        with pytest.raises(ProviderError, match="timed out") as raised:
            await _run(provider)

    assert raised.value.retryable is True


async def test_a_provider_closes_only_the_client_it_created() -> None:
    owned = OpenAICompatibleProvider(base_url="http://llm.test/v1", api_key=None, default_model="m")
    given, client = _make("anthropic", lambda request: _sse(ANTHROPIC_OK))
    await owned.aclose()
    await given.aclose()

    assert owned._client.is_closed
    assert not client.is_closed
    await client.aclose()


@pytest.mark.parametrize(
    ("kind", "cut"),
    [("openai", OPENAI_SSE.split("data: [DONE]")[0].replace('"usage"', '"x"')), ("anthropic", ANTHROPIC_OK[:250])],
)
async def test_a_stream_cut_before_its_end_marker_is_a_retryable_error(kind: str, cut: str) -> None:
    provider, client = _make(kind, lambda request: _sse(cut))
    try:
        with pytest.raises(ProviderError) as error:
            await _run(provider)
        assert error.value.retryable and "ended before" in error.value.detail
    finally:
        await client.aclose()


async def test_malformed_usage_and_deltas_are_ignored_not_crashes() -> None:
    odd = (
        'data: {"model": "m", "choices": [{"delta": "not-an-object"}]}\n\n'
        'data: {"model": "m", "choices": [{"delta": {"content": "ok"}, "finish_reason": "stop"}], '
        '"usage": {"prompt_tokens": "many", "completion_tokens": 18446744073709551616}}\n\n'
    )
    provider, client = _make("openai", lambda request: _sse(odd))
    try:
        parts = await _run(provider)
    finally:
        await client.aclose()
    end = parts[-1]
    assert isinstance(end, StreamEnd) and end.usage.input_tokens == 0 and end.usage.output_tokens == 0


# ---- output modes, token limits, reasoning ---------------------------------------------------------

STANCE_SCHEMA = {
    "title": "stance",
    "type": "object",
    "properties": {
        "position": {"type": "string", "enum": ["A", "B"]},
        "ranking": {"type": "array", "items": {"type": "string"}, "minItems": 2, "uniqueItems": True},
        "note": {"type": "string", "maxLength": 120},
    },
    "required": ["position", "ranking", "note"],
    "additionalProperties": False,
}


async def _openai_body(base_url: str = "http://llm.test/v1", call: dict[str, Any] | None = None, **options: Any) -> Any:
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return _sse(OPENAI_SSE)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    provider = OpenAICompatibleProvider(base_url=base_url, api_key=None, default_model="m", client=client, **options)
    async with client:
        await _run(provider, **(call or {}))
    return json.loads(sent[0].content)


async def test_openai_itself_gets_max_completion_tokens_and_a_strict_schema_fitted_to_strict_mode() -> None:
    body = await _openai_body("https://api.openai.com/v1", {"json_schema": STANCE_SCHEMA}, max_tokens=900)

    assert body["max_completion_tokens"] == 900 and "max_tokens" not in body
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "stance" and fmt["json_schema"]["strict"] is True
    sent = fmt["json_schema"]["schema"]
    assert "uniqueItems" not in sent["properties"]["ranking"] and "maxLength" not in sent["properties"]["note"]
    assert sent["properties"]["ranking"]["minItems"] == 2
    assert sent["required"] == ["position", "ranking", "note"] and sent["additionalProperties"] is False


async def test_a_compatible_server_gets_max_tokens_and_the_schema_as_it_is_without_strict() -> None:
    body = await _openai_body("http://127.0.0.1:11434/v1", {"json_schema": STANCE_SCHEMA}, max_tokens=700)

    assert body["max_tokens"] == 700 and "max_completion_tokens" not in body
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "stance", "schema": STANCE_SCHEMA},
    }


async def test_a_schema_with_an_optional_property_is_never_sent_as_strict() -> None:
    optional = {**STANCE_SCHEMA, "required": ["position"]}

    body = await _openai_body("https://api.openai.com/v1", {"json_schema": optional}, strict_schemas=True)

    assert "strict" not in body["response_format"]["json_schema"]


async def test_the_token_limit_field_can_be_chosen_for_servers_that_want_the_other_one() -> None:
    body = await _openai_body("http://127.0.0.1:8000/v1", max_tokens_field="max_completion_tokens")

    assert body["max_completion_tokens"] == 2048


@pytest.mark.parametrize(
    ("provider_mode", "call_mode", "expected"),
    [
        ("json_object", None, {"type": "json_object"}),
        ("prompt", None, None),
        ("prompt", "json_object", {"type": "json_object"}),
        ("json_schema", "prompt", None),
    ],
)
async def test_the_output_mode_decides_the_response_format_and_a_call_may_override_the_provider(
    provider_mode: str, call_mode: str | None, expected: dict[str, str] | None
) -> None:
    body = await _openai_body(call={"json_schema": SCHEMA, "output_mode": call_mode}, output_mode=provider_mode)

    assert body.get("response_format") == expected


async def test_openai_reasoning_deltas_are_not_part_of_the_answer() -> None:
    reasoning = (
        'data: {"model": "r1", "choices": [{"delta": {"reasoning_content": "Let me think"}}]}\n\n'
        'data: {"model": "r1", "choices": [{"delta": {"reasoning": "about it", "content": null}}]}\n\n'
        'data: {"model": "r1", "choices": [{"delta": {"content": "Ship it."}, "finish_reason": "stop"}]}\n\n'
        "data: [DONE]\n\n"
    )
    provider, client = _make("openai", lambda request: _sse(reasoning))
    async with client:
        parts = await _run(provider)

    assert [p.text for p in parts if isinstance(p, TextDelta)] == ["Ship it."]


ANTHROPIC_TOOL = (
    "event: message_start\n"
    'data: {"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 9}}}\n\n'
    "event: content_block_start\n"
    'data: {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "name": "Verdict"}}\n\n'
    "event: content_block_delta\n"
    'data: {"type": "content_block_delta", "delta": {"type": "input_json_delta", "partial_json": "{\\"verdict\\""}}\n\n'
    "event: content_block_delta\n"
    'data: {"type": "content_block_delta", "delta": {"type": "input_json_delta", "partial_json": ": \\"ship\\"}"}}\n\n'
    "event: message_stop\n"
    'data: {"type": "message_stop"}\n\n'
)


async def test_anthropic_json_schema_mode_forces_a_tool_whose_input_is_streamed_as_the_answer() -> None:
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return _sse(ANTHROPIC_TOOL)

    provider, client = _make("anthropic", handler)
    async with client:
        parts = await _run(provider, json_schema=SCHEMA, output_mode="json_schema")

    body = json.loads(sent[0].content)
    assert body["tools"] == [
        {"name": "Verdict", "description": "Give your answer through this tool.", "input_schema": SCHEMA}
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "Verdict"}
    assert body["system"] == "Be brief.", "no JSON instruction: the tool carries the schema"
    assert "".join(p.text for p in parts if isinstance(p, TextDelta)) == '{"verdict": "ship"}'


async def test_anthropic_json_object_mode_is_the_prompt_mode() -> None:
    request = await _sent_request("anthropic", json_schema=SCHEMA, output_mode="json_object")

    body = json.loads(request.content)
    assert "tools" not in body and body["system"].endswith(json_instruction(SCHEMA))
