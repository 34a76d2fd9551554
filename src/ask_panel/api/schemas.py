"""Request and response bodies of the API (separate create and public shapes).

Public shapes reuse the domain's value objects (stdlib dataclasses, which pydantic accepts as schema
parts), so each concept's fields are declared once, in the domain. This module imports pydantic and
the domain only (no FastAPI or Starlette): a Python client can import it without the server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, get_type_hints

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue, WithJsonSchema, create_model

from ask_panel.domain.configuration import (
    ESTIMATE_BOUND,
    MAX_ESTIMATE_QUESTION_CHARS,
    MAX_UNIT_CHARS,
    NUMBER_RANGES,
    TEXT_LIMITS,
    PanelConfiguration,
)
from ask_panel.domain.experts import (
    AGENT_ID_PATTERN,
    MAX_EXPERTISE_TERM_CHARS,
    MAX_EXPERTISE_TERMS,
    MAX_INSTRUCTIONS_CHARS,
    MAX_MEMBERS,
    MAX_MODEL_CHARS,
    MAX_NAME_CHARS,
    MAX_PROVIDER_CHARS,
    MAX_ROLE_CHARS,
    Expert,
)
from ask_panel.domain.llm import OutputMode
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.summary import PanelSummary as StoredSummary
from ask_panel.domain.text import NOT_BLANK_PATTERN
from ask_panel.domain.values import Consensus, Member, Recommendation, Round, Usage


def _configuration_model(panel_type: PanelType) -> type[BaseModel]:
    """The configuration a panel of this type takes: the domain's keys for it, each optional.

    The fields are the domain's (`PanelConfiguration`, `PanelConfiguration.keys_for`); values are
    checked by the domain too (a value out of range is a 422 either way).
    """
    hints = get_type_hints(PanelConfiguration) | REQUEST_TYPES
    fields: dict[str, Any] = {
        # Left out, the service decides (the seed is drawn): no default in the schema, or generated
        # clients would send it.
        key: (
            Annotated[hints[key], BeforeValidator(_json_type_of(hints[key]))],
            Field(
                default=None,
                description=TYPE_HELP.get((panel_type, key), CONFIGURATION_HELP.get(key)),
                json_schema_extra=_bounds(key),
            ),
        )
        for key in PanelConfiguration.keys_for(panel_type)
    }
    name = f"{panel_type.value.capitalize()}Configuration"
    article = "an" if panel_type.value[0] in "aeiou" else "a"
    doc = f"The settings of {article} {panel_type.value} panel; every key is optional."
    model: type[BaseModel] = create_model(name, __config__=ConfigDict(extra="forbid"), __doc__=doc, **fields)
    return model


def _json_type_of(hint: Any) -> Callable[[Any], Any]:
    """A scalar setting is taken as sent, with the JSON type the schema names: `true` is no rounds count, nor "3"
    (pydantic's lax mode would convert them), nor 1 a boolean. A float setting takes an integer, and an integer
    setting an integral number such as 3.0 (JSON has one kind of number; JSON Schema calls 3.0 an integer)."""
    numeric = hint in (int, float, int | None, float | None)
    boolean = hint in (bool, bool | None)

    def check(value: Any) -> Any:
        if numeric and isinstance(value, bool | str):
            raise ValueError("must be a number")
        if boolean and value is not None and not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value

    return check


def _bounds(key: str) -> Callable[[dict[str, Any]], None]:
    """The schema of one configuration key: no default, and the domain's bounds (`minimum`/`maximum` bind
    numbers only and `maxLength`/`pattern` strings only, so `null` stays allowed)."""

    def complete(schema: dict[str, Any]) -> None:
        schema.pop("default", None)
        if key in NUMBER_RANGES:
            schema["minimum"], schema["maximum"] = NUMBER_RANGES[key]
        if key in TEXT_LIMITS:
            schema["maxLength"] = TEXT_LIMITS[key]
            schema["minLength"] = 1
        if key == "proposition":
            schema["pattern"] = NOT_BLANK_PATTERN

    return complete


# `pattern` (documented; checked by the service): something besides whitespace, which is trimmed.
NOT_BLANK: dict[str, JsonValue] = {"pattern": NOT_BLANK_PATTERN}


class EstimateSetting(BaseModel):
    """What a Delphi panel estimates, when the facilitator should not derive it from the question."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"question": "Months until first patient in", "unit": "months", "min": 1, "max": 48}]
        },
    )

    question: str = Field(
        max_length=MAX_ESTIMATE_QUESTION_CHARS, description="The quantity asked for", json_schema_extra=NOT_BLANK
    )
    unit: str = Field(
        max_length=MAX_UNIT_CHARS,
        description="Its unit, as people say it (months, USD, percent)",
        json_schema_extra=NOT_BLANK,
    )
    min: float = Field(
        description="The lowest plausible answer",
        json_schema_extra={"minimum": -ESTIMATE_BOUND, "maximum": ESTIMATE_BOUND},
    )
    max: float = Field(
        description="The highest plausible answer (greater than min)",
        json_schema_extra={"minimum": -ESTIMATE_BOUND, "maximum": ESTIMATE_BOUND},
    )


