"""The panel event log's vocabulary: event types and the events an aggregate emits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ask_panel.domain.ids import TenantId


class EventType(StrEnum):
    PANEL_STARTED = "panel_started"
    ROUND_STARTED = "round_started"
    EXPERT_SPEAKING = "expert_speaking"
    ROUND_COMPLETE = "round_complete"
    CONSENSUS_UPDATE = "consensus_update"
    PANEL_COMPLETE = "panel_complete"
    PANEL_CANCELLED = "panel_cancelled"
    ERROR = "error"
    # Not persisted: token deltas, only for subscribers that ask for them.
    EXPERT_TOKEN = "expert_token"


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event emitted by the aggregate, not yet given its sequence number."""

    type: EventType
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event of the durable log: `seq` is per panel, from 1, without gaps."""

    panel_id: str
    seq: int
    type: str
    data: dict[str, Any]
    created_at: datetime
    tenant_id: TenantId | None = None

    @property
    def is_terminal(self) -> bool:
        return is_terminal_event(self.type, self.data)


def is_terminal_event(event_type: str, data: dict[str, Any]) -> bool:
    if event_type in (EventType.PANEL_COMPLETE, EventType.PANEL_CANCELLED):
        return True
    return event_type == EventType.ERROR and bool(data.get("terminal"))
