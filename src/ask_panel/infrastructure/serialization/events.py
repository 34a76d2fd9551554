"""The event log's JSON: each event payload's `data`, exactly as clients have always received it, and back.

`event_data` writes an event's data; `event_of` reads it into the payload again (the Python client
uses it to give its users typed events). Both import only the domain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ask_panel.domain.events import (
    ConsensusUpdate,
    EventType,
    ExpertFailed,
    ExpertSpeaking,
    ExpertToken,
    PanelCancelled,
    PanelComplete,
    PanelEvent,
    PanelFailed,
    PanelStarted,
    RoundComplete,
    RoundStarted,
)
from ask_panel.domain.ids import PanelId
from ask_panel.domain.status import PanelType
from ask_panel.infrastructure.serialization.values import (
    Json,
    consensus_of,
    member_json,
    member_of,
    message_json,
    message_of,
    recommendation_json,
    recommendation_of,
    usage_json,
    usage_of,
)


def event_data(event: PanelEvent) -> Json:
    """The `data` of an event of the log (the keys in their published order)."""
    match event:
        case ExpertSpeaking(message=message):
            return message_json(message)
        case RoundStarted():
            return {"round": event.round, "timestamp": event.timestamp.isoformat()}
        case RoundComplete():
            return {"round": event.round, "messages": event.messages, "feedback": event.feedback}
        case ConsensusUpdate(consensus=consensus):
            return {
                "round": event.round,
                "level": consensus.level,
                "confidence": consensus.confidence,
                "method": consensus.method,
                "components": consensus.components,
            }
        case PanelStarted():
            return {
                "panel_id": str(event.panel_id),
                "panel_type": event.panel_type.value,
                "query": event.query,
                "members": [member_json(m) for m in event.members],
                "timestamp": event.timestamp.isoformat(),
            }
        case PanelComplete():
            return {
                "panel_id": str(event.panel_id),
                "recommendation": recommendation_json(event.recommendation),
                "consensus": event.consensus,
                "confidence": event.confidence,
                "duration": event.duration,
                "usage": usage_json(event.usage),
            }
        case PanelCancelled():
            return {"panel_id": str(event.panel_id), "timestamp": event.timestamp.isoformat()}
        case ExpertFailed():
            return {"message": event.message, "agent_id": event.agent_id, "round": event.round, "terminal": False}
        case PanelFailed():
            return {"message": event.message, "terminal": True, "panel_id": str(event.panel_id)}
    raise TypeError(f"not an event of the log: {event!r}")


def event_of(event_type: str, data: dict[str, Any]) -> PanelEvent | ExpertToken:
    """The payload an event's `data` describes (the inverse of `event_data`, plus the unstored `expert_token`).

    Raises `ValueError` for an unknown type, and `KeyError`/`ValueError` for data that lacks its fields.
    """
    match EventType(event_type):
        case EventType.PANEL_STARTED:
            return PanelStarted(
                panel_id=PanelId.from_string(data["panel_id"]),
                panel_type=PanelType(data["panel_type"]),
                query=data["query"],
                members=tuple(member_of(m) for m in data["members"]),
                timestamp=datetime.fromisoformat(data["timestamp"]),
            )
        case EventType.ROUND_STARTED:
            return RoundStarted(round=data["round"], timestamp=datetime.fromisoformat(data["timestamp"]))
        case EventType.EXPERT_SPEAKING:
            return ExpertSpeaking(message=message_of(data))
        case EventType.ROUND_COMPLETE:
            return RoundComplete(round=data["round"], messages=data["messages"], feedback=data.get("feedback"))
        case EventType.CONSENSUS_UPDATE:
            consensus = consensus_of(data)
            assert consensus is not None
            return ConsensusUpdate(round=data["round"], consensus=consensus)
        case EventType.PANEL_COMPLETE:
            recommendation = recommendation_of(data["recommendation"])
            assert recommendation is not None
            return PanelComplete(
                panel_id=PanelId.from_string(data["panel_id"]),
                recommendation=recommendation,
                consensus=data["consensus"],
                confidence=data["confidence"],
                duration=data.get("duration"),
                usage=usage_of(data.get("usage")),
            )
        case EventType.PANEL_CANCELLED:
            return PanelCancelled(
                panel_id=PanelId.from_string(data["panel_id"]), timestamp=datetime.fromisoformat(data["timestamp"])
            )
        case EventType.ERROR if data.get("terminal"):
            return PanelFailed(message=data["message"], panel_id=PanelId.from_string(data["panel_id"]))
        case EventType.EXPERT_ERROR | EventType.ERROR:  # `error` without `terminal`: a server before expert_error
            return ExpertFailed(message=data["message"], agent_id=data["agent_id"], round=data["round"])
        case EventType.EXPERT_TOKEN:
            return ExpertToken(
                agent_id=data["agent_id"], agent_name=data["agent_name"], round=data["round"], delta=data["delta"]
            )
    raise ValueError(f"unknown event type {event_type!r}")


def stored_type(event_type: str, data: dict[str, Any]) -> str:
    """An event's type as read from the log: one expert's failure stored before `expert_error` existed
    (an `error` with `terminal: false`) is read as the `expert_error` it is."""
    if event_type == EventType.ERROR and data.get("terminal") is False:
        return EventType.EXPERT_ERROR.value
    return event_type