# Where a key means something else for one type.
TYPE_HELP = {
    (
        PanelType.ADVERSARIAL,
        "consensus_threshold",
    ): "Recorded only: agreement never ends a debate (every round is held)",
    (PanelType.DELPHI, "consensus_threshold"): "Recorded only: a Delphi panel stops when its estimates are stable",
}

# Request types that differ from the domain's (the domain's value is built from them and checked again).
REQUEST_TYPES: dict[str, Any] = {"estimate": EstimateSetting | None}

CONFIGURATION_HELP = {
    "max_rounds": "Rounds at most, 1-10 (default 3)",
    "consensus_threshold": "Stop early once consensus reaches this level, 0-1 (default 0.8)",
    "seed": "Seeds the speaking order's shuffle, 0 to 2^53-1 (drawn at random when not given)",
    "model": "The model for every expert that names none (default: the provider's)",
    "temperature": "Sampling temperature, 0-2 (default: the provider's)",
    "max_turns": "Turns at most, 1-100 (default: rounds times members)",
    "proposition": "The statement debated (default: the moderator states one from the question)",
    "shuffle_order": "Shuffle the speaking order each round with the seed (default true)",
    "stability_tolerance": "Stop once the estimates' IQR and median move by at most this share of the estimate's "
    "range between rounds, 0-1 (default 0.1)",
    "estimate": "What to estimate: question, unit and plausible range (default: the facilitator derives them from "
    "the question)",
    "max_tokens": "The panel's token budget (input and output tokens of every model call); a run that would "
    "go past it stops at a step boundary: after round 1 it completes degraded (no further round, the "
    "synthesis or verdict falls back, listed in `fallbacks`), before that it fails, reason budget_exceeded "
    "(default: none)",
    "max_cost_usd": "The panel's cost budget in USD (estimated from the model prices); a run that would go past "
    "it stops as for max_tokens (default: none)",
}

# At type-checking time each is a BaseModel; at run time the model of its panel type's keys.
if TYPE_CHECKING:
    StructuredConfiguration: TypeAlias = BaseModel
    OpenConfiguration: TypeAlias = BaseModel
    SocraticConfiguration: TypeAlias = BaseModel
    AdversarialConfiguration: TypeAlias = BaseModel
    DelphiConfiguration: TypeAlias = BaseModel
else:
    StructuredConfiguration = _configuration_model(PanelType.STRUCTURED)
    OpenConfiguration = _configuration_model(PanelType.OPEN)
    SocraticConfiguration = _configuration_model(PanelType.SOCRATIC)
    AdversarialConfiguration = _configuration_model(PanelType.ADVERSARIAL)
    DelphiConfiguration = _configuration_model(PanelType.DELPHI)


