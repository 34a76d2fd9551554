"""PanelDiscussion: the Discussion a strategy drives, backed by providers and checkpointed storage.

Each step (a turn, a decision, a round marker) has a key. A completed step is committed with its
events in one transaction, fenced by the run's attempt; when a panel is resumed, a step whose key is
already in the checkpoint is returned from it instead of being done again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ask_panel.application.ports import CheckpointStore, EventPublisher, ProviderRegistry, UnitOfWorkFactory
from ask_panel.application.pricing import PriceTable
from ask_panel.application.tokens import TokenBatcher
from ask_panel.domain.errors import DomainError, InvalidInput, ProviderError
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.experts import Expert
from ask_panel.domain.llm import ChatMessage, JsonSchema, StreamEnd, TextDelta
from ask_panel.domain.panel import Consensus, Message, Panel, Stance, utcnow
from ask_panel.domain.strategies.base import Speaker, StanceRequest

log = logging.getLogger(__name__)

# What a model's malformed JSON can raise in validation (wrong types included): the answer is
# unreadable, to be asked again, never a crash of the panel.
UNREADABLE = (DomainError, TypeError, ValueError, KeyError, AttributeError)
DECISION_ATTEMPTS = 3
STANCE_ATTEMPTS = 2
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer (tolerating code fences and text around it)."""
    cleaned = _FENCE.sub("", text.strip())
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start < 0 or end < start:
        raise InvalidInput("no JSON object in the answer")
    try:
        value = json.loads(cleaned[start : end + 1])
    except ValueError as exc:
        raise InvalidInput(f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidInput("the JSON answer is not an object")
    return value


class UnitOfWorkCheckpoints:
    """A checkpoint per transaction, through the unit of work (the default CheckpointStore)."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    async def write(self, panel: Panel) -> list[StoredEvent]:
        async with self._uow(panel.tenant_id, write=True) as uow:
            stored = await uow.panels.save(panel)
            await uow.commit()
        return stored


class PanelDiscussion:
    def __init__(
        self,
        panel: Panel,
        *,
        experts: Mapping[str, Expert],
        checkpoints: CheckpointStore,
        publisher: EventPublisher,
        providers: ProviderRegistry,
        prices: PriceTable,
        default_model: str | None = None,
    ) -> None:
        self._panel = panel
        self._experts = experts
        self._checkpoints = checkpoints
        self._publisher = publisher
        self._providers = providers
        self._prices = prices
        self._default_model = default_model
        self._lock = asyncio.Lock()
        self._messages = {m.key: m for r in panel.discussions for m in r.messages}
        panel.steps.setdefault("decisions", {})
        panel.steps.setdefault("markers", [])
        panel.steps.setdefault("failures", {})
        self._markers: set[str] = set(panel.steps["markers"])

    @property
    def panel(self) -> Panel:
        return self._panel

    def speaker(self, agent_id: str) -> Speaker:
        return Speaker.of(self._experts[agent_id])

    # ---- checkpointing ---------------------------------------------------------------------------
    async def commit(self, apply: Callable[[], None] | None = None) -> None:
        """Apply a change, write the panel and its pending events (one transaction), wake subscribers.

        Concurrent turns of one panel commit one at a time: the change is applied under the lock, so
        a commit never carries half of another turn.
        """
        async with self._lock:
            if apply is not None:
                apply()
            stored = await self._checkpoints.write(self._panel)
            if stored:
                await self._publisher.publish(self._panel.panel_id, stored)

    async def _marker(self, key: str, apply: Callable[[], None]) -> None:
        if key in self._markers:
            return

        def mark() -> None:
            apply()
            self._markers.add(key)
            self._panel.steps["markers"].append(key)

        await self.commit(mark)

    async def begin_round(self, number: int) -> None:
        await self._marker(f"round:{number}:start", lambda: self._panel.begin_round(number))

    async def end_round(self, number: int, consensus: Consensus | None, feedback: dict[str, Any] | None = None) -> None:
        await self._marker(f"round:{number}:end", lambda: self._panel.complete_round(number, consensus, feedback))

    # ---- model calls -----------------------------------------------------------------------------
    def _model_for(self, speaker: Speaker) -> str | None:
        return speaker.model or self._panel.configuration.model or self._default_model

    async def _call(
        self,
        speaker: Speaker,
        prompt: Sequence[ChatMessage],
        *,
        json_schema: JsonSchema | None = None,
        token_round: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        provider = self._providers.get(speaker.provider)
        batcher: TokenBatcher | None = None
        if token_round is not None and self._publisher.wants_tokens(self._panel.panel_id):
            panel_id = self._panel.panel_id
            batcher = TokenBatcher(
                lambda text: self._publisher.publish_tokens(
                    panel_id,
                    {"agent_id": speaker.agent_id, "agent_name": speaker.name, "round": token_round, "delta": text},
                )
            )
        started = time.perf_counter()
        parts: list[str] = []
        end: StreamEnd | None = None
        async for part in provider.stream(
            prompt,
            model=self._model_for(speaker),
            temperature=self._panel.configuration.temperature,
            json_schema=json_schema,
        ):
            if isinstance(part, TextDelta):
                parts.append(part.text)
                if batcher is not None:
                    batcher.add(part.text)
            else:
                end = part
        if batcher is not None:
            batcher.flush()
        latency_ms = round((time.perf_counter() - started) * 1000, 2)
        model = end.model if end else (self._model_for(speaker) or provider.name)
        input_tokens = end.usage.input_tokens if end else 0
        output_tokens = end.usage.output_tokens if end else 0
        self._panel.record_usage(input_tokens, output_tokens, self._prices.cost(model, input_tokens, output_tokens))
        return "".join(parts), {
            "model": model,
            "provider": provider.name,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "latency_ms": latency_ms,
        }

    async def speak(
        self,
        key: str,
        *,
        speaker: Speaker,
        round_number: int,
        prompt: Sequence[ChatMessage],
        stance: StanceRequest | None = None,
    ) -> Message | None:
        if key in self._messages:
            return self._messages[key]
        if key in self._panel.steps["failures"].get(speaker.agent_id, []):
            return None
        try:
            content, metadata = await self._call(speaker, prompt, token_round=round_number)
            if not content.strip():
                raise ProviderError("the model returned an empty answer", retryable=False)
            parsed: Stance | None = None
            if stance is not None:
                parsed, attempts, stance_usage = await self._stance(speaker, prompt, content, stance)
                metadata["stance_attempts"] = attempts
                metadata["input_tokens"] += stance_usage[0]
                metadata["output_tokens"] += stance_usage[1]
        except ProviderError as exc:
            await self._record_failure(key, speaker, round_number, exc)
            return None
        message = Message(
            key=key,
            agent_id=speaker.agent_id,
            agent_name=speaker.name,
            content=content.strip(),
            timestamp=utcnow(),
            round=round_number,
            role=speaker.kind,
            stance=parsed,
            metadata=metadata,
        )
        await self.commit(lambda: self._add(message))
        return message

    def _add(self, message: Message) -> None:
        self._messages[message.key] = message
        self._panel.add_message(message)

    async def _stance(
        self, speaker: Speaker, prompt: Sequence[ChatMessage], content: str, request: StanceRequest
    ) -> tuple[Stance | None, int, tuple[int, int]]:
        ask = [
            *prompt,
            ChatMessage("assistant", content),
            ChatMessage(
                "user",
                "State your stance as a JSON object that follows this JSON schema exactly:\n"
                + json.dumps(request.schema),
            ),
        ]
        used_in = used_out = 0
        for attempt in range(1, STANCE_ATTEMPTS + 1):
            text, meta = await self._call(speaker, ask, json_schema=request.schema)
            used_in += meta["input_tokens"]
            used_out += meta["output_tokens"]
            try:
                return request.parse(parse_json_object(text)), attempt, (used_in, used_out)
            except UNREADABLE as exc:
                log.info("unreadable stance from %s (attempt %d): %s", speaker.agent_id, attempt, exc)
        return None, STANCE_ATTEMPTS, (used_in, used_out)

    async def _record_failure(self, key: str, speaker: Speaker, round_number: int, exc: ProviderError) -> None:
        log.warning("turn %s of panel %s failed: %s", key, self._panel.panel_id, exc.detail)

        def record() -> None:
            if speaker.kind == "expert":
                self._panel.steps["failures"].setdefault(speaker.agent_id, []).append(key)
            self._panel.record_expert_failure(
                speaker.agent_id, f"{speaker.name} could not answer: {exc.detail}", round_number
            )

        await self.commit(record)

    async def decide(
        self,
        key: str,
        *,
        speaker: Speaker,
        prompt: Sequence[ChatMessage],
        schema: JsonSchema,
        parse: Callable[[Mapping[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        decisions: dict[str, Any] = self._panel.steps["decisions"]
        if key in decisions:
            return dict(decisions[key])
        ask = [*prompt, ChatMessage("user", "Follow this JSON schema exactly:\n" + json.dumps(schema))]
        problem = ""
        for _ in range(DECISION_ATTEMPTS):
            text, _meta = await self._call(speaker, ask, json_schema=schema)
            try:
                decision = parse(parse_json_object(text))
            except UNREADABLE as exc:
                problem = str(exc)
                continue
            await self.commit(lambda chosen=decision: decisions.__setitem__(key, chosen))  # type: ignore[misc]
            return decision
        raise ProviderError(f"{speaker.name} gave no valid '{key}' decision: {problem}", retryable=False)

    async def announce(self, key: str, *, speaker: Speaker, round_number: int, content: str) -> Message:
        if key in self._messages:
            return self._messages[key]
        message = Message(key, speaker.agent_id, speaker.name, content, utcnow(), round_number, speaker.kind)
        await self.commit(lambda: self._add(message))
        return message
