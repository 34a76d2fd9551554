"""The published event schemas (`api/event_schemas.py`) say exactly what the streams send: every event
of real panels, on the SSE and the WebSocket wire, validates against its schema and has exactly its keys."""

from __future__ import annotations

from typing import Any, cast

import orjson
import pytest
from pydantic import BaseModel

from ask_panel.api.event_schemas import DATA_MODELS, FRAME_MODELS, STREAM_EVENT, WebSocketCommand
from ask_panel.api.wire import sse_frame, ws_control, ws_text
from ask_panel.application.hub import LiveEvent
from ask_panel.domain.events import EventType, ExpertToken, StoredEvent
from tests.harness import TENANT, create, harness, load, memory_settings, run_panel
from tests.scripted import ScriptedProvider

THREE = ["fda_expert", "clinical_expert", "reimbursement_expert"]
FDA = "Dr. Maya Chen"


def sse_as_frame(frame: bytes) -> dict[str, Any]:
    """An SSE frame's fields as the `{id, event, data}` object its schema describes."""
    fields = dict(line.split(": ", 1) for line in frame.decode().strip().splitlines())
    return {
        "id": int(fields["id"]) if "id" in fields else None,
        "event": fields["event"],
        "data": orjson.loads(fields["data"]),
    }


def assert_exactly_described(message: dict[str, Any]) -> None:
    frame = STREAM_EVENT.validate_python(message)
    model: type[BaseModel] = DATA_MODELS[EventType(message["event"])]
    assert set(message["data"]) == set(model.model_fields), message["event"]
    assert set(message) == set(type(frame).model_fields)


async def events_of_every_kind() -> list[StoredEvent]:
    """Every stored event type: five panel types, an expert's failure, a failed and a cancelled panel."""
    events: list[StoredEvent] = []
    async with harness(memory_settings(), ScriptedProvider()) as container:
        for kind in ("structured", "open", "socratic", "adversarial", "delphi"):
            events += (await run_panel(container, kind, THREE, max_rounds=2))[1]
        cancelled = await create(container, "structured", THREE)
        await container.panels.cancel(TENANT, cancelled)
        events += (await load(container, cancelled))[1]
    failing = ScriptedProvider(fail_for=lambda call: call.speaker == FDA)
    async with harness(memory_settings(), failing) as container:
        events += (await run_panel(container, "structured", THREE, max_rounds=1))[1]
    quorum = ScriptedProvider(fail_for=lambda call: call.speaker in (FDA, "Dr. Samuel Okafor"))
    async with harness(memory_settings(), quorum) as container:
        events += (await run_panel(container, "structured", THREE, max_rounds=1))[1]
    return events


async def test_every_stored_event_on_either_wire_is_exactly_what_its_schema_says() -> None:
    events = await events_of_every_kind()
    kinds = {e.type for e in events}
    assert kinds == {t.value for t in EventType} - {EventType.EXPERT_TOKEN}, "every stored kind was produced"
    for stored in events:
        live = LiveEvent.of(stored)
        assert_exactly_described(orjson.loads(ws_text(live)))
        assert_exactly_described(sse_as_frame(sse_frame(live)))


def test_a_text_delta_is_exactly_what_its_schema_says() -> None:
    delta = LiveEvent.delta(ExpertToken(agent_id="fda_expert", agent_name=FDA, round=1, delta="Hel"))
    assert_exactly_described(orjson.loads(ws_text(delta)))
    assert_exactly_described(sse_as_frame(sse_frame(delta)))


def test_every_event_type_has_one_schema_and_the_failures_are_told_apart() -> None:
    assert set(FRAME_MODELS) == set(EventType)
    assert DATA_MODELS[EventType.ERROR].model_fields["terminal"].annotation.__args__ == (True,)  # type: ignore[union-attr]
    assert DATA_MODELS[EventType.EXPERT_ERROR].model_fields["terminal"].annotation.__args__ == (False,)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "answer",
    [{"type": "pong"}, {"type": "cancel", "ok": True}, {"type": "cancel", "ok": False, "status": 409, "detail": "x"}],
)
def test_the_websockets_control_answers_and_commands_have_schemas(answer: dict[str, Any]) -> None:
    from pydantic import TypeAdapter

    from ask_panel.api.event_schemas import WebSocketMessage

    TypeAdapter(cast(Any, WebSocketMessage)).validate_python(orjson.loads(ws_control(answer)))
    WebSocketCommand.model_validate({"type": "cancel"})