class _CreatePanel(BaseModel):
    """What every new panel names: the question, its type and (optionally) its experts and settings."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        max_length=100_000,
        description="The question; 1..ASK_PANEL_MAX_QUERY_CHARS after trimming",
        json_schema_extra=NOT_BLANK,  # documented; the service checks it (422)
    )
    panel_type: PanelType
    agent_ids: list[str] | None = Field(
        default=None,
        max_length=50,  # more than MAX_MEMBERS is refused by the service, which says how many it takes
        description="At most 10 expert ids, each once; none: 3-5 experts picked for the question",
        json_schema_extra={"maxItems": MAX_MEMBERS, "uniqueItems": True},
    )
    configuration: BaseModel | None

    def settings(self) -> dict[str, Any] | None:
        """The configuration keys the request set, for the domain to validate."""
        return None if self.configuration is None else self.configuration.model_dump(exclude_unset=True)


class CreateStructuredPanel(_CreatePanel):
    """A structured panel: framed options, independent analyses, then refinement rounds."""

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

    panel_type: Literal[PanelType.STRUCTURED]
    configuration: StructuredConfiguration | None = None


class CreateOpenPanel(_CreatePanel):
    """An open panel: the moderator picks who speaks next."""

    panel_type: Literal[PanelType.OPEN]
    configuration: OpenConfiguration | None = None


class CreateSocraticPanel(_CreatePanel):
    """A socratic panel: the moderator questions and probes the experts."""

    panel_type: Literal[PanelType.SOCRATIC]
    configuration: SocraticConfiguration | None = None


class CreateAdversarialPanel(_CreatePanel):
    """An adversarial panel: proponents and opponents debate a proposition; a judge decides."""

    panel_type: Literal[PanelType.ADVERSARIAL]
    configuration: AdversarialConfiguration | None = None


class CreateDelphiPanel(_CreatePanel):
    """A Delphi panel: anonymous rounds of estimates with feedback until they are stable."""

    panel_type: Literal[PanelType.DELPHI]
    configuration: DelphiConfiguration | None = None


CreatePanelRequest = Annotated[
    CreateStructuredPanel | CreateOpenPanel | CreateSocraticPanel | CreateAdversarialPanel | CreateDelphiPanel,
    Field(discriminator="panel_type"),
]
"""A new panel: its `panel_type` says which configuration it takes."""


class ResponseBody(BaseModel):
    """A response body: a field with a default is still always sent, so the schema says it is required."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class PanelResponse(ResponseBody):
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
    failure_reason: Literal["budget_exceeded"] | None = Field(
        default=None,
        description="Why a failed panel failed, when it is one of these reasons: `budget_exceeded` (it stopped at "
        "its last checkpoint, before round 1 ended, before going past its `max_tokens` or `max_cost_usd`, or "
        "when its tenant had reached its daily or monthly budget)",
    )
    total_messages: int
    estimated_duration: int = Field(
        description="Seconds, estimated from the type, rounds and members at the pace of the configured model"
    )
    estimated_tokens: int = Field(
        default=0,
        description="Tokens the panel is expected to use (input and output), estimated from type, rounds and members",
    )
    estimated_cost_usd: float = Field(
        default=0.0,
        description="What the panel is expected to cost in USD, from the estimated tokens at its models' prices "
        "(0 for the simulated model)",
    )
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
            failure_reason="budget_exceeded" if panel.failure_reason == "budget_exceeded" else None,
            total_messages=panel.total_messages,
            estimated_duration=panel.estimated_duration,
            estimated_tokens=panel.estimated_usage.input_tokens + panel.estimated_usage.output_tokens,
            estimated_cost_usd=panel.estimated_usage.cost_usd,
            duration_seconds=panel.duration_seconds,
            created_at=panel.created_at,
            updated_at=panel.updated_at,
            started_at=panel.started_at,
            completed_at=panel.completed_at,
            last_event_id=panel.last_seq,
        )


class PanelSummary(ResponseBody):
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
    def from_summary(cls, summary: StoredSummary) -> PanelSummary:
        outcome = summary.recommendation
        return cls(
            panel_id=str(summary.panel_id),
            tenant_id=str(summary.tenant_id),
            query=summary.query,
            panel_type=summary.panel_type,
            status=summary.status,
            members=summary.members,
            consensus=summary.consensus,
            recommendation=outcome.recommendation if outcome else None,
            degraded=bool(outcome and outcome.degraded),
            total_messages=summary.total_messages,
            created_at=summary.created_at,
            updated_at=summary.updated_at,
            started_at=summary.started_at,
            completed_at=summary.completed_at,
        )


