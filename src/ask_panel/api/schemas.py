"""Request and response bodies of the API (separate create and public shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ask_panel.domain.experts import Expert
from ask_panel.domain.llm import OutputMode
from ask_panel.domain.panel import Panel

PanelTypeName = Literal["structured", "open", "socratic", "adversarial", "delphi"]
StatusName = Literal["draft", "queued", "in_progress", "completed", "failed", "cancelled"]


class CreatePanelRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "query": "What is our FDA 510(k) strategy for this device?",
                    "panel_type": "structured",
                    "agent_ids": ["fda_expert", "clinical_expert"],
                    "configuration": {"max_rounds": 3, "consensus_threshold": 0.8},
                }
            ]
        },
    )

    query: str = Field(max_length=100_000, description="The question; 1..ASK_PANEL_MAX_QUERY_CHARS after trimming")
    panel_type: str = Field(description="structured, open, socratic, adversarial or delphi")
    agent_ids: list[str] | None = Field(default=None, max_length=50, description="At most 10 expert ids")
    configuration: dict[str, Any] | None = Field(
        default=None,
        max_length=20,
        description="max_rounds (1-10), consensus_threshold (0-1), seed, model, temperature, max_turns, "
        "proposition, shuffle_order, stability_tolerance",
    )


class MemberOut(BaseModel):
    agent_id: str
    agent_name: str
    agent_role: str


class StanceOut(BaseModel):
    position: str
    confidence: float
    ranking: list[str]
    endorses: str | None
    estimate: float | None


class MessageOut(BaseModel):
    agent_id: str
    agent_name: str
    content: str
    timestamp: datetime
    round: int
    role: str
    stance: StanceOut | None
    metadata: dict[str, Any]


class ConsensusOut(BaseModel):
    level: float
    confidence: float
    method: str
    components: dict[str, Any]


class RoundOut(BaseModel):
    round_number: int
    messages: list[MessageOut]
    consensus: ConsensusOut | None
    feedback: dict[str, Any] | None


class RecommendationOut(BaseModel):
    recommendation: str
    rationale: str
    agreement_points: list[str]
    dissent: list[str]
    degraded: bool
    decided_by: str
    verdict: dict[str, Any] | None


class UsageOut(BaseModel):
    input_tokens: int
    output_tokens: int
    llm_calls: int
    cost_usd: float


class PanelResponse(BaseModel):
    panel_id: str
    tenant_id: str
    query: str
    panel_type: PanelTypeName
    status: StatusName
    configuration: dict[str, Any]
    members: list[MemberOut]
    member_selection: Literal["requested", "auto"]
    discussions: list[RoundOut]
    consensus: ConsensusOut | None
    final_recommendation: RecommendationOut | None
    usage: UsageOut
    error: str | None
    total_messages: int
    estimated_duration: int = Field(description="Seconds, estimated from type, rounds and members")
    duration_seconds: float | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    last_event_id: int

    @classmethod
    def from_panel(cls, panel: Panel) -> PanelResponse:
        body = panel.body()
        discussions = body["discussions"]
        for rnd in discussions:
            for message in rnd["messages"]:
                message.pop("key", None)
        return cls(
            panel_id=str(panel.panel_id),
            tenant_id=str(panel.tenant_id),
            query=panel.query,
            panel_type=panel.panel_type.value,
            status=panel.status.value,
            configuration=body["configuration"],
            members=body["members"],
            member_selection="auto" if panel.selection == "auto" else "requested",
            discussions=discussions,
            consensus=body["consensus"],
            final_recommendation=body["final_recommendation"],
            usage=body["usage"],
            error=panel.error,
            total_messages=panel.total_messages,
            estimated_duration=panel.estimated_duration,
            duration_seconds=panel.duration_seconds,
            created_at=panel.created_at,
            updated_at=panel.updated_at,
            started_at=panel.started_at,
            completed_at=panel.completed_at,
            last_event_id=panel.last_seq,
        )


class PanelListResponse(BaseModel):
    panels: list[PanelResponse]
    total: int
    limit: int
    offset: int


class ExecuteResponse(BaseModel):
    panel_id: str
    status: Literal["executing"] = "executing"
    message: str


class CreateAgentRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "agent_id": "acme_sterilization",
                    "name": "Dr. Ada Park",
                    "role": "Sterilization scientist",
                    "expertise": ["sterilization", "ethylene oxide", "validation"],
                    "instructions": "Judge sterilization choices and their validation burden.",
                }
            ]
        },
    )

    agent_id: str = Field(min_length=2, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200)
    expertise: list[str] = Field(default_factory=list, max_length=20)
    instructions: str = Field(min_length=1, max_length=4000)
    model: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, max_length=40)
    output_mode: OutputMode | None = Field(
        default=None,
        description="How this expert's model is asked for JSON: json_schema, json_object or prompt "
        "(default: its provider's ASK_PANEL_LLM_OUTPUT_MODE).",
    )


class AgentOut(BaseModel):
    agent_id: str
    name: str
    role: str
    expertise: list[str]
    instructions: str
    model: str | None
    provider: str | None
    output_mode: OutputMode | None = None
    builtin: bool

    @classmethod
    def from_expert(cls, expert: Expert) -> AgentOut:
        return cls(
            agent_id=expert.agent_id,
            name=expert.name,
            role=expert.role,
            expertise=list(expert.expertise),
            instructions=expert.instructions,
            model=expert.model,
            provider=expert.provider,
            output_mode=expert.output_mode,
            builtin=expert.builtin,
        )


class AgentListResponse(BaseModel):
    agents: list[AgentOut]


class TicketResponse(BaseModel):
    ticket: str
    expires_at: datetime
    expires_in: int


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    request_id: str | None = None


class HealthResponse(BaseModel):
    status: Literal["ok"]
