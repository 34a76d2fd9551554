"""ResilientProvider: timeouts and retries with backoff around any provider, applied once, outside."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Sequence

from ask_panel.application.ports import LLMProvider
from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import ChatMessage, JsonSchema, StreamPart

log = logging.getLogger(__name__)


class ResilientProvider:
    """Retries retryable failures that happen before the first token (honouring Retry-After).

    Each attempt is bounded by `timeout_s`. A failure after text has started to flow is not retried
    here: the caller has already seen part of the answer.
    """

    def __init__(
        self,
        inner: LLMProvider,
        *,
        attempts: int = 4,
        timeout_s: float = 120.0,
        backoff_s: float = 0.5,
        max_backoff_s: float = 20.0,
        jitter: random.Random | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self._attempts = attempts
        self._timeout = timeout_s
        self._backoff = backoff_s
        self._max_backoff = max_backoff_s
        self._jitter = jitter or random.Random()
        self.retries = 0

    def _delay(self, attempt: int, error: ProviderError) -> float:
        if error.retry_after is not None:
            return float(min(self._max_backoff, max(0.0, error.retry_after)))
        base: float = min(self._max_backoff, self._backoff * 2.0 ** (attempt - 1))
        return base * (0.5 + self._jitter.random() / 2)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None = None,
    ) -> AsyncIterator[StreamPart]:
        for attempt in range(1, self._attempts + 1):
            started = False
            try:
                async with asyncio.timeout(self._timeout):
                    async for part in self.inner.stream(
                        messages, model=model, temperature=temperature, json_schema=json_schema
                    ):
                        started = True
                        yield part
                return
            except TimeoutError:
                error = ProviderError(f"no answer within {self._timeout:g} s", retryable=True)
            except ProviderError as exc:
                error = exc
            if started or not error.retryable or attempt == self._attempts:
                raise ProviderError(
                    f"{error.detail} (after {attempt} attempt{'s' if attempt > 1 else ''})",
                    retryable=False,
                ) from error
            self.retries += 1
            delay = self._delay(attempt, error)
            log.info("%s: %s; retry %d in %.2f s", self.name, error.detail, attempt, delay)
            await asyncio.sleep(delay)
