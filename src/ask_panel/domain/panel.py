"""The Panel aggregate: a question, its experts, their rounds of discussion and the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.errors import IllegalTransition
from ask_panel.domain.events import EventType, PendingEvent
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.status import PanelStatus, PanelType

SECONDS_PER_TURN = 6


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class Member:
    agent_id: str
    agent_name: str
    agent_role: str

    def to_dict(self) -> dict[str, Any]:
        return {"agent_id": self.agent_id, "agent_name": self.agent_name, "agent_role": self.agent_role}


@dataclass(frozen=True, slots=True)
class Stance:
    """An expert's structured position: what it prefers, how sure it is, and how it ranks options."""

    position: str
    confidence: float
    ranking: tuple[str, ...] = ()
    endorses: str | None = None
    estimate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "confidence": self.confidence,
            "ranking": list(self.ranking),
            "endorses": self.endorses,
            "estimate": self.estimate,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stance:
        return cls(
            position=data["position"],
            confidence=float(data["confidence"]),
            ranking=tuple(data.get("ranking") or ()),
            endorses=data.get("endorses"),
            estimate=data.get("estimate"),
        )


@dataclass(frozen=True, slots=True)
class Message:
    key: str
    agent_id: str
    agent_name: str
    content: str
    timestamp: datetime
    round: int
    role: str = "expert"
    stance: Stance | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "content": self.content,
            "timestamp": self.timestamp.isoformat(),
            "round": self.round,
            "role": self.role,
            "stance": self.stance.to_dict() if self.stance else None,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            key=data["key"],
            agent_id=data["agent_id"],
            agent_name=data["agent_name"],
            content=data["content"],
            timestamp=datetime.fromisoformat(data["timestamp"]),
            round=data["round"],
            role=data.get("role", "expert"),
            stance=Stance.from_dict(data["stance"]) if data.get("stance") else None,
            metadata=data.get("metadata") or {},
        )


@dataclass(frozen=True, slots=True)
class Consensus:
    level: float
    confidence: float
    method: str = ""
    components: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "confidence": self.confidence,
            "method": self.method,
            "components": self.components,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Consensus:
        return cls(
            level=data["level"],
            confidence=data["confidence"],
            method=data.get("method", ""),
            components=data.get("components") or {},
        )


@dataclass(slots=True)
class Round:
    round_number: int
    messages: list[Message] = field(default_factory=list)
    consensus: Consensus | None = None
    feedback: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "round_number": self.round_number,
            "messages": [m.to_dict() for m in self.messages],
            "consensus": self.consensus.to_dict() if self.consensus else None,
            "feedback": self.feedback,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Round:
        return cls(
            round_number=data["round_number"],
            messages=[Message.from_dict(m) for m in data["messages"]],
            consensus=Consensus.from_dict(data["consensus"]) if data.get("consensus") else None,
            feedback=data.get("feedback"),
        )


