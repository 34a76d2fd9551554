"""The hosted providers' shared HTTP plumbing: one SSE request, errors as ProviderError, token counts."""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2

from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import JsonSchema

_MAX_DETAIL_CHARS = 300
_FORMAT_NAME = re.compile(r"[^A-Za-z0-9_-]")


def format_name(schema: JsonSchema) -> str:
    """A JSON schema's name as the APIs accept it (letters, digits, `_` and `-`, at most 64)."""
    return _FORMAT_NAME.sub("_", str(schema.get("title") or "response"))[:64] or "response"


def token_count(value: object) -> int:
    """A token count reported by a server, or 0 when it is missing or not a sane integer."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 2**31:
        return 0
    return int(value)


def estimate_tokens(text: str) -> int:
    """A rough token count for when the server reports none: one token per four characters."""
    return math.ceil(len(text) / 4)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header given as seconds or as an HTTP date; None if absent."""
    if not value or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def error_message(body: str) -> str:
    """The `error.message` of an OpenAI or Anthropic error body, else the (shortened) body itself."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return body.strip()[:_MAX_DETAIL_CHARS]


def is_retryable_status(status: int) -> bool:
    """Rate limits, request timeouts and server errors may pass; other statuses will not."""
    return status in (408, 429) or status >= 500


async def error_for_status(provider: str, response: httpx2.Response) -> ProviderError:
    """The ProviderError for a non-2xx response, with `Retry-After` honoured when retrying makes sense."""
    body = (await response.aread()).decode("utf-8", errors="replace")
    status = response.status_code
    message = error_message(body)
    detail = f"{provider}: HTTP {status}" + (f": {message}" if message else "")
    retryable = is_retryable_status(status)
    retry_after = parse_retry_after(response.headers.get("retry-after")) if retryable else None
    return ProviderError(detail, retryable=retryable, retry_after=retry_after)


def decode_event(provider: str, data: str) -> dict[str, Any]:
    """The JSON object carried by one server-sent event."""
    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise ProviderError(f"{provider}: malformed stream event: {data[:80]!r}", retryable=False) from exc
    if not isinstance(payload, dict):
        raise ProviderError(f"{provider}: unexpected stream event: {data[:80]!r}", retryable=False)
    return payload


@asynccontextmanager
async def open_event_stream(
    client: httpx2.AsyncClient, provider: str, url: str, *, body: dict[str, Any], headers: dict[str, str]
) -> AsyncIterator[httpx2.EventSource]:
    """POST `body` and yield its event stream; every HTTP or transport failure becomes a ProviderError."""
    try:
        async with client.sse(url, method="POST", json=body, headers=headers) as source:
            if not source.response.is_success:
                raise await error_for_status(provider, source.response)
            yield source
    except httpx2.SSEError as exc:
        raise ProviderError(f"{provider}: invalid event stream: {exc}", retryable=False) from exc
    except httpx2.TimeoutException as exc:
        raise ProviderError(f"{provider}: timed out: {exc!r}", retryable=True) from exc
    except httpx2.TransportError as exc:
        raise ProviderError(f"{provider}: connection failed: {exc!r}", retryable=True) from exc
