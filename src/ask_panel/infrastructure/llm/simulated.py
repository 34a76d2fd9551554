"""SimulatedProvider: an offline, deterministic, persona-aware language model that streams.

The same seeds and inputs give the same answer: the provider's `seed` and the seed of the panel a
call belongs to (`application/sampling.py`), so panels with different seeds read differently.
Each expert speaks from its own field about the question asked (`simulated_text.py`); JSON
requests are answered with a valid instance of the requested schema filled with sense
(`simulated_decisions.py`); positions drift towards those the transcript already holds, so
consensus moves as in a real discussion. Text streams at `token_delay_ms` per token (a word, or
up to 12 characters of JSON), a few tokens per delta, as hosted models send them. Every answer is
reported as the model `simulated`, so nobody mistakes it for a real model's. Faults (rate limit,
server error, timeout) are injected at `fault_rate`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
from collections.abc import AsyncIterator, Sequence

from ask_panel.application.sampling import panel_seed
from ask_panel.domain.duration import ModelPace
from ask_panel.domain.errors import ProviderError
from ask_panel.domain.llm import ChatMessage, JsonSchema, OutputMode, StreamEnd, StreamPart, TextDelta, TokenUsage
from ask_panel.infrastructure.llm.simulated_context import context_of
from ask_panel.infrastructure.llm.simulated_decisions import Decisions
from ask_panel.infrastructure.llm.simulated_text import debate_turn, delphi_turn, expert_turn, question_turn

MODEL = "simulated"
_JSON_TOKEN = re.compile(r".{1,12}", re.S)
_WORD_TOKEN = re.compile(r"\S+\s*")
_QUESTION_TARGET = re.compile(r"question to ([^(\n]+?) \(")


PROSE_WORDS = 70
"""Words in an expert's turn, on average (each word is one token of `token_delay_ms`)."""
QUESTION_WORDS = 18
"""Words in a moderator's probing question."""
JSON_TOKENS = 16
"""12-character pieces in a stance or a moderator's decision, on average."""
BOOKKEEPING_S = 0.02
"""Per call, what the service adds around the model: prompts, parsing, the checkpoint's commit."""


def simulated_pace(token_delay_ms: float) -> ModelPace:
    """The pace of a SimulatedProvider at this delay, for `estimated_duration`.

    The averages above are measured over panels of every type (`bench/duration_calibration.py`
    checks the estimate against real durations).
    """
    delay = token_delay_ms / 1000
    return ModelPace(PROSE_WORDS * delay, QUESTION_WORDS * delay, JSON_TOKENS * delay, BOOKKEEPING_S)


def approx_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


class SimulatedProvider:
    name = "simulated"

    def __init__(
        self,
        *,
        token_delay_ms: float = 8.0,
        fault_rate: float = 0.0,
        seed: int = 0,
        timeout_delay_ms: float = 50.0,
        tokens_per_delta: int = 3,
    ) -> None:
        self._delay = token_delay_ms / 1000
        self._per_delta = max(1, tokens_per_delta)
        self._fault_rate = fault_rate
        self._seed = seed
        self._faults = random.Random(f"faults:{seed}")
        self._timeout_delay = timeout_delay_ms / 1000
        self.calls = 0

    def _seed_of(self) -> str:
        return f"{self._seed}:{panel_seed.get()}"

    def _rng(self, messages: Sequence[ChatMessage], schema: JsonSchema | None) -> random.Random:
        digest = hashlib.sha256()
        digest.update(f"{self._seed_of()}|{json.dumps(schema, sort_keys=True) if schema else ''}".encode())
        for m in messages:
            digest.update(m.role.encode() + b"\0" + m.content.encode() + b"\0")
        return random.Random(digest.digest())

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str | None,
        temperature: float | None,
        json_schema: JsonSchema | None = None,
        output_mode: OutputMode | None = None,
    ) -> AsyncIterator[StreamPart]:
        self.calls += 1
        await self._maybe_fail()
        text = self.answer(messages, json_schema)
        pattern = _JSON_TOKEN if json_schema is not None else _WORD_TOKEN
        chunks = pattern.findall(text)
        step = self._per_delta
        for start in range(0, len(chunks), step):
            group = chunks[start : start + step]
            if self._delay:
                await asyncio.sleep(self._delay * len(group))
            yield TextDelta("".join(group))
        system = "".join(m.content for m in messages if m.role == "system")
        prompt = "".join(m.content for m in messages if m.role != "system")
        yield StreamEnd(MODEL, TokenUsage(approx_tokens(system + prompt), approx_tokens(text)))

    def answer(self, messages: Sequence[ChatMessage], json_schema: JsonSchema | None) -> str:
        """The whole answer to a request: JSON for a schema, else the speaker's turn."""
        rng = self._rng(messages, json_schema)
        ctx = context_of(messages)
        seed = self._seed_of()
        if json_schema is not None:
            return json.dumps(Decisions(ctx, rng, seed).answer(json_schema))
        target = _QUESTION_TARGET.search(ctx.task) if "probing" in ctx.task else None
        if target is not None:
            return question_turn(ctx, rng, target.group(1).strip(), seed)
        if ctx.side is not None:
            return debate_turn(ctx, rng, seed)
        if ctx.numeric is not None:
            return delphi_turn(ctx, rng, seed)
        return expert_turn(ctx, rng, seed)

    async def _maybe_fail(self) -> None:
        if self._fault_rate <= 0 or self._faults.random() >= self._fault_rate:
            return
        kind = self._faults.choice(("rate_limit", "server_error", "timeout"))
        if kind == "rate_limit":
            raise ProviderError("simulated rate limit (429)", retryable=True, retry_after=0.01)
        if kind == "server_error":
            raise ProviderError("simulated server error (503)", retryable=True)
        await asyncio.sleep(self._timeout_delay)
        raise ProviderError("simulated timeout", retryable=True)
