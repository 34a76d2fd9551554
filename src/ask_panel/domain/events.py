"""The panel event log's vocabulary: event types, one payload type per event, and stored events.

The aggregate emits payloads (`PanelStarted`, `ExpertSpeaking`, ...); infrastructure turns them into
the log's JSON at the edge (`infrastructure/serialization/events.py`), and every stream reads that
JSON back from the log. Each payload's fields are, in order, the keys of its event's `data`: the
event names and fields are a published contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.domain.status import PanelType
from ask_panel.domain.values import Consensus, Member, Message, Recommendation, Usage


class EventType(StrEnum):
    PANEL_STARTED = "panel_started"
    ROUND_STARTED = "round_started"
    EXPERT_SPEAKING = "expert_speaking"
    ROUND_COMPLETE = "round_complete"
    CONSENSUS_UPDATE = "consensus_update"
    PANEL_COMPLETE = "panel_complete"
    PANEL_CANCELLED = "panel_cancelled"
    # The panel failed: the seed's terminal failure, sent once per panel (its data has `terminal: true`).
    ERROR = "error"
    # One expert could not answer a turn; the panel goes on. Its own name, so that browsers' `onerror`
    # (which EventSource also fires for connection errors) only ever sees the panel's end.
    EXPERT_ERROR = "expert_error"
    # Not persisted: text deltas of a turn in progress, only for subscribers that ask for them.
    EXPERT_TOKEN = "expert_token"


@dataclass(frozen=True, slots=True)
class PanelStarted:
    type: ClassVar[EventType] = EventType.PANEL_STARTED
    panel_id: PanelId
    panel_type: PanelType
    query: str
    members: tuple[Member, ...]
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class RoundStarted:
    type: ClassVar[EventType] = EventType.ROUND_STARTED
    round: int
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class ExpertSpeaking:
    """A message was said; the event's data is the message's fields."""

    type: ClassVar[EventType] = EventType.EXPERT_SPEAKING
    message: Message


@dataclass(frozen=True, slots=True)
class RoundComplete:
    type: ClassVar[EventType] = EventType.ROUND_COMPLETE
    round: int
    messages: int
    feedback: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ConsensusUpdate:
    """The consensus measured at a round's end; the data is the round and the consensus's fields."""

    type: ClassVar[EventType] = EventType.CONSENSUS_UPDATE
    round: int
    consensus: Consensus


@dataclass(frozen=True, slots=True)
class PanelComplete:
    type: ClassVar[EventType] = EventType.PANEL_COMPLETE
    panel_id: PanelId
    recommendation: Recommendation
    consensus: float
    confidence: float
    duration: float | None
    usage: Usage


@dataclass(frozen=True, slots=True)
class PanelCancelled:
    type: ClassVar[EventType] = EventType.PANEL_CANCELLED
    panel_id: PanelId
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class ExpertFailed:
    """One expert could not answer a turn; the panel goes on (`expert_error`, with `terminal: false`)."""

    type: ClassVar[EventType] = EventType.EXPERT_ERROR
    message: str
    agent_id: str
    round: int
    terminal: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class PanelFailed:
    """The panel failed (`error`, with `terminal: true`): the last event of a failed panel."""

    type: ClassVar[EventType] = EventType.ERROR
    message: str
    panel_id: PanelId
    terminal: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class ExpertToken:
    """Text deltas of a turn in progress: never stored, no sequence number (`expert_token`)."""

    type: ClassVar[EventType] = EventType.EXPERT_TOKEN
    agent_id: str
    agent_name: str
    round: int
    delta: str


PanelEvent = (
    PanelStarted
    | RoundStarted
    | ExpertSpeaking
    | RoundComplete
    | ConsensusUpdate
    | PanelComplete
    | PanelCancelled
    | ExpertFailed
    | PanelFailed
)
"""Every event the aggregate emits (and the log stores)."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event of the durable log, as JSON data: `seq` is per panel, from 1, without gaps."""

    panel_id: str
    seq: int
    type: str
    data: dict[str, Any]
    created_at: datetime
    tenant_id: TenantId | None = None

    @property
    def is_terminal(self) -> bool:
        return is_terminal_event(self.type, self.data)


def is_terminal_event(event_type: str, data: Mapping[str, Any]) -> bool:
    if event_type in (EventType.PANEL_COMPLETE, EventType.PANEL_CANCELLED):
        return True
    return event_type == EventType.ERROR and bool(data.get("terminal"))
