"""ResilientProvider: timeouts and retries with backoff around any provider, applied once, outside."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Sequence

from ask_panel.application.ports import LLMProvider
from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import ChatMessage, JsonSchema, OutputMode, StreamPart, StreamRestart
from ask_panel.observability import metrics

log = logging.getLogger(__name__)


class ResilientProvider:
    """Retries retryable failures (honouring Retry-After) and bounds the wait for each part of an answer.

    `timeout_s` bounds the silence before the first part and between two parts, not the whole
    answer: a slow model that keeps producing tokens is never cut off. A retryable failure after
    text has started to flow (a stream cut in the middle) is retried too: the caller first gets a
    `StreamRestart` and must forget the text it received from the broken attempt.
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
        self.wrapped = inner
        self.name = inner.name
        self._attempts = attempts
        self._timeout = timeout_s
        self._backoff = backoff_s
        self._max_backoff = max_backoff_s
        self._jitter = jitter or random.Random()
        self.retries = 0
        """Retries made by this provider's calls so far, all calls together: a call that succeeded on its
        third attempt made 2; a refused (not retryable) call, or one cancelled while it waited, made none."""

    async def aclose(self) -> None:
        """Close the wrapped provider's resources (its HTTP client), if it has any."""
        close = getattr(self.wrapped, "aclose", None)
        if close is not None:
            await close()

    def _delay(self, attempt: int, error: ProviderError) -> float:
        if error.retry_after is not None:
            return float(min(self._max_backoff, max(0.0, error.retry_after)))
        base: float = min(self._max_backoff, self._backoff * 2.0 ** (attempt - 1))
        return base * (0.5 + self._jitter.random() / 2)

    async def _paced(self, parts: AsyncIterator[StreamPart]) -> AsyncIterator[StreamPart]:
        """The parts of one attempt; TimeoutError when none comes for `timeout_s`."""
        try:
            while True:
                async with asyncio.timeout(self._timeout):
                    try:
                        part = await anext(parts)
                    except StopAsyncIteration:
                        return
                yield part
        finally:
            close = getattr(parts, "aclose", None)
            if close is not None:
                await close()

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None = None,
        output_mode: OutputMode | None = None,
    ) -> AsyncIterator[StreamPart]:
        for attempt in range(1, self._attempts + 1):
            started = False
            try:
                async for part in self._paced(
                    self.wrapped.stream(
                        messages, model=model, temperature=temperature, json_schema=json_schema, output_mode=output_mode
                    )
                ):
                    started = True
                    yield part
                return
            except TimeoutError:
                error = ProviderError(f"no answer for {self._timeout:g} s", retryable=True)
            except ProviderError as exc:
                error = exc
            if not error.retryable or attempt == self._attempts:
                raise ProviderError(
                    f"{error.detail} (after {attempt} attempt{'s' if attempt > 1 else ''})",
                    retryable=False,
                ) from error
            if started:
                yield StreamRestart(error.detail)
            delay = self._delay(attempt, error)
            log.info("%s: %s; retry %d in %.2f s", self.name, error.detail, attempt, delay)
            await asyncio.sleep(delay)
            # Counted once the retry is made (a call cancelled while it waits has made none).
            self.retries += 1
            metrics.LLM_RETRIES.labels(self.name, metrics.bounded("model", model or "default")).inc()