@dataclass(frozen=True, slots=True)
class Recommendation:
    recommendation: str
    rationale: str
    agreement_points: tuple[str, ...]
    dissent: tuple[str, ...]
    degraded: bool
    decided_by: str
    verdict: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommendation": self.recommendation,
            "rationale": self.rationale,
            "agreement_points": list(self.agreement_points),
            "dissent": list(self.dissent),
            "degraded": self.degraded,
            "decided_by": self.decided_by,
            "verdict": self.verdict,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        return cls(
            recommendation=data["recommendation"],
            rationale=data["rationale"],
            agreement_points=tuple(data.get("agreement_points") or ()),
            dissent=tuple(data.get("dissent") or ()),
            degraded=bool(data.get("degraded")),
            decided_by=data.get("decided_by", "moderator"),
            verdict=data.get("verdict"),
        )


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    llm_calls: int = 0
    cost_usd: float = 0.0

    def add(self, input_tokens: int, output_tokens: int, cost_usd: float) -> Usage:
        return Usage(
            self.input_tokens + input_tokens,
            self.output_tokens + output_tokens,
            self.llm_calls + 1,
            round(self.cost_usd + cost_usd, 8),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "llm_calls": self.llm_calls,
            "cost_usd": self.cost_usd,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Usage:
        data = data or {}
        return cls(
            int(data.get("input_tokens", 0)),
            int(data.get("output_tokens", 0)),
            int(data.get("llm_calls", 0)),
            float(data.get("cost_usd", 0.0)),
        )


def estimate_duration(panel_type: PanelType, config: PanelConfiguration, members: int) -> int:
    """Seconds a panel is expected to take: expected turns times a typical turn, plus the synthesis."""
    rounds = config.max_rounds
    turns = {
        PanelType.STRUCTURED: rounds * members,
        PanelType.OPEN: config.max_turns or rounds * members,
        PanelType.SOCRATIC: rounds * members * 2,
        PanelType.ADVERSARIAL: rounds * members + 1,
        PanelType.DELPHI: rounds * (members + 1),
    }[panel_type]
    return (turns + 2) * SECONDS_PER_TURN


@dataclass(slots=True)
class Panel:
    panel_id: PanelId
    tenant_id: TenantId
    query: str
    panel_type: PanelType
    configuration: PanelConfiguration
    members: list[Member]
    status: PanelStatus = PanelStatus.DRAFT
    discussions: list[Round] = field(default_factory=list)
    consensus: Consensus | None = None
    final_recommendation: Recommendation | None = None
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    estimated_duration: int = 0
    selection: str = "requested"
    attempt: int = 0
    last_seq: int = 0
    steps: dict[str, Any] = field(default_factory=dict)
    pending_events: list[PendingEvent] = field(default_factory=list)

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
    ) -> Panel:
        return cls(
            panel_id=PanelId.generate(),
            tenant_id=tenant_id,
            query=query,
            panel_type=panel_type,
            configuration=configuration,
            members=members,
            estimated_duration=estimate_duration(panel_type, configuration, len(members)),
            selection=selection,
        )

    # ---- queries -------------------------------------------------------------------------------
    @property
    def is_complete(self) -> bool:
        return self.status is PanelStatus.COMPLETED

    @property
    def total_messages(self) -> int:
        return sum(len(r.messages) for r in self.discussions)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.completed_at or utcnow()
        return round((end - self.started_at).total_seconds(), 3)

    def member(self, agent_id: str) -> Member:
        for m in self.members:
            if m.agent_id == agent_id:
                return m
        raise KeyError(agent_id)

    def round(self, number: int) -> Round:
        for r in self.discussions:
            if r.round_number == number:
                return r
        new = Round(number)
        self.discussions.append(new)
        self.discussions.sort(key=lambda r: r.round_number)
        return new

    def message_by_key(self, key: str) -> Message | None:
        for r in self.discussions:
            for m in r.messages:
                if m.key == key:
                    return m
        return None

    # ---- state machine -------------------------------------------------------------------------
    def _transition(self, target: PanelStatus) -> None:
        self.status.check_transition(target)
        self.status = target
        self.updated_at = utcnow()

    def _emit(self, event_type: EventType, data: dict[str, Any]) -> None:
        self.pending_events.append(PendingEvent(event_type, data))

    def queue(self) -> None:
        self._transition(PanelStatus.QUEUED)

    def start(self) -> None:
        self._transition(PanelStatus.IN_PROGRESS)
        self.started_at = self.started_at or utcnow()
        self._emit(
            EventType.PANEL_STARTED,
            {
                "panel_id": str(self.panel_id),
                "panel_type": self.panel_type.value,
                "query": self.query,
                "members": [m.to_dict() for m in self.members],
                "timestamp": self.started_at.isoformat(),
            },
        )

    def begin_round(self, number: int) -> None:
        self.round(number)
        self._emit(EventType.ROUND_STARTED, {"round": number, "timestamp": utcnow().isoformat()})

    def add_message(self, message: Message) -> None:
        if self.status is not PanelStatus.IN_PROGRESS:
            raise IllegalTransition(f"A '{self.status.value}' panel takes no messages")
        self.round(message.round).messages.append(message)
        self.updated_at = utcnow()
        payload = message.to_dict()
        payload.pop("key")
        self._emit(EventType.EXPERT_SPEAKING, payload)

    def complete_round(self, number: int, consensus: Consensus | None, feedback: dict[str, Any] | None = None) -> None:
        current = self.round(number)
        current.consensus = consensus
        current.feedback = feedback
        self._emit(
            EventType.ROUND_COMPLETE,
            {"round": number, "messages": len(current.messages), "feedback": feedback},
        )
        if consensus is not None:
            self.consensus = consensus
            self._emit(
                EventType.CONSENSUS_UPDATE,
                {
                    "round": number,
                    "level": consensus.level,
                    "confidence": consensus.confidence,
                    "method": consensus.method,
                    "components": consensus.components,
                },
            )

    def record_expert_failure(self, agent_id: str, detail: str, round_number: int) -> None:
        self._emit(
            EventType.ERROR,
            {"message": detail, "agent_id": agent_id, "round": round_number, "terminal": False},
        )

    def record_usage(self, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        self.usage = self.usage.add(input_tokens, output_tokens, cost_usd)

    def complete(self, recommendation: Recommendation) -> None:
        self._transition(PanelStatus.COMPLETED)
        self.final_recommendation = recommendation
        self.completed_at = utcnow()
        self._emit(
            EventType.PANEL_COMPLETE,
            {
                "panel_id": str(self.panel_id),
                "recommendation": recommendation.to_dict(),
                "consensus": self.consensus.level if self.consensus else 0.0,
                "confidence": self.consensus.confidence if self.consensus else 0.0,
                "duration": self.duration_seconds,
                "usage": self.usage.to_dict(),
            },
        )

    def fail(self, detail: str) -> None:
        self._transition(PanelStatus.FAILED)
        self.error = detail
        self.completed_at = utcnow()
        self._emit(EventType.ERROR, {"message": detail, "terminal": True, "panel_id": str(self.panel_id)})

    def cancel(self) -> None:
        self._transition(PanelStatus.CANCELLED)
        self.completed_at = utcnow()
        self._emit(
            EventType.PANEL_CANCELLED,
            {"panel_id": str(self.panel_id), "timestamp": self.completed_at.isoformat()},
        )

    # ---- persistence of the aggregate's body --------------------------------------------------
    def body(self) -> dict[str, Any]:
        """Everything that is not a column of its own, as JSON-ready data."""
        return {
            "configuration": self.configuration.to_dict(),
            "members": [m.to_dict() for m in self.members],
            "discussions": [r.to_dict() for r in self.discussions],
            "consensus": self.consensus.to_dict() if self.consensus else None,
            "final_recommendation": self.final_recommendation.to_dict() if self.final_recommendation else None,
            "usage": self.usage.to_dict(),
            "estimated_duration": self.estimated_duration,
            "selection": self.selection,
            "started_at": _iso(self.started_at),
            "completed_at": _iso(self.completed_at),
            "steps": self.steps,
        }

    @classmethod
    def restore(
        cls,
        *,
        panel_id: PanelId,
        tenant_id: TenantId,
        query: str,
        panel_type: PanelType,
        status: PanelStatus,
        error: str | None,
        created_at: datetime,
        updated_at: datetime,
        attempt: int,
        last_seq: int,
        body: dict[str, Any],
    ) -> Panel:
        return cls(
            panel_id=panel_id,
            tenant_id=tenant_id,
            query=query,
            panel_type=panel_type,
            configuration=PanelConfiguration(**body["configuration"]),
            members=[Member(**m) for m in body["members"]],
            status=status,
            discussions=[Round.from_dict(r) for r in body.get("discussions", [])],
            consensus=Consensus.from_dict(body["consensus"]) if body.get("consensus") else None,
            final_recommendation=(
                Recommendation.from_dict(body["final_recommendation"]) if body.get("final_recommendation") else None
            ),
            usage=Usage.from_dict(body.get("usage")),
            error=error,
            created_at=created_at,
            updated_at=updated_at,
            started_at=_parse_time(body.get("started_at")),
            completed_at=_parse_time(body.get("completed_at")),
            estimated_duration=body.get("estimated_duration", 0),
            selection=body.get("selection", "requested"),
            attempt=attempt,
            last_seq=last_seq,
            steps=body.get("steps") or {},
        )
