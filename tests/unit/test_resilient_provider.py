"""ResilientProvider: a wait bounded per part (not per answer), and a stream cut mid-answer retried with a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import (
    ChatMessage,
    JsonSchema,
    OutputMode,
    StreamEnd,
    StreamPart,
    StreamRestart,
    TextDelta,
    TokenUsage,
)
from ask_panel.infrastructure.llm.resilient import ResilientProvider

ASK = [ChatMessage("user", "Ship it?")]


class Paced:
    """Each attempt follows its script: a word per step, a pause (a number of seconds), or an error."""

    name = "paced"

    def __init__(self, *attempts: list[str | float | ProviderError]) -> None:
        self.attempts = list(attempts)
        self.modes: list[OutputMode | None] = []

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None = None,
        output_mode: OutputMode | None = None,
    ) -> AsyncIterator[StreamPart]:
        self.modes.append(output_mode)
        for step in self.attempts.pop(0):
            if isinstance(step, ProviderError):
                raise step
            if isinstance(step, float):
                await asyncio.sleep(step)
            else:
                yield TextDelta(step)
        yield StreamEnd("paced-1", TokenUsage(1, 1))


async def collect(provider: ResilientProvider, mode: OutputMode | None = None) -> list[StreamPart]:
    return [p async for p in provider.stream(ASK, model=None, temperature=None, output_mode=mode)]


async def test_a_slow_answer_that_keeps_coming_is_not_cut_off() -> None:
    words: list[str | float | ProviderError] = []
    for word in ["Ship", " it", " now", "."]:
        words += [0.02, word]
    provider = ResilientProvider(Paced(words), timeout_s=0.05, attempts=1)

    parts = await collect(provider)

    assert "".join(p.text for p in parts if isinstance(p, TextDelta)) == "Ship it now."


async def test_silence_longer_than_the_timeout_is_retried_then_reported() -> None:
    provider = ResilientProvider(Paced(["Ship", 0.5], ["Ship", 0.5]), timeout_s=0.05, attempts=2, backoff_s=0)

    with pytest.raises(ProviderError, match=r"no answer for 0.05 s \(after 2 attempts\)"):
        await collect(provider)


async def test_a_stream_cut_mid_answer_is_retried_after_telling_the_caller_to_restart() -> None:
    cut = ProviderError("openai: the stream ended before the answer was complete", retryable=True)
    provider = ResilientProvider(Paced(["Ship", " it", cut], ["Ship it."]), attempts=2, backoff_s=0)

    parts = await collect(provider, "prompt")

    restart = next(i for i, p in enumerate(parts) if isinstance(p, StreamRestart))
    assert [p.text for p in parts[:restart] if isinstance(p, TextDelta)] == ["Ship", " it"]
    assert [p.text for p in parts[restart:] if isinstance(p, TextDelta)] == ["Ship it."]
    assert isinstance(parts[-1], StreamEnd)
    assert provider.retries == 1


async def test_the_output_mode_reaches_the_wrapped_provider() -> None:
    inner = Paced(["ok"])

    await collect(ResilientProvider(inner), "json_object")

    assert inner.modes == ["json_object"]


async def test_retries_count_the_attempts_made_after_the_first() -> None:
    busy = ProviderError("busy", retryable=True)
    provider = ResilientProvider(Paced([busy], [busy], ["Ship it."]), attempts=4, backoff_s=0)
    await collect(provider)
    assert provider.retries == 2

    refused = ResilientProvider(Paced([ProviderError("bad request", retryable=False)]), attempts=4, backoff_s=0)
    with pytest.raises(ProviderError):
        await collect(refused)
    assert refused.retries == 0

    exhausted = ResilientProvider(Paced([busy], [busy], [busy]), attempts=3, backoff_s=0)
    with pytest.raises(ProviderError, match=r"after 3 attempts"):
        await collect(exhausted)
    assert exhausted.retries == 2


async def test_a_call_cancelled_while_it_waits_to_retry_has_made_no_retry() -> None:
    provider = ResilientProvider(Paced([ProviderError("busy", retryable=True)], ["late"]), attempts=2, backoff_s=30)
    call = asyncio.create_task(collect(provider))
    await asyncio.sleep(0.05)  # the first attempt failed; it is waiting out its backoff
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert provider.retries == 0
