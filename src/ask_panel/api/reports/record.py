"""The decision record: everything an auditor needs from a panel, in one typed structure (its JSON form)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from ask_panel.api.schemas import PanelResponse
from ask_panel.domain.values import Fallback

RECORD_VERSION: Literal[1] = 1


class RecordExpert(BaseModel):
    agent_id: str
    name: str
    role: str
    models: list[str] = Field(description="The models that answered this expert's turns (provider/model)")
    configured_model: str | None = Field(
        default=None, description="The model in the expert's definition when the panel was created (None: default)"
    )
    instructions: str | None = Field(default=None, description="The expert's instructions when the panel was created")


class RecordStance(BaseModel):
    position: str
    confidence: float
    ranking: list[str]
    endorses: str | None
    estimate: float | None


class RecordTurn(BaseModel):
    number: int = Field(description="The turn's place in the whole discussion, from 1")
    round: int
    agent_id: str
    speaker: str
    role: str = Field(description="expert, moderator, judge or facilitator")
    at: datetime
    seconds_from_start: float | None
    content: str
    stance: RecordStance | None
    stance_outcome: str | None = Field(description="parsed, repaired, partial or failed: how the stance was read")
    model: str | None


class RecordConsensus(BaseModel):
    round: int
    level: float
    confidence: float
    method: str
    components: dict[str, Any]


class RecordRecommendation(BaseModel):
    recommendation: str
    rationale: str
    agreement_points: list[str]
    dissent: list[str]
    decided_by: str
    verdict: dict[str, Any] | None
    adopted: str | None = None
    estimate: dict[str, Any] | None = None

    @property
    def estimate_summary(self) -> str | None:
        """A Delphi estimate for people: `14 months (IQR 12-18, 5 panelists)`, or `8 months (all 3
        panelists agree; no spread)`, never `IQR 8-8`."""
        e = self.estimate
        if not e or e.get("median") is None:
            return None
        amount, n = f"{e['median']:g} {e.get('unit', '')}".rstrip(), e.get("n", 0)
        if e["q1"] != e["q3"]:
            return f"{amount} (IQR {e['q1']:g}-{e['q3']:g}, {n} panelists)"
        if n <= 4:  # up to four panelists, equal quartiles mean every estimate is the same
            return f"{amount} (all {n} panelists agree; no spread)" if n > 1 else f"{amount} (one panelist)"
        return f"{amount} (the middle half of the {n} panelists agree; no interquartile spread)"


class RecordUsage(BaseModel):
    input_tokens: int
    output_tokens: int
    llm_calls: int
    cost_usd: float


class DecisionRecord(BaseModel):
    """A panel as a record: the question, who answered with which model, every turn, consensus, outcome, cost."""

    record_version: Literal[1] = RECORD_VERSION
    panel_id: str
    tenant_id: str
    query: str
    panel_type: str
    status: str
    configuration: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    duration_seconds: float | None
    experts: list[RecordExpert]
    turns: list[RecordTurn]
    consensus_by_round: list[RecordConsensus]
    final_consensus: RecordConsensus | None
    recommendation: RecordRecommendation | None
    degraded: bool
    fallbacks: list[Fallback] = Field(
        description="The steps that fell back (the recommendation's list): each step's key and why, "
        "and what stood in for its answer"
    )
    error: str | None
    usage: RecordUsage
    generated_at: datetime


def _model_of(metadata: dict[str, Any]) -> str | None:
    model = metadata.get("model")
    if not model:
        return None
    provider = metadata.get("provider")
    return f"{provider}/{model}" if provider and provider != model else str(model)


def _dump(value: Any) -> dict[str, Any]:
    """A schema part as a plain dict, whether it is a pydantic model or a dataclass."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return dict(value)


def _expert(member: Any, panel: PanelResponse, models: list[str]) -> RecordExpert:
    snapshot = next((e for e in getattr(panel, "experts", []) if e.agent_id == member.agent_id), None)
    configured = None
    if snapshot is not None and (snapshot.model or snapshot.provider):
        configured = "/".join(x for x in (snapshot.provider, snapshot.model) if x)
    return RecordExpert(
        agent_id=member.agent_id,
        name=member.agent_name,
        role=member.agent_role,
        models=models,
        configured_model=configured,
        instructions=snapshot.instructions if snapshot is not None else None,
    )


def build_record(panel: PanelResponse, *, generated_at: datetime) -> DecisionRecord:
    """The record of `panel` as it stands (a running panel's record is partial and says its status)."""
    turns: list[RecordTurn] = []
    consensus: list[RecordConsensus] = []
    models: dict[str, list[str]] = {}
    for rnd in panel.discussions:
        for message in rnd.messages:
            metadata = dict(message.metadata or {})
            model = _model_of(metadata)
            if model:
                models.setdefault(message.agent_id, [])
                if model not in models[message.agent_id]:
                    models[message.agent_id].append(model)
            outcome = metadata.get("stance_outcome")
            turns.append(
                RecordTurn(
                    number=len(turns) + 1,
                    round=message.round,
                    agent_id=message.agent_id,
                    speaker=message.agent_name,
                    role=message.role,
                    at=message.timestamp,
                    seconds_from_start=(
                        round((message.timestamp - panel.started_at).total_seconds(), 3) if panel.started_at else None
                    ),
                    content=message.content,
                    stance=RecordStance.model_validate(_dump(message.stance)) if message.stance else None,
                    stance_outcome=outcome,
                    model=model,
                )
            )
        if rnd.consensus is not None:
            consensus.append(RecordConsensus(round=rnd.round_number, **_dump(rnd.consensus)))
    recommendation = panel.final_recommendation
    final = None
    if panel.consensus is not None:
        final = RecordConsensus(round=consensus[-1].round if consensus else 0, **_dump(panel.consensus))
    return DecisionRecord(
        panel_id=panel.panel_id,
        tenant_id=panel.tenant_id,
        query=panel.query,
        panel_type=str(panel.panel_type),
        status=str(panel.status),
        configuration=_dump(panel.configuration),
        created_at=panel.created_at,
        started_at=panel.started_at,
        completed_at=panel.completed_at,
        duration_seconds=panel.duration_seconds,
        experts=[_expert(m, panel, models.get(m.agent_id, [])) for m in panel.members],
        turns=turns,
        consensus_by_round=consensus,
        final_consensus=final,
        recommendation=RecordRecommendation(
            recommendation=recommendation.recommendation,
            rationale=recommendation.rationale,
            agreement_points=list(recommendation.agreement_points),
            dissent=list(recommendation.dissent),
            decided_by=recommendation.decided_by,
            verdict=recommendation.verdict,
            adopted=recommendation.adopted,
            estimate=recommendation.estimate,
        )
        if recommendation
        else None,
        degraded=bool(recommendation and recommendation.degraded),
        fallbacks=list(recommendation.fallbacks) if recommendation else [],
        error=panel.error,
        usage=RecordUsage.model_validate(_dump(panel.usage)),
        generated_at=generated_at,
    )
