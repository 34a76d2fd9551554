"""The event log's JSON: each event payload's `data`, exactly as clients have always received it."""

from __future__ import annotations

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
from ask_panel.infrastructure.serialization.values import (
    Json,
    member_json,
    message_json,
    recommendation_json,
    usage_json,
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
