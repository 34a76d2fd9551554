"""A panel's stream as typed events, and the cursor that resumes it without duplicates or gaps."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from httpx2 import ServerSentEvent

from ask_panel.domain.events import EventType, ExpertToken, PanelEvent, is_terminal_event
from ask_panel.infrastructure.serialization.events import event_of

Payload = PanelEvent | ExpertToken


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a panel's stream: `id` is its sequence number in the panel's log (None for `expert_token`).

    `payload` is the service's own typed event (`PanelStarted`, `ExpertSpeaking`, ... from
    `ask_panel.domain.events`); `data` is its JSON as sent.
    """

    id: int | None
    type: EventType
    data: dict[str, Any]
    payload: Payload

    @property
    def terminal(self) -> bool:
        """`panel_complete`, `panel_cancelled` or a terminal `error`: nothing follows it."""
        return is_terminal_event(self.type, self.data)

    def as_json(self) -> dict[str, Any]:
        """The event as one JSON object `{id, event, data}` (the WebSocket's frame shape)."""
        return {"id": self.id, "event": self.type.value, "data": self.data}


class UnknownEvent(ValueError):
    """A frame whose event type this client does not know (a newer service); skipped by the cursor."""


def decode(sse: ServerSentEvent) -> Event:
    try:
        event_type = EventType(sse.event)
    except ValueError:
        raise UnknownEvent(sse.event) from None
    data = json.loads(sse.data) if sse.data else {}
    if not isinstance(data, dict):
        raise UnknownEvent(f"{sse.event} with non-object data")
    try:
        payload = event_of(event_type, data)
    except (KeyError, TypeError, ValueError) as exc:
        raise UnknownEvent(f"{sse.event} with data this client cannot read: {exc}") from None
    return Event(id=int(sse.id) if sse.id else None, type=event_type, data=data, payload=payload)


@dataclass(slots=True)
class StreamCursor:
    """Where a stream is: the last event id delivered, the server's retry hint, whether it has ended.

    Frames at or below the last id (a reconnect's overlap) are dropped, so every event is delivered
    once, in order; reconnecting with `Last-Event-ID: last_event_id` leaves no gap.
    """

    last_event_id: int = 0
    finished: bool = False
    retry_ms: int | None = None
    skipped: list[str] = field(default_factory=list)

    def accept(self, sse: ServerSentEvent) -> Event | None:
        """The event this frame carries, or None for a duplicate, a retry hint or an unknown type."""
        if sse.retry is not None:
            self.retry_ms = sse.retry
        if not sse.data and sse.event == "message":
            return None  # a retry hint alone
        if sse.event == EventType.EXPERT_TOKEN:
            # Deltas carry no id; an EventSource reports the last id seen for them, so it is ignored.
            sse = ServerSentEvent(event=sse.event, data=sse.data, id="", retry=sse.retry)
        seq = int(sse.id) if sse.id.isdigit() else None
        if seq is not None:
            if seq <= self.last_event_id:
                return None
            self.last_event_id = seq
        try:
            event = decode(sse)
        except (UnknownEvent, ValueError):
            self.skipped.append(sse.event)
            return None
        if event.terminal:
            self.finished = True
        return event

    def resume_headers(self) -> dict[str, str]:
        return {"Last-Event-ID": str(self.last_event_id)} if self.last_event_id else {}
