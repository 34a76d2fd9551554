"""LLM adapter for the Anthropic Messages API, streamed over SSE.

JSON is asked for in `output_mode`: `prompt` (the default, every model) appends the schema to the
system prompt and reads the answer's text; `json_schema` offers the schema as the input of one tool
and forces the model to call it (tool use, `tool_choice`), streaming the tool's input JSON as the
answer; Anthropic has no `json_object` format, so that mode is `prompt` too.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx2

from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import ChatMessage, JsonSchema, OutputMode, StreamEnd, StreamPart, TextDelta, TokenUsage
from ask_panel.infrastructure.llm.provider_http import (
    decode_event,
    estimate_tokens,
    format_name,
    open_event_stream,
    token_count,
)

ANTHROPIC_VERSION = "2023-06-01"
_RETRYABLE_STREAM_ERRORS = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})


def json_instruction(schema: JsonSchema) -> str:
    """The system-prompt addition that stands in for OpenAI's `response_format` on Anthropic."""
    return (
        "Answer only with a JSON object that follows this JSON schema, "
        "with no other text before or after it:\n" + json.dumps(schema)
    )


class AnthropicProvider:
    """Streams answers from Anthropic's `/v1/messages`; system messages go into the top-level `system`."""

    def __init__(
        self,
        *,
        api_key: str | None,
        default_model: str,
        base_url: str = "https://api.anthropic.com",
        max_tokens: int = 1024,
        timeout_s: float = 120.0,
        client: httpx2.AsyncClient | None = None,
        name: str = "anthropic",
        output_mode: OutputMode = "prompt",
    ) -> None:
        self.name = name
        self.default_model = default_model
        self.max_tokens = max_tokens
        self.output_mode: OutputMode = output_mode
        self._url = base_url.rstrip("/") + "/v1/messages"
        self._headers = {"anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            self._headers["x-api-key"] = api_key
        self._owns_client = client is None
        self._client = client if client is not None else httpx2.AsyncClient(timeout=httpx2.Timeout(timeout_s))

    async def aclose(self) -> None:
        """Close the HTTP client, unless it was handed in by the caller (who then closes it)."""
        if self._owns_client:
            await self._client.aclose()

    def _body(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None,
        output_mode: OutputMode | None = None,
    ) -> dict[str, Any]:
        system_parts = [m.content for m in messages if m.role == "system"]
        use_tool = json_schema is not None and (output_mode or self.output_mode) == "json_schema"
        if json_schema is not None and not use_tool:
            system_parts.append(json_instruction(json_schema))
        body: dict[str, Any] = {
            "model": model or self.default_model,
            "max_tokens": self.max_tokens,
            "stream": True,
            "messages": [{"role": m.role, "content": m.content} for m in messages if m.role != "system"],
        }
        if system_parts:
            body["system"] = "\n\n".join(system_parts)
        if temperature is not None:
            body["temperature"] = temperature
        if use_tool and json_schema is not None:
            tool = format_name(json_schema)
            body["tools"] = [
                {"name": tool, "description": "Give your answer through this tool.", "input_schema": json_schema}
            ]
            body["tool_choice"] = {"type": "tool", "name": tool}
        return body

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None = None,
        output_mode: OutputMode | None = None,
    ) -> AsyncIterator[StreamPart]:
        body = self._body(
            messages, model=model, temperature=temperature, json_schema=json_schema, output_mode=output_mode
        )
        reported_model: str = body["model"]
        input_tokens: int | None = None
        output_tokens: int | None = None
        answer: list[str] = []
        finished = False
        async with open_event_stream(self._client, self.name, self._url, body=body, headers=self._headers) as source:
            async for event in source:
                if not event.data.strip():
                    continue
                payload = decode_event(self.name, event.data)
                kind = payload.get("type", event.event)
                if kind == "message_start":
                    message = payload.get("message")
                    message = message if isinstance(message, dict) else {}
                    if isinstance(message.get("model"), str) and message["model"]:
                        reported_model = message["model"]
                    usage = message.get("usage")
                    usage = usage if isinstance(usage, dict) else {}
                    input_tokens = _count(usage, "input_tokens", input_tokens)
                    output_tokens = _count(usage, "output_tokens", output_tokens)
                elif kind == "content_block_delta":
                    delta = payload.get("delta")
                    delta = delta if isinstance(delta, dict) else {}
                    kind_of_delta = delta.get("type")
                    # the answer is text, or the forced tool's input JSON; thinking deltas are not
                    text = delta.get("text") if kind_of_delta == "text_delta" else delta.get("partial_json")
                    if kind_of_delta in ("text_delta", "input_json_delta") and isinstance(text, str) and text:
                        answer.append(text)
                        yield TextDelta(text)
                elif kind == "message_delta":
                    usage = payload.get("usage")
                    usage = usage if isinstance(usage, dict) else {}
                    input_tokens = _count(usage, "input_tokens", input_tokens)
                    output_tokens = _count(usage, "output_tokens", output_tokens)
                elif kind == "message_stop":
                    finished = True
                    break
                elif kind == "error":
                    raise _stream_error(self.name, payload)
        if not finished:
            raise ProviderError(f"{self.name}: the stream ended before message_stop", retryable=True)
        if input_tokens is None:
            input_tokens = estimate_tokens(str(body.get("system", "")) + _joined(messages))
        if output_tokens is None:
            output_tokens = estimate_tokens("".join(answer))
        yield StreamEnd(model=reported_model, usage=TokenUsage(input_tokens, output_tokens))


def _count(usage: dict[str, Any], key: str, current: int | None) -> int | None:
    """The token count `usage` reports under `key` (Anthropic's counts are cumulative), else `current`."""
    value = usage.get(key)
    return token_count(value) if isinstance(value, int) and not isinstance(value, bool) else current


def _joined(messages: Sequence[ChatMessage]) -> str:
    return "".join(m.content for m in messages if m.role != "system")


def _stream_error(provider: str, payload: dict[str, Any]) -> ProviderError:
    """An `error` event sent mid-stream (e.g. `overloaded_error`) as a ProviderError."""
    error = payload.get("error") or {}
    error_type = str(error.get("type", "error"))
    message = str(error.get("message", ""))
    return ProviderError(
        f"{provider}: {error_type} in stream: {message}", retryable=error_type in _RETRYABLE_STREAM_ERRORS
    )
