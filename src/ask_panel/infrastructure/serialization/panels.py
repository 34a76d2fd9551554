"""The stored form of a Panel: its columns, and the JSON body holding the rest (rounds, outcome, checkpoint).

The body's shape is the one every release has stored (`discussions`, messages with their step `key`,
`steps` with `decisions`, `markers` and `failures`), so panels stored earlier load and resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ask_panel.domain.checkpoint import CHECKPOINT_VERSION, AnswerNote, Checkpoint, StepKey
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.panel import Panel
from ask_panel.domain.status import PanelStatus, PanelType
from ask_panel.domain.summary import PanelSummary
from ask_panel.domain.values import Message, Round
from ask_panel.infrastructure.serialization.values import (
    Json,
    configuration_json,
    configuration_of,
    consensus_json,
    consensus_of,
    expert_json,
    expert_of,
    iso,
    member_json,
    member_of,
    message_json,
    message_of,
    parse_time,
    recommendation_json,
    recommendation_of,
    usage_json,
    usage_of,
)


@dataclass(frozen=True, slots=True)
class PanelRow:
    """A panel as stored: the columns of `panels` (besides the tenant and idempotency ones) and the body."""

    panel_id: str
    tenant_id: str
    query: str
    panel_type: str
    status: str
    error: str | None
    created_at: datetime
    updated_at: datetime
    attempt: int
    last_seq: int
    body: Json


def panel_body(panel: Panel) -> Json:
    """Everything that is not a column of its own, as JSON-ready data."""
    keys = {id(message): str(key) for key, message in panel.checkpoint.spoken.items()}
    body: Json = {
        "configuration": configuration_json(panel.configuration),
        "members": [member_json(m) for m in panel.members],
        "discussions": [
            {
                "round_number": r.round_number,
                "messages": [{"key": keys.get(id(m), ""), **message_json(m)} for m in r.messages],
                "consensus": consensus_json(r.consensus),
                "feedback": r.feedback,
            }
            for r in panel.rounds
        ],
        "consensus": consensus_json(panel.consensus),
        "final_recommendation": recommendation_json(panel.final_recommendation),
        "usage": usage_json(panel.usage),
        "estimated_duration": panel.estimated_duration,
        "selection": panel.selection,
        "started_at": iso(panel.started_at),
        "completed_at": iso(panel.completed_at),
        "steps": checkpoint_json(panel.checkpoint),
    }
    if panel.estimated_usage.llm_calls:
        body["estimated_usage"] = usage_json(panel.estimated_usage)
    if panel.failure_reason is not None:
        body["failure_reason"] = panel.failure_reason
    if panel.experts:  # the snapshot of the members' definitions (panels stored before it have none)
        body["experts"] = [expert_json(e) for e in panel.experts]
    return body


def checkpoint_json(checkpoint: Checkpoint) -> Json:
    """The checkpoint besides its messages (which are stored in their rounds, with their keys)."""
    stored: Json = {
        "version": CHECKPOINT_VERSION,
        "decisions": {str(key): dict(decision) for key, decision in checkpoint.decisions.items()},
        "markers": [str(key) for key in checkpoint.markers],
        "failures": {agent: [str(key) for key in keys] for agent, keys in checkpoint.failures.items()},
    }
    if checkpoint.answers:
        stored["answers"] = {str(key): _answer_json(note) for key, note in checkpoint.answers.items()}
    return stored


def _answer_json(note: AnswerNote) -> Json:
    stored: Json = {"outcome": note.outcome, "calls": note.calls}
    if note.error is not None:
        stored["error"] = note.error
    if note.fallback is not None:
        stored["fallback"] = note.fallback
    return stored


def panel_row(panel: Panel) -> PanelRow:
    return PanelRow(
        panel_id=str(panel.panel_id),
        tenant_id=str(panel.tenant_id),
        query=panel.query,
        panel_type=panel.panel_type.value,
        status=panel.status.value,
        error=panel.error,
        created_at=panel.created_at,
        updated_at=panel.updated_at,
        attempt=panel.attempt,
        last_seq=panel.last_seq,
        body=panel_body(panel),
    )


def panel_of(row: Any) -> Panel:
    """The Panel of a stored row (any object with PanelRow's attributes: a PanelRow or a SQL row)."""
    body: Json = row.body
    spoken: dict[StepKey, Message] = {}
    rounds = [_round_of(r, spoken) for r in body.get("discussions", [])]
    steps: Json = body.get("steps") or {}
    checkpoint = Checkpoint(
        spoken=spoken,
        decisions={StepKey.parse(k): v for k, v in (steps.get("decisions") or {}).items()},
        markers=[StepKey.parse(k) for k in steps.get("markers") or []],
        failures={agent: [StepKey.parse(k) for k in keys] for agent, keys in (steps.get("failures") or {}).items()},
        answers={
            StepKey.parse(k): AnswerNote(v["outcome"], int(v["calls"]), v.get("error"), v.get("fallback"))
            for k, v in (steps.get("answers") or {}).items()
        },
    )
    return Panel(
        panel_id=PanelId.from_string(row.panel_id),
        tenant_id=TenantId.from_string(row.tenant_id),
        query=row.query,
        panel_type=PanelType(row.panel_type),
        configuration=configuration_of(body["configuration"]),
        members=[member_of(m) for m in body["members"]],
        experts=[expert_of(e) for e in body.get("experts") or []],
        status=PanelStatus(row.status),
        rounds=rounds,
        consensus=consensus_of(body.get("consensus")),
        final_recommendation=recommendation_of(body.get("final_recommendation")),
        usage=usage_of(body.get("usage")),
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=parse_time(body.get("started_at")),
        completed_at=parse_time(body.get("completed_at")),
        estimated_duration=body.get("estimated_duration", 0),
        estimated_usage=usage_of(body.get("estimated_usage")),
        failure_reason=body.get("failure_reason"),
        selection=body.get("selection", "requested"),
        attempt=row.attempt,
        last_seq=row.last_seq,
        checkpoint=checkpoint,
    )


def _round_of(data: Json, spoken: dict[StepKey, Message]) -> Round:
    messages = []
    for stored in data["messages"]:
        message = message_of(stored)
        messages.append(message)
        if stored.get("key"):
            spoken[StepKey.parse(stored["key"])] = message
    return Round(
        round_number=data["round_number"],
        messages=messages,
        consensus=consensus_of(data.get("consensus")),
        feedback=data.get("feedback"),
    )


# What a summary reads of the body: these keys, and the length of each round's `messages`.
SUMMARY_KEYS = ("members", "consensus", "final_recommendation", "started_at", "completed_at")


def summary_of(row: Any) -> PanelSummary:
    """A panel's summary from a projected row: the columns, the body's SUMMARY_KEYS as attributes of the
    same names, and `total_messages` (counted by the store, never by decoding the rounds)."""
    return PanelSummary(
        panel_id=PanelId.from_string(row.panel_id),
        tenant_id=TenantId.from_string(row.tenant_id),
        query=row.query,
        panel_type=PanelType(row.panel_type),
        status=PanelStatus(row.status),
        members=[member_of(m) for m in row.members or []],
        consensus=consensus_of(row.consensus),
        recommendation=recommendation_of(row.final_recommendation),
        total_messages=int(row.total_messages or 0),
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=parse_time(row.started_at),
        completed_at=parse_time(row.completed_at),
    )


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """A projected row made from a stored row in memory (what the SQL stores select)."""

    panel_id: str
    tenant_id: str
    query: str
    panel_type: str
    status: str
    created_at: datetime
    updated_at: datetime
    members: Any
    consensus: Any
    final_recommendation: Any
    started_at: Any
    completed_at: Any
    total_messages: int


def summary_row(row: PanelRow) -> SummaryRow:
    body = row.body
    return SummaryRow(
        panel_id=row.panel_id,
        tenant_id=row.tenant_id,
        query=row.query,
        panel_type=row.panel_type,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        **{key: body.get(key) for key in SUMMARY_KEYS},
        total_messages=sum(len(d.get("messages") or []) for d in body.get("discussions") or []),
    )