class PanelListResponse(ResponseBody):
    """A page of the tenant's panels, newest first, as summaries."""

    panels: list[PanelSummary] = Field(description="Summaries; the full panel is GET /api/v1/panels/{id}")
    total: int = Field(description="How many panels match the filters, in all pages")
    limit: int
    offset: int


class ExecuteResponse(ResponseBody):
    """The panel was accepted for execution: it runs in the background."""

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


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS, json_schema_extra=NOT_BLANK)]
Role = Annotated[str, Field(min_length=1, max_length=MAX_ROLE_CHARS, json_schema_extra=NOT_BLANK)]
Expertise = Annotated[
    list[Annotated[str, Field(max_length=MAX_EXPERTISE_TERM_CHARS)]], Field(max_length=MAX_EXPERTISE_TERMS)
]
Instructions = Annotated[str, Field(min_length=1, max_length=MAX_INSTRUCTIONS_CHARS, json_schema_extra=NOT_BLANK)]
ModelName = Annotated[str | None, Field(max_length=MAX_MODEL_CHARS)]
# The providers the service builds (`bootstrap.build_providers`); production without ASK_PANEL_ALLOW_SIMULATED
# refuses `simulated` (422). Validated by the service, which names the ones it has; the document lists them.
PROVIDERS = ("anthropic", "openai", "simulated")
ProviderName = (
    Annotated[
        str,
        Field(max_length=MAX_PROVIDER_CHARS),
        WithJsonSchema({"type": "string", "enum": list(PROVIDERS), "description": "The expert's model provider"}),
    ]
    | None
)
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


# The fields of an expert that a tenant defines, declared once: PUT's body is all of them, POST's adds the
# id, PATCH's has each of them optional (the domain's `Expert` holds the same fields, plus its id and
# whether it is built in).
EXPERT_FIELDS: dict[str, tuple[Any, Any]] = {
    "name": (Name, ...),
    "role": (Role, ...),
    "expertise": (Expertise, Field(default_factory=list)),
    "instructions": (Instructions, ...),
    "model": (ModelName, None),
    "provider": (ProviderName, None),
    "output_mode": (OutputMode | None, Field(default=None, description=OUTPUT_MODE_HELP)),
}


class _ExpertDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [AGENT_EXAMPLE]})

    def to_expert(self, agent_id: str | None = None) -> Expert:
        """The tenant's expert this request describes (validated and normalised by the service)."""
        values = self.model_dump()
        if agent_id is not None:
            values["agent_id"] = agent_id
        return Expert(**{**values, "expertise": tuple(values["expertise"])})


class _NewExpert(_ExpertDefinition):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"agent_id": "acme_sterilization", **AGENT_EXAMPLE}]}
    )


class _ExpertChanges(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"model": "gpt-4o-mini"}]})

    def changes(self) -> dict[str, Any]:
        """The fields the request names (a field given as null is a change too)."""
        return self.model_dump(exclude_unset=True)


# PATCH may clear these (null); the others may be left out but not cleared (an expert always has them).
CLEARABLE = frozenset({"model", "provider", "output_mode"})


def _optional(name: str, annotation: Any, field: Any) -> tuple[Any, Any]:
    """A field of PATCH's body: the same type and description, left out by default; null where it may be cleared
    (the document says so; the service refuses null for the others)."""
    description = getattr(field, "description", None)
    extra = None if name in CLEARABLE else _never_null
    return annotation | None, Field(default=None, description=description, json_schema_extra=extra)


def _never_null(schema: dict[str, Any]) -> None:
    """An optional field's schema without its `null` alternative (and without the implied `default: null`)."""
    alternatives = [a for a in schema.pop("anyOf", []) if a != {"type": "null"}]
    schema.pop("default", None)
    if len(alternatives) == 1:
        schema.update(alternatives[0])
    elif alternatives:
        schema["anyOf"] = alternatives


