"""The Panel aggregate: a question, its experts, their rounds of discussion, the run's checkpoint and the outcome.

Every change goes through a method that checks the status machine and emits the matching event
payload into `pending_events`; the repository stores them with the panel in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ask_panel.domain.checkpoint import Checkpoint, StepKey
from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.duration import HOSTED_PACE, ModelPace, estimate_duration
from ask_panel.domain.errors import IllegalTransition
from ask_panel.domain.events import (
    ConsensusUpdate,
    ExpertFailed,
    ExpertSpeaking,
    PanelCancelled,
    PanelComplete,
    PanelEvent,
    PanelFailed,
    PanelStarted,
    RoundComplete,
    RoundStarted,
)
from ask_panel.domain.experts import Expert
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.values import Consensus, Member, Message, Recommendation, Round, Usage


def utcnow() -> datetime:
    return datetime.now(UTC)


def expected_turns(panel_type: PanelType, config: PanelConfiguration, members: int) -> int:
    """Expert turns a panel is expected to have (every round run to its end)."""
    rounds = config.max_rounds
    return {
        PanelType.STRUCTURED: rounds * members,
        PanelType.OPEN: config.max_turns or rounds * members,
        PanelType.SOCRATIC: rounds * members * 2,
        PanelType.ADVERSARIAL: max(2, rounds) * members + 1,  # openings and at least one rebuttal round
        PanelType.DELPHI: rounds * (members + 1),
    }[panel_type]


@dataclass(slots=True)
class Panel:
    panel_id: PanelId
    tenant_id: TenantId
    query: str
    panel_type: PanelType
    configuration: PanelConfiguration
    members: list[Member]
    status: PanelStatus = PanelStatus.DRAFT
    rounds: list[Round] = field(default_factory=list)
    consensus: Consensus | None = None
    final_recommendation: Recommendation | None = None
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    estimated_duration: int = 0
    estimated_usage: Usage = field(default_factory=Usage)
    failure_reason: str | None = None  # a machine-readable reason for some failures: budget_exceeded
    selection: str = "requested"
    # The execution attempt that may write (a fence), and the last event's sequence number.
    attempt: int = 0
    last_seq: int = 0
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    pending_events: list[PanelEvent] = field(default_factory=list)
    # The members' definitions as they were when the panel was created (a snapshot): editing or
    # deleting an expert later never changes a panel that has it. Empty for panels stored before.
    experts: list[Expert] = field(default_factory=list)
    # Usage not yet written to the tenant's usage ledger: the repository writes it with the next save.
    unrecorded_usage: Usage = field(default_factory=Usage, compare=False)

    @classmethod
    def create(
        cls,
        *,
        tenant_id: TenantId,
        query: str,
        panel_type: PanelType,
        configuration: PanelConfiguration,
        members: list[Member],
        selection: str = "requested",
        experts: list[Expert] | None = None,
        pace: ModelPace = HOSTED_PACE,
    ) -> Panel:
        return cls(
            panel_id=PanelId.generate(),
            tenant_id=tenant_id,
            query=query,
            panel_type=panel_type,
            configuration=configuration,
            members=members,
            estimated_duration=estimate_duration(panel_type, configuration, len(members), pace),
            selection=selection,
            experts=list(experts or []),
        )

    # ---- queries -------------------------------------------------------------------------------
    @property
    def total_messages(self) -> int:
        return sum(len(r.messages) for r in self.rounds)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.completed_at or utcnow()
        return round((end - self.started_at).total_seconds(), 3)

    def expert(self, agent_id: str) -> Expert | None:
        """The member's definition as the panel was given it, if the panel keeps one."""
        return next((e for e in self.experts if e.agent_id == agent_id), None)

    def member(self, agent_id: str) -> Member:
        for m in self.members:
            if m.agent_id == agent_id:
                return m
        raise KeyError(agent_id)

    def round(self, number: int) -> Round:
        """Round `number`; KeyError when it has not begun."""
        for r in self.rounds:
            if r.round_number == number:
                return r
        raise KeyError(f"round {number} has not begun")

    def messages(self) -> list[Message]:
        """Every message, round by round."""
        return [m for r in self.rounds for m in r.messages]

    # ---- state machine -------------------------------------------------------------------------
    def _transition(self, target: PanelStatus) -> None:
        self.status.check_transition(target)
        self.status = target
        self.updated_at = utcnow()

    def queue(self) -> None:
        self._transition(PanelStatus.QUEUED)

    def start(self) -> None:
        self._transition(PanelStatus.IN_PROGRESS)
        self.started_at = self.started_at or utcnow()
        self.pending_events.append(
            PanelStarted(self.panel_id, self.panel_type, self.query, tuple(self.members), self.started_at)
        )

    def begin_round(self, number: int) -> None:
        if not any(r.round_number == number for r in self.rounds):
            self.rounds.append(Round(number))
            self.rounds.sort(key=lambda r: r.round_number)
        self.pending_events.append(RoundStarted(number, utcnow()))

    def add_message(self, key: StepKey, message: Message) -> None:
        """Record what step `key` said, in its round (which must have begun)."""
        if self.status is not PanelStatus.IN_PROGRESS:
            raise IllegalTransition(f"A '{self.status.value}' panel takes no messages")
        try:
            current = self.round(message.round)
        except KeyError:
            raise IllegalTransition(f"Round {message.round} has not begun") from None
        current.messages.append(message)
        self.checkpoint.spoken[key] = message
        self.updated_at = utcnow()
        self.pending_events.append(ExpertSpeaking(message))

    def complete_round(self, number: int, consensus: Consensus | None, feedback: dict[str, Any] | None = None) -> None:
        current = self.round(number)
        current.consensus = consensus
        current.feedback = feedback
        self.pending_events.append(RoundComplete(number, len(current.messages), feedback))
        if consensus is not None:
            self.consensus = consensus
            self.pending_events.append(ConsensusUpdate(number, consensus))

    def record_expert_failure(self, agent_id: str, detail: str, round_number: int) -> None:
        self.pending_events.append(ExpertFailed(detail, agent_id, round_number))

    def record_usage(self, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        self.usage = self.usage.add(input_tokens, output_tokens, cost_usd)
        self.unrecorded_usage = self.unrecorded_usage.add(input_tokens, output_tokens, cost_usd)

    def complete(self, recommendation: Recommendation) -> None:
        """Complete with `recommendation`; the steps that fell back (from the checkpoint) are listed on it
        and make it degraded."""
        fallbacks = self.checkpoint.fallbacks()
        if fallbacks:
            recommendation = replace(recommendation, degraded=True, fallbacks=fallbacks)
        self._transition(PanelStatus.COMPLETED)
        self.final_recommendation = recommendation
        self.completed_at = utcnow()
        self.pending_events.append(
            PanelComplete(
                self.panel_id,
                recommendation,
                self.consensus.level if self.consensus else 0.0,
                self.consensus.confidence if self.consensus else 0.0,
                self.duration_seconds,
                self.usage,
            )
        )

    def fail(self, detail: str, reason: str | None = None) -> None:
        self._transition(PanelStatus.FAILED)
        self.error = detail
        self.failure_reason = reason
        self.completed_at = utcnow()
        self.pending_events.append(PanelFailed(detail, self.panel_id))

    def cancel(self) -> None:
        self._transition(PanelStatus.CANCELLED)
        self.completed_at = utcnow()
        self.pending_events.append(PanelCancelled(self.panel_id, self.completed_at))
