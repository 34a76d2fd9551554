"""Request and response bodies of the API (separate create and public shapes).

Public shapes reuse the domain's value objects (stdlib dataclasses, which pydantic accepts as schema
parts), so each concept's fields are declared once, in the domain. This module imports pydantic and
the domain only (no FastAPI or Starlette): a Python client can import it without the server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.experts import Expert
from ask_panel.domain.llm import OutputMode
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.values import Consensus, Member, Recommendation, Round, Usage


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
    panel_type: PanelType = Field(description="How the panel discusses")
    agent_ids: list[str] | None = Field(default=None, max_length=50, description="At most 10 expert ids")
    configuration: dict[str, Any] | None = Field(
        default=None,
        max_length=20,
        description="max_rounds (1-10), consensus_threshold (0-1), seed, model, temperature, max_turns, "
        "proposition, shuffle_order, stability_tolerance",
    )


class PanelResponse(BaseModel):
    """A panel as clients see it; its parts are the domain's own value objects."""

    panel_id: str
    tenant_id: str
    query: str
    panel_type: PanelType
    status: PanelStatus
    configuration: PanelConfiguration
    members: list[Member]
    experts: list[Expert] = Field(
        description="The members' definitions as they were when the panel was created: editing or deleting an "
        "expert later never changes them (empty for panels created before snapshots were kept)"
    )
    member_selection: Literal["requested", "auto"]
    discussions: list[Round] = Field(description="The rounds, in order")
    consensus: Consensus | None
    final_recommendation: Recommendation | None
    usage: Usage
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
        return cls(
            panel_id=str(panel.panel_id),
            tenant_id=str(panel.tenant_id),
            query=panel.query,
            panel_type=panel.panel_type,
            status=panel.status,
            configuration=panel.configuration,
            members=panel.members,
            experts=panel.experts,
            member_selection="auto" if panel.selection == "auto" else "requested",
            discussions=panel.rounds,
            consensus=panel.consensus,
            final_recommendation=panel.final_recommendation,
            usage=panel.usage,
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


class PanelSummary(BaseModel):
    """A panel in a list: what it asks, who sits on it, how it stands and what it decided.

    The discussion itself (rounds, messages, usage) is in the full panel, `GET /api/v1/panels/{id}`.
    """

    panel_id: str
    tenant_id: str
    query: str
    panel_type: PanelType
    status: PanelStatus
    members: list[Member]
    consensus: Consensus | None = Field(description="The latest consensus measured (None before round 1 ends)")
    recommendation: str | None = Field(description="The recommendation's headline, once the panel has completed")
    degraded: bool = Field(description="The panel completed with a silent or failing expert, or a fallback")
    total_messages: int
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def from_panel(cls, panel: Panel) -> PanelSummary:
        outcome = panel.final_recommendation
        return cls(
            panel_id=str(panel.panel_id),
            tenant_id=str(panel.tenant_id),
            query=panel.query,
            panel_type=panel.panel_type,
            status=panel.status,
            members=panel.members,
            consensus=panel.consensus,
            recommendation=outcome.recommendation if outcome else None,
            degraded=bool(outcome and outcome.degraded),
            total_messages=panel.total_messages,
            created_at=panel.created_at,
            updated_at=panel.updated_at,
            started_at=panel.started_at,
            completed_at=panel.completed_at,
        )


class PanelListResponse(BaseModel):
    """A page of the tenant's panels, newest first, as summaries."""

    panels: list[PanelSummary] = Field(description="Summaries; the full panel is GET /api/v1/panels/{id}")
    total: int = Field(description="How many panels match the filters, in all pages")
    limit: int
    offset: int


class ExecuteResponse(BaseModel):
    """The panel was accepted for execution: it runs in the background."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    panel_id: str
    status: Literal["executing"] = Field(
        default="executing",
        description="Always `executing` (the seed's answer, kept for its clients): the panel was accepted and "
        "runs in the background. The panel's own status is `panel_status`.",
    )
    panel_status: PanelStatus = Field(
        description="The panel's status after this call (`queued` until a runner starts it)"
    )
    message: str


Name = Annotated[str, Field(min_length=1, max_length=200)]
Role = Annotated[str, Field(min_length=1, max_length=200)]
Expertise = Annotated[list[str], Field(max_length=20)]
Instructions = Annotated[str, Field(min_length=1, max_length=4000)]
ModelName = Annotated[str | None, Field(max_length=200)]
ProviderName = Annotated[str | None, Field(max_length=40)]
OUTPUT_MODE_HELP = (
    "How this expert's model is asked for JSON: json_schema, json_object or prompt "
    "(default: its provider's ASK_PANEL_LLM_OUTPUT_MODE)."
)
AGENT_EXAMPLE: dict[str, JsonValue] = {
    "name": "Dr. Ada Park",
    "role": "Sterilization scientist",
    "expertise": ["sterilization", "ethylene oxide", "validation"],
    "instructions": "Judge sterilization choices and their validation burden.",
}


class ReplaceAgentRequest(BaseModel):
    """A tenant expert's whole definition (PUT): fields left out take their defaults."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [AGENT_EXAMPLE]})

    name: Name
    role: Role
    expertise: Expertise = Field(default_factory=list)
    instructions: Instructions
    model: ModelName = None
    provider: ProviderName = None
    output_mode: OutputMode | None = Field(default=None, description=OUTPUT_MODE_HELP)

    def to_expert(self, agent_id: str) -> Expert:
        """The tenant's expert this request describes (validated and normalised by the service)."""
        return Expert(agent_id=agent_id, **{**self.model_dump(), "expertise": tuple(self.expertise)})


class CreateAgentRequest(ReplaceAgentRequest):
    """A new tenant expert: its id and its definition."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"agent_id": "acme_sterilization", **AGENT_EXAMPLE}]}
    )

    agent_id: str = Field(min_length=2, max_length=64)

    def to_expert(self, agent_id: str | None = None) -> Expert:
        return Expert(**{**self.model_dump(), "expertise": tuple(self.expertise)})


class UpdateAgentRequest(BaseModel):
    """Some fields of a tenant expert (PATCH); `null` clears `model`, `provider` or `output_mode`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"model": "gpt-4o-mini"}]})

    name: Name | None = None
    role: Role | None = None
    expertise: Expertise | None = None
    instructions: Instructions | None = None
    model: ModelName = None
    provider: ProviderName = None
    output_mode: OutputMode | None = Field(default=None, description=OUTPUT_MODE_HELP)

    def changes(self) -> dict[str, Any]:
        """The fields the request names (a field given as null is a change too)."""
        return self.model_dump(exclude_unset=True)


class AgentListResponse(BaseModel):
    agents: list[Expert]


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


class MetaResponse(BaseModel):
    version: str
    auth_mode: Literal["jwt", "none"] = Field(description="jwt: bearer tokens; none: X-Tenant-ID alone (development)")
    panel_types: list[PanelType]
    max_query_chars: int
    max_experts: int = Field(description="The most expert ids a panel may name")
    max_proposition_chars: int


class HealthResponse(BaseModel):
    status: Literal["ok"]
