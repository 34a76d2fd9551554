"""PanelDiscussion: the Discussion a strategy drives, backed by providers and checkpointed storage.

Each step (a turn, a decision, a round marker) has a key. A completed step is committed with its
events in one transaction, fenced by the run's attempt; when a panel is resumed, a step whose key is
already in the panel's Checkpoint is returned from it instead of being done again.

Budgets (the panel's own, its tenant's through a `TenantMeter`) are checked before each step that
calls a model and before each round. A step refused before round 1 has ended fails the panel
(`BudgetExceeded`); after it, the discussion wraps up instead: no further round begins, turns not
yet begun are not taken, and the panel's last decision (the synthesis, the verdict) takes its
fallback without a model call, listed with the budget that was reached. The stop is kept in the
checkpoint (the `wrap_up` decision) with the next step committed, so a resumed run wraps up where
this one did instead of looking at the budgets again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar

from ask_panel.application.deltas import DeltaBatcher
from ask_panel.application.ports import CheckpointStore, EventPublisher, ProviderRegistry, UnitOfWorkFactory
from ask_panel.application.pricing import Prices
from ask_panel.application.reasoning import ReasoningFilter, strip_reasoning
from ask_panel.application.sampling import sampling_with
from ask_panel.application.structured_answers import StructuredAnswer, ask_for_json, json_request
from ask_panel.application.tenant_meter import TenantMeter
from ask_panel.domain.checkpoint import AnswerNote, Decision, StepKey, StepKind
from ask_panel.domain.errors import BudgetExceeded, ProviderError
from ask_panel.domain.events import ExpertToken, StoredEvent
from ask_panel.domain.experts import Expert
from ask_panel.domain.llm import ChatMessage, JsonSchema, StreamEnd, StreamRestart, TextDelta
from ask_panel.domain.panel import Panel, utcnow
from ask_panel.domain.strategies.port import DecisionFallback, StanceRequest
from ask_panel.domain.strategies.speakers import Speaker
from ask_panel.domain.usage import PanelBudget
from ask_panel.domain.values import Consensus, Message, Stance, Usage

log = logging.getLogger(__name__)
T = TypeVar("T")

WRAP_UP = StepKey.decision("wrap_up")
"""The checkpoint's record of a budget stop: the budget reached (`reached`, `period`) and where (`at`)."""


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
        prices: Prices,
        default_model: str | None = None,
        tenant: TenantMeter | None = None,
    ) -> None:
        self._panel = panel
        self._experts = experts
        self._checkpoints = checkpoints
        self._publisher = publisher
        self._providers = providers
        self._prices = prices
        self._default_model = default_model
        self._lock = asyncio.Lock()
        self._checkpoint = panel.checkpoint
        config = panel.configuration
        self._budget = PanelBudget(config.max_tokens, config.max_cost_usd)
        self._tenant = tenant
        self._calls_under_way = 0  # model calls of steps that have begun (turns run concurrently)
        self._largest_call: Usage | None = None  # this run's largest model call: calls grow with the discussion
        stopped = self._checkpoint.decision(WRAP_UP)  # a resumed run wraps up where its first run did
        self._stopped: BudgetExceeded | None = (
            BudgetExceeded(stopped["reached"], reached=stopped["reached"], period=stopped["period"])
            if stopped is not None
            else None
        )
        self._stopped_at = stopped["at"] if stopped is not None else ""  # for the fallback's reason

    @property
    def panel(self) -> Panel:
        return self._panel

    @property
    def wrapping_up(self) -> bool:
        return self._stopped is not None

    @property
    def budget_stop(self) -> BudgetExceeded | None:
        """The budget that made the discussion wrap up, if one did."""
        return self._stopped

    def speaker(self, agent_id: str) -> Speaker:
        return Speaker.of(self._experts[agent_id])

    # ---- checkpointing ---------------------------------------------------------------------------
    async def commit(self, apply: Callable[[], None] | None = None) -> None:
        """Apply a change, write the panel and its pending events (one transaction), wake subscribers.

        Concurrent turns of one panel commit one at a time: the change is applied under the lock, so
        a commit never carries half of another turn. The first commit after a budget stop carries it.
        """
        async with self._lock:
            if apply is not None:
                apply()
            stop = self._stopped
            if stop is not None and self._checkpoint.decision(WRAP_UP) is None:
                wrap_up = {"reached": stop.reached, "period": stop.period, "at": self._stopped_at}
                self._checkpoint.record_decision(WRAP_UP, wrap_up)
            stored = await self._checkpoints.write(self._panel)
            if stored:
                await self._publisher.publish(self._panel.panel_id, stored)

    async def _marker(self, key: StepKey, apply: Callable[[], None]) -> None:
        if self._checkpoint.passed(key):
            return

        def mark() -> None:
            apply()
            self._checkpoint.mark(key)

        await self.commit(mark)

    async def begin_round(self, number: int, *, calls: int = 0) -> bool:
        if self._checkpoint.passed(StepKey.round_start(number)):
            return True
        await self._read_tenant_spend()
        if self._stopped is not None:
            return False
        if number > 1 and calls:  # a later round must fit in what is left
            try:
                self._check(calls)
            except BudgetExceeded as exc:
                self._stop(exc)
                return False
        elif calls:
            self._check(calls)  # nothing to build on yet: a first round that does not fit fails the panel
        await self._marker(StepKey.round_start(number), lambda: self._panel.begin_round(number))
        return True

    async def end_round(self, number: int, consensus: Consensus | None, feedback: dict[str, Any] | None = None) -> None:
        await self._marker(StepKey.round_end(number), lambda: self._panel.complete_round(number, consensus, feedback))

    async def _read_tenant_spend(self) -> None:
        """Read the tenant's spend again if the last reading is stale (at most every few seconds, `TenantMeter`)."""
        if self._tenant is not None:
            await self._tenant.refresh(self._panel.usage.cost_usd - self._panel.unrecorded_usage.cost_usd)

    def _check(self, calls: int) -> None:
        """BudgetExceeded if `calls` more model calls, with the steps under way, would go past the panel's
        budget (steps under way count as if they had used their share already), or once its tenant's
        spend has reached a budget. No await: checking and reserving the calls are one step for
        concurrent turns.
        """
        if self._budget.capped:
            self._budget.check(
                self._panel.usage,
                self._calls_under_way + calls,
                estimate=self._panel.estimated_usage,
                largest=self._largest_call,
            )
        if self._tenant is not None:
            self._tenant.check(self._panel.usage.cost_usd)

    def _stop(self, exc: BudgetExceeded) -> None:
        if self._stopped is not None:
            return
        begun = [k.round for k in self._checkpoint.markers if k.kind is StepKind.ROUND_START and k.round is not None]
        current = max(begun, default=0)
        ended = self._checkpoint.passed(StepKey.round_end(current))
        self._stopped = exc
        self._stopped_at = f"the discussion {'ended after' if ended else 'stopped in'} round {current}"
        log.info("panel %s wraps up: %s; %s", self._panel.panel_id, exc.reached, self._stopped_at)

    @contextlib.asynccontextmanager
    async def _budgeted(self, calls: int, then: int = 0) -> AsyncIterator[bool]:
        """A step of `calls` model calls: True if it may begin, False once the discussion wraps up.

        `then`: the calls of the step it leads to (a question's answer, a chosen speaker's turn): the
        step is begun only if they fit as well, so no call is paid for whose sequel is never taken.

        Checked only when a step begins, so a run stops at a step boundary: nothing half-done is
        written, and every call it paid for is in its stored usage and the tenant's ledger. Refused
        before round 1 has ended, the step raises BudgetExceeded (the panel fails, having nothing to
        build on); after it, the discussion wraps up.
        """
        if self._stopped is None:
            await self._read_tenant_spend()
        if self._stopped is not None:  # (looked at again: another turn may have stopped it meanwhile)
            yield False
            return
        try:
            self._check(calls + then)
        except BudgetExceeded as exc:
            if not self._checkpoint.passed(StepKey.round_end(1)):
                raise
            self._stop(exc)
            yield False
            return
        self._calls_under_way += calls
        try:
            yield True
        finally:
            self._calls_under_way -= calls

    # ---- model calls -----------------------------------------------------------------------------
    def _model_for(self, speaker: Speaker) -> str | None:
        return speaker.model or self._panel.configuration.model or self._default_model

    async def _call(
        self,
        speaker: Speaker,
        prompt: Sequence[ChatMessage],
        *,
        json_schema: JsonSchema | None = None,
        delta_round: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """One model call: the whole answer (reasoning blocks included) and its metadata.

        Live text deltas, when someone watches them, never show reasoning blocks.
        """
        provider = self._providers.get(speaker.provider)
        batcher: DeltaBatcher | None = None
        visible: ReasoningFilter | None = None
        if delta_round is not None and self._publisher.wants_deltas(self._panel.panel_id):
            panel_id = self._panel.panel_id
            batcher = DeltaBatcher(
                lambda text: self._publisher.publish_delta(
                    panel_id, ExpertToken(speaker.agent_id, speaker.name, delta_round, text)
                )
            )
            visible = ReasoningFilter()
        started = time.perf_counter()
        parts: list[str] = []
        end: StreamEnd | None = None
        with sampling_with(self._panel.configuration.seed):
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
        cost = self._prices.cost(model, input_tokens, output_tokens, provider=provider.name)
        self._panel.record_usage(input_tokens, output_tokens, cost)
        largest = self._largest_call
        if largest is None or input_tokens + output_tokens > largest.input_tokens + largest.output_tokens:
            self._largest_call = Usage(input_tokens, output_tokens, 1, cost)
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
        partial: Callable[[Mapping[str, Any]], T] | None = None,
    ) -> tuple[StructuredAnswer[T], tuple[int, int]]:
        """A structured step: the answer read leniently, one repair call; and the tokens it used."""
        used = [0, 0]

        async def ask(messages: Sequence[ChatMessage]) -> str:
            text, meta = await self._call(speaker, messages, json_schema=schema)
            used[0] += meta["input_tokens"]
            used[1] += meta["output_tokens"]
            return text

        answer = await ask_for_json(ask, prompt, schema=schema, parse=parse, partial=partial)
        if answer.outcome != "parsed":
            title = schema.get("title", "JSON")
            log.info("%s answer of %s: %s (%s)", title, speaker.agent_id, answer.outcome, answer.error)
        return answer, (used[0], used[1])

    def _note(self, key: StepKey, answer: StructuredAnswer[Any], instead: str | None = None) -> None:
        """Keep in the checkpoint how a structured step was obtained (parsed, repaired, partial or failed).

        A step that fell back (partial or failed) also keeps its reason: why the answer was refused,
        and what stood in.
        """
        fallback = None
        if answer.outcome in ("partial", "failed"):
            fallback = f"no readable answer after a repair call ({answer.error}): {instead}"
        self._checkpoint.record_answer(key, AnswerNote(answer.outcome, answer.calls, answer.error, fallback))

    async def speak(
        self,
        key: StepKey,
        *,
        speaker: Speaker,
        round_number: int,
        prompt: Sequence[ChatMessage],
        stance: StanceRequest | None = None,
        then: int = 0,
    ) -> Message | None:
        done = self._checkpoint.message(key)
        if done is not None:
            return done
        if self._checkpoint.failed(speaker.agent_id, key):
            return None
        try:
            async with self._budgeted(2 if stance is not None else 1, then) as admitted:
                if not admitted:
                    return None  # the discussion wraps up: this turn is not taken
                answer, metadata = await self._call(speaker, prompt, delta_round=round_number)
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
            self._panel.add_message(key, message)
            if stance_answer is not None and stance is not None:
                self._note(key, stance_answer, stance.partly if stance_answer.outcome == "partial" else stance.without)

        await self.commit(add)
        return message

    async def _stance(
        self, speaker: Speaker, prompt: Sequence[ChatMessage], content: str, request: StanceRequest
    ) -> tuple[StructuredAnswer[Stance], tuple[int, int]]:
        ask = [
            *prompt,
            ChatMessage("assistant", content),
            ChatMessage("user", json_request(request.schema, "State your stance.")),
        ]
        return await self._ask_json(speaker, ask, request.schema, request.parse, request.partial)

    async def _record_failure(self, key: StepKey, speaker: Speaker, round_number: int, exc: ProviderError) -> None:
        log.warning("turn %s of panel %s failed: %s", key, self._panel.panel_id, exc.detail)

        def record() -> None:
            if speaker.kind == "expert":
                self._checkpoint.record_failure(speaker.agent_id, key)
            self._panel.record_expert_failure(
                speaker.agent_id, f"{speaker.name} could not answer: {exc.detail}", round_number
            )

        await self.commit(record)

    async def decide(
        self,
        key: StepKey,
        *,
        speaker: Speaker,
        prompt: Sequence[ChatMessage],
        schema: JsonSchema,
        parse: Callable[[Mapping[str, Any]], Decision],
        fallback: DecisionFallback,
        then: int = 0,
    ) -> Decision:
        done = self._checkpoint.decision(key)
        if done is not None:
            return done
        ask = [*prompt, ChatMessage("user", json_request(schema, "Answer as JSON."))]
        async with self._budgeted(1, then) as admitted:
            if admitted:
                answer, _used = await self._ask_json(speaker, ask, schema, parse)
        if not admitted:
            return await self._decide_without_model(key, speaker, fallback)
        instead: str | None = None
        if answer.value is not None:
            decision = answer.value
        else:
            fell_back = fallback(answer.answer)
            decision, instead = fell_back.decision, fell_back.instead
            log.warning("step %s of panel %s fell back: %s (%s)", key, self._panel.panel_id, instead, answer.error)

        def record() -> None:
            self._checkpoint.record_decision(key, decision)
            self._note(key, answer, instead)

        await self.commit(record)
        return decision

    async def _decide_without_model(self, key: StepKey, speaker: Speaker, fallback: DecisionFallback) -> Decision:
        """A decision once the discussion wraps up: its fallback, with no model call.

        The panel's own decisions (the synthesis, the verdict) are recorded with the budget that was
        reached and what was skipped. A round's or turn's decision (who speaks next, whom to question)
        only keeps the strategy going to its end: nobody speaks after it, so it is not recorded.
        """
        fell_back = fallback("", skipped=True)
        if key.round is not None or key.turn is not None:
            return fell_back.decision
        stop = self._stopped
        assert stop is not None
        reason = (
            f"{stop.reached}; {self._stopped_at} and the {speaker.name}'s {key.name} was not asked for: "
            f"{fell_back.instead}"
        )
        # A budget the panel or its tenant set, reached: how the run was meant to end, not a fault to warn of.
        log.info("step %s of panel %s was not asked for: %s", key, self._panel.panel_id, reason)

        def record() -> None:
            self._checkpoint.record_decision(key, fell_back.decision)
            self._checkpoint.record_answer(key, AnswerNote("skipped", 0, None, reason))

        await self.commit(record)
        return fell_back.decision

    async def announce(self, key: StepKey, *, speaker: Speaker, round_number: int, content: str) -> Message:
        done = self._checkpoint.message(key)
        if done is not None:
            return done
        message = Message(speaker.agent_id, speaker.name, content, utcnow(), round_number, speaker.kind)
        await self.commit(lambda: self._panel.add_message(key, message))
        return message