# At type-checking time each is its base; at run time the model made from EXPERT_FIELDS.
if TYPE_CHECKING:
    ReplaceAgentRequest: TypeAlias = _ExpertDefinition
    CreateAgentRequest: TypeAlias = _NewExpert
    UpdateAgentRequest: TypeAlias = _ExpertChanges
else:
    ReplaceAgentRequest = create_model(
        "ReplaceAgentRequest",
        __base__=_ExpertDefinition,
        __doc__="A tenant expert's whole definition (PUT): fields left out take their defaults.",
        **EXPERT_FIELDS,
    )
    CreateAgentRequest = create_model(
        "CreateAgentRequest",
        __base__=_NewExpert,
        __doc__="A new tenant expert: its id and its definition.",
        **EXPERT_FIELDS,
        agent_id=(
            str,
            Field(
                min_length=2,
                max_length=64,
                pattern=AGENT_ID_PATTERN.pattern,
                description="lowercase letters, digits, '_' or '-', starting with a letter or digit",
            ),
        ),
    )
    UpdateAgentRequest = create_model(
        "UpdateAgentRequest",
        __base__=_ExpertChanges,
        __doc__="Some fields of a tenant expert (PATCH); `null` clears `model`, `provider` or `output_mode` "
        "(the other fields may be left out, not cleared).",
        **{name: _optional(name, *declared) for name, declared in EXPERT_FIELDS.items()},
    )


class AgentListResponse(ResponseBody):
    """A page of the registry: the built-in experts first, then the tenant's own (`total` counts both)."""

    agents: list[Expert]
    total: int
    limit: int
    offset: int


class TicketResponse(ResponseBody):
    ticket: str
    expires_at: datetime
    expires_in: int


class ValidationIssue(BaseModel):
    """One reason a request was refused: where (`loc`), what (`msg`) and its kind (`type`)."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`); more members may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="A URI naming the kind of problem, e.g. https://ask-panel.dev/problems/panel-not-found"
    )
    title: str
    status: int = Field(description="The HTTP status code")
    detail: str
    request_id: str | None = Field(default=None, description="The request's X-Request-ID, for the logs")
    errors: list[ValidationIssue] | None = Field(default=None, description="A request that did not validate: why")
    agent_ids: list[str] | None = Field(default=None, description="unknown-agents: the expert ids not found")


class MetaResponse(ResponseBody):
    version: str
    auth_mode: Literal["jwt", "none"] = Field(description="jwt: bearer tokens; none: X-Tenant-ID alone (development)")
    panel_types: list[PanelType]
    max_query_chars: int
    max_experts: int = Field(description="The most expert ids a panel may name")
    max_proposition_chars: int


class HealthResponse(ResponseBody):
    status: Literal["ok"]


class UsageDayResponse(ResponseBody):
    """What the tenant's panels used on one UTC day."""

    date: dt.date
    input_tokens: int
    output_tokens: int
    llm_calls: int
    cost_usd: float = Field(description="Estimated from the model prices (`genai-prices`, or ASK_PANEL_MODEL_PRICES)")
    panels: int = Field(description="Distinct panels that used models that day")


class UsageTotals(ResponseBody):
    input_tokens: int
    output_tokens: int
    llm_calls: int
    cost_usd: float


class BudgetState(ResponseBody):
    """The tenant's budgets (null: none) and what it has spent against them."""

    daily_usd: float | None
    monthly_usd: float | None
    spent_today_usd: float = Field(description="This UTC day's cost so far")
    spent_this_month_usd: float = Field(description="This UTC calendar month's cost so far")


class UsageResponse(ResponseBody):
    """The tenant's model usage from `from` to `to` (UTC days, both included), by day, with its budgets."""

    model_config = ConfigDict(populate_by_name=True, json_schema_serialization_defaults_required=True)

    tenant_id: str
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    totals: UsageTotals
    days: list[UsageDayResponse] = Field(description="Days with usage, in order (days without any are left out)")
    budget: BudgetState
