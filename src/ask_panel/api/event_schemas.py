"""The stream's events as schemas: one `data` schema per event, built from the typed payloads of
`domain/events.py`, the frame that carries each (`{id, event, data}`, the WebSocket message and the
SSE frame's three fields), and the WebSocket's own messages.

A payload's fields are its data's keys (`infrastructure/serialization/events.py` writes them), with
two documented exceptions: `expert_speaking` carries its message's fields and `consensus_update` its
consensus's fields beside `round`; and the two failure events add their constant `terminal`. Like
`api/schemas.py`, this module imports pydantic and the domain only, so a client can import it.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin, get_type_hints
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

from ask_panel.domain.events import (
    ConsensusUpdate,
    EventType,
    ExpertFailed,
    ExpertSpeaking,
    ExpertToken,
    PanelCancelled,
    PanelComplete,
    PanelFailed,
    PanelStarted,
    RoundComplete,
    RoundStarted,
)
from ask_panel.domain.ids import PanelId

# Each event, its payload type, and the payload field (a value object) whose fields its data carries.
EVENTS: tuple[tuple[EventType, type, str | None], ...] = (
    (EventType.PANEL_STARTED, PanelStarted, None),
    (EventType.ROUND_STARTED, RoundStarted, None),
    (EventType.EXPERT_TOKEN, ExpertToken, None),
    (EventType.EXPERT_SPEAKING, ExpertSpeaking, "message"),
    (EventType.EXPERT_ERROR, ExpertFailed, None),
    (EventType.ROUND_COMPLETE, RoundComplete, None),
    (EventType.CONSENSUS_UPDATE, ConsensusUpdate, "consensus"),
    (EventType.PANEL_COMPLETE, PanelComplete, None),
    (EventType.PANEL_CANCELLED, PanelCancelled, None),
    (EventType.ERROR, PanelFailed, None),
)

WHAT = {
    EventType.PANEL_STARTED: "The panel started: its members and question.",
    EventType.ROUND_STARTED: "A round started.",
    EventType.EXPERT_TOKEN: "Text deltas of a turn being written (only with `?tokens=true`; never stored, no id).",
    EventType.EXPERT_SPEAKING: "A turn was said: the message, with the expert's stance when one was read.",
    EventType.EXPERT_ERROR: "One expert could not answer a turn; the panel goes on.",
    EventType.ROUND_COMPLETE: "A round ended: how many messages it had, and the facilitator's feedback.",
    EventType.CONSENSUS_UPDATE: "The consensus measured at a round's end, with its parts.",
    EventType.PANEL_COMPLETE: "The panel completed: the recommendation, consensus, usage. The last event.",
    EventType.PANEL_CANCELLED: "The panel was cancelled. The last event.",
    EventType.ERROR: "The panel failed (the seed's terminal `error`; once per panel). The last event.",
}


def _wire(hint: Any) -> Any:
    """A payload field's type as its JSON says it: ids are UUID strings, tuples are arrays."""
    if hint is PanelId:
        return UUID
    origin = get_origin(hint)
    if origin is tuple:
        return list[_wire(get_args(hint)[0])]  # type: ignore[misc]
    if origin is Union or isinstance(hint, types.UnionType):
        return Union[tuple(_wire(a) for a in get_args(hint))]  # noqa: UP007
    return hint


def _fields_of(payload: type, flatten: str | None) -> dict[str, Any]:
    hints = get_type_hints(payload)
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(payload):
        if field.name == flatten:
            fields.update(_fields_of(hints[field.name], None))
        else:
            fields[field.name] = (_wire(hints[field.name]), ...)
    terminal = getattr(payload, "terminal", None)
    if isinstance(terminal, bool):
        fields["terminal"] = (Literal[True] if terminal else Literal[False], ...)
    return fields


def _data_model(event: EventType, payload: type, flatten: str | None) -> type[BaseModel]:
    model: type[BaseModel] = create_model(
        f"{payload.__name__}Data",
        __config__=ConfigDict(extra="allow"),  # a newer service may add keys: clients keep working
        __doc__=f"The data of `{event.value}`: {WHAT[event]}",
        **_fields_of(payload, flatten),
    )
    return model


def _frame_model(event: EventType, data: type[BaseModel]) -> type[BaseModel]:
    stored = event is not EventType.EXPERT_TOKEN
    id_field: Any = (
        (int, Field(ge=1, description="The event's sequence number in the panel's log (the SSE `id:`)"))
        if stored
        else (None, Field(description="None: text deltas are not stored (the SSE frame has no `id:`)"))
    )
    name = "".join(part.capitalize() for part in event.value.split("_")) + "Event"
    named: Any = Literal[event.value]
    model: type[BaseModel] = create_model(
        name,
        __doc__=WHAT[event],
        id=id_field,
        event=(named, Field(description="The event's name (the SSE `event:`)")),
        data=(data, Field(description="The event's data (the SSE `data:`, one line of JSON)")),
    )
    return model


DATA_MODELS: dict[EventType, type[BaseModel]] = {e: _data_model(e, p, f) for e, p, f in EVENTS}
FRAME_MODELS: dict[EventType, type[BaseModel]] = {e: _frame_model(e, DATA_MODELS[e]) for e, _, _ in EVENTS}

StreamEvent = Annotated[Union[tuple(FRAME_MODELS.values())], Field(discriminator="event")]  # type: ignore[valid-type]  # noqa: UP007
"""One event of a panel's stream: an SSE frame's `id`, `event` and `data`, or one WebSocket message."""
STREAM_EVENT: TypeAdapter[Any] = TypeAdapter(cast(Any, StreamEvent))


class ControlData(BaseModel):
    """A WebSocket answer to a command: `pong`; `cancel` with `ok` (and `status`, `detail` when refused); `error`."""

    type: Literal["pong", "cancel", "error"]
    ok: bool | None = Field(default=None, description="cancel: whether the panel was cancelled")
    status: int | None = Field(default=None, description="cancel refused: the HTTP status it would have had")
    detail: str | None = Field(default=None, description="why the command was refused, or an unknown command")


class ControlMessage(BaseModel):
    """A WebSocket message of its own (not a panel event): the answer to a command."""

    id: None = None
    event: Literal["control"]
    data: ControlData


WebSocketMessage = Annotated[Union[(*FRAME_MODELS.values(), ControlMessage)], Field(discriminator="event")]  # type: ignore[valid-type]
"""What the server sends on the WebSocket: the panel's events, and answers to commands."""


class WebSocketCommand(BaseModel):
    """What a client may send on the WebSocket: `{"type": "cancel"}` cancels the panel; `ping` gets `pong`."""

    type: Literal["cancel", "ping"]


def openapi_schemas(ref_template: str = "#/components/schemas/{model}") -> dict[str, Any]:
    """Every event, frame and WebSocket schema as OpenAPI components, with `StreamEvent`,
    `WebSocketMessage` and `WebSocketCommand` themselves."""
    schemas: dict[str, Any] = {}
    for name, adapter in (
        ("StreamEvent", STREAM_EVENT),
        ("WebSocketMessage", TypeAdapter(cast(Any, WebSocketMessage))),
        ("WebSocketCommand", TypeAdapter(WebSocketCommand)),
    ):
        schema = adapter.json_schema(ref_template=ref_template, mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return schemas


__all__ = [
    "DATA_MODELS",
    "FRAME_MODELS",
    "STREAM_EVENT",
    "ControlMessage",
    "StreamEvent",
    "WebSocketCommand",
    "WebSocketMessage",
    "openapi_schemas",
]
