"""LLM adapter for OpenAI-compatible `/chat/completions` servers, streamed over SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import httpx2

from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import ChatMessage, JsonSchema, OutputMode, StreamEnd, StreamPart, TextDelta, TokenUsage
from ask_panel.infrastructure.llm.provider_http import (
    decode_event,
    error_message,
    estimate_tokens,
    format_name,
    open_event_stream,
    token_count,
)
from ask_panel.infrastructure.llm.strict_schema import strict_schema

OPENAI_HOST = "api.openai.com"
MaxTokensField = Literal["max_tokens", "max_completion_tokens"]


def is_openai(base_url: str) -> bool:
    """Whether `base_url` is OpenAI's own API (not a compatible server)."""
    return httpx2.URL(base_url).host == OPENAI_HOST


class OpenAICompatibleProvider:
    """Streams chat completions from OpenAI or any server speaking its API (vLLM, Ollama, llama.cpp, ...).

    JSON is asked for in `output_mode` (`json_schema`, with `strict` when `strict_schemas` and the
    schema fits strict mode; `json_object`; or `prompt`, no `response_format`). Every request
    carries the answer's token limit in `max_tokens_field`. Reasoning deltas (`reasoning_content`,
    `reasoning`) are not part of the answer and are ignored.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        default_model: str,
        timeout_s: float = 120.0,
        client: httpx2.AsyncClient | None = None,
        name: str = "openai",
        output_mode: OutputMode = "json_schema",
        strict_schemas: bool | None = None,
        max_tokens: int = 2048,
        max_tokens_field: MaxTokensField | None = None,
    ) -> None:
        self.name = name
        self.default_model = default_model
        self.output_mode: OutputMode = output_mode
        openai = is_openai(base_url)
        self.strict_schemas = openai if strict_schemas is None else strict_schemas
        self.max_tokens = max_tokens
        self.max_tokens_field: MaxTokensField = max_tokens_field or (
            "max_completion_tokens" if openai else "max_tokens"
        )
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
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
        body: dict[str, Any] = {
            "model": model or self.default_model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
            self.max_tokens_field: self.max_tokens,
        }
        if temperature is not None:
            body["temperature"] = temperature
        if json_schema is not None:
            response_format = self._response_format(json_schema, output_mode or self.output_mode)
            if response_format is not None:
                body["response_format"] = response_format
        return body

    def _response_format(self, schema: JsonSchema, mode: OutputMode) -> dict[str, Any] | None:
        if mode == "json_object":
            return {"type": "json_object"}
        if mode != "json_schema":
            return None
        name = format_name(schema)
        strict = strict_schema(schema) if self.strict_schemas else None
        if strict is not None:
            return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": strict}}
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}

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
        usage: TokenUsage | None = None
        answer: list[str] = []
        finished = False
        async with open_event_stream(self._client, self.name, self._url, body=body, headers=self._headers) as source:
            async for event in source:
                data = event.data.strip()
                if data == "[DONE]":
                    finished = True
                    break
                if not data:
                    continue
                chunk = decode_event(self.name, data)
                if isinstance(chunk.get("error"), dict | str):
                    message = error_message(data)
                    raise ProviderError(f"{self.name}: error in stream: {message}", retryable=True)
                if isinstance(chunk.get("model"), str) and chunk["model"]:
                    reported_model = chunk["model"]
                if isinstance(chunk.get("usage"), dict):
                    usage = TokenUsage(
                        input_tokens=token_count(chunk["usage"].get("prompt_tokens")),
                        output_tokens=token_count(chunk["usage"].get("completion_tokens")),
                    )
                choices = chunk.get("choices")
                if isinstance(choices, list) and choices and isinstance(choices[0], dict):
                    finished = finished or bool(choices[0].get("finish_reason"))
                    delta = choices[0].get("delta")
                    # only `content` is the answer: `reasoning_content` / `reasoning` deltas are not
                    content = delta.get("content") if isinstance(delta, dict) else None
                    if isinstance(content, str) and content:
                        answer.append(content)
                        yield TextDelta(content)
        if not finished:
            raise ProviderError(f"{self.name}: the stream ended before the answer was complete", retryable=True)
        if usage is None:
            usage = TokenUsage(
                input_tokens=estimate_tokens("".join(m.content for m in messages)),
                output_tokens=estimate_tokens("".join(answer)),
            )
        yield StreamEnd(model=reported_model, usage=usage)
