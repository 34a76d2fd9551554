"""PanelDiscussion: the Discussion a strategy drives, backed by providers and checkpointed storage.

Each step (a turn, a decision, a round marker) has a key. A completed step is committed with its
events in one transaction, fenced by the run's attempt; when a panel is resumed, a step whose key is
already in the checkpoint is returned from it instead of being done again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ask_panel.application.ports import CheckpointStore, EventPublisher, ProviderRegistry, UnitOfWorkFactory
from ask_panel.application.pricing import PriceTable
from ask_panel.application.reasoning import ReasoningFilter, strip_reasoning
from ask_panel.application.structured_answers import StructuredAnswer, ask_for_json, json_request
from ask_panel.application.tokens import TokenBatcher
from ask_panel.domain.errors import ProviderError
from ask_panel.domain.events import StoredEvent
from ask_panel.domain.experts import Expert
from ask_panel.domain.llm import ChatMessage, JsonSchema, StreamEnd, StreamRestart, TextDelta
from ask_panel.domain.panel import Consensus, Message, Panel, Stance, utcnow
from ask_panel.domain.strategies.base import Speaker, StanceRequest

log = logging.getLogger(__name__)
T = TypeVar("T")


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
        """One model call: the whole answer (reasoning blocks included) and its metadata.

        Live token deltas, when someone watches them, never show reasoning blocks.
        """
        provider = self._providers.get(speaker.provider)
        batcher: TokenBatcher | None = None
        visible: ReasoningFilter | None = None
        if token_round is not None and self._publisher.wants_tokens(self._panel.panel_id):
            panel_id = self._panel.panel_id
            batcher = TokenBatcher(
                lambda text: self._publisher.publish_tokens(
                    panel_id,
                    {"agent_id": speaker.agent_id, "agent_name": speaker.name, "round": token_round, "delta": text},
                )
            )
            visible = ReasoningFilter()
        started = time.perf_counter()
        parts: list[str] = []
        end: StreamEnd | None = None
        async for part in provider.stream(
            prompt,
            model=self._model_for(speaker),
            temperature=self._panel.configuration.temperature,
            json_schema=json_schema,
            output_mode=speaker.output_mode,
        ):
            if isinstance(part, TextDelta):
                parts.append(part.text)
                shown = visible.feed(part.text) if visible is not None else ""
                if batcher is not None and shown:
                    batcher.add(shown)
            elif isinstance(part, StreamRestart):
                parts.clear()  # the provider retries a cut stream from the start
                visible = ReasoningFilter() if visible is not None else None
            else:
                end = part
        if batcher is not None and visible is not None:
            rest = visible.flush()
            if rest:
                batcher.add(rest)
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

    async def _ask_json(
        self,
        speaker: Speaker,
        prompt: Sequence[ChatMessage],
        schema: JsonSchema,
        parse: Callable[[Mapping[str, Any]], T],
    ) -> tuple[StructuredAnswer[T], tuple[int, int]]:
        """A structured step: the answer read leniently, one repair call; and the tokens it used."""
        used = [0, 0]

        async def ask(messages: Sequence[ChatMessage]) -> str:
            text, meta = await self._call(speaker, messages, json_schema=schema)
            used[0] += meta["input_tokens"]
            used[1] += meta["output_tokens"]
            return text

        answer = await ask_for_json(ask, prompt, schema=schema, parse=parse)
        if answer.outcome != "parsed":
            title = schema.get("title", "JSON")
            log.info("%s answer of %s: %s (%s)", title, speaker.agent_id, answer.outcome, answer.error)
        return answer, (used[0], used[1])

    def _note(self, key: str, answer: StructuredAnswer[Any]) -> None:
        """Keep in the checkpoint how a structured step was obtained (parsed, repaired or failed)."""
        self._panel.steps.setdefault("answers", {})[key] = answer.record()

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
            answer, metadata = await self._call(speaker, prompt, token_round=round_number)
            content = strip_reasoning(answer)
            if not content:
                raise ProviderError("the model returned an empty answer", retryable=False)
            stance_answer: StructuredAnswer[Stance] | None = None
            if stance is not None:
                stance_answer, stance_usage = await self._stance(speaker, prompt, content, stance)
                metadata["stance_attempts"] = stance_answer.calls
                metadata["stance_outcome"] = stance_answer.outcome
                metadata["input_tokens"] += stance_usage[0]
                metadata["output_tokens"] += stance_usage[1]
        except ProviderError as exc:
            await self._record_failure(key, speaker, round_number, exc)
            return None
        message = Message(
            key=key,
            agent_id=speaker.agent_id,
            agent_name=speaker.name,
            content=content,
            timestamp=utcnow(),
            round=round_number,
            role=speaker.kind,
            stance=stance_answer.value if stance_answer is not None else None,
            metadata=metadata,
        )

        def add() -> None:
            self._add(message)
            if stance_answer is not None:
                self._note(key, stance_answer)

        await self.commit(add)
        return message

    def _add(self, message: Message) -> None:
        self._messages[message.key] = message
        self._panel.add_message(message)

    async def _stance(
        self, speaker: Speaker, prompt: Sequence[ChatMessage], content: str, request: StanceRequest
    ) -> tuple[StructuredAnswer[Stance], tuple[int, int]]:
        ask = [
            *prompt,
            ChatMessage("assistant", content),
            ChatMessage("user", json_request(request.schema, "State your stance.")),
        ]
        return await self._ask_json(speaker, ask, request.schema, request.parse)

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
        ask = [*prompt, ChatMessage("user", json_request(schema, "Answer as JSON."))]
        answer, _used = await self._ask_json(speaker, ask, schema, parse)
        decision = answer.value
        if decision is None:
            raise ProviderError(f"{speaker.name} gave no valid '{key}' decision: {answer.error}", retryable=False)

        def record() -> None:
            decisions[key] = decision
            self._note(key, answer)

        await self.commit(record)
        return decision

    async def announce(self, key: str, *, speaker: Speaker, round_number: int, content: str) -> Message:
        if key in self._messages:
            return self._messages[key]
        message = Message(key, speaker.agent_id, speaker.name, content, utcnow(), round_number, speaker.kind)
        await self.commit(lambda: self._add(message))
        return message
