"""How the client's stream ends: at the terminal event, or at the 204 of a panel whose last event the
client already has (an ended stream is a normal end, never an error or a reconnect loop), sync and async."""

from __future__ import annotations

import json

import httpx2
import pytest

from ask_panel.client import AskPanel, AsyncAskPanel, NotFound, ReconnectPolicy

TENANT = "11111111-1111-1111-1111-111111111111"
PANEL_ID = "00000000-0000-4000-8000-000000000001"
SSE = {"content-type": "text/event-stream"}


def frames(*events: Frame) -> bytes:
    return b"retry: 10\n\n" + b"".join(
        f"id: {seq}\nevent: {name}\ndata: {json.dumps(data)}\n\n".encode() for seq, name, data in events
    )


Frame = tuple[int, str, dict[str, object]]
ROUND_STARTED: Frame = (5, "round_started", {"round": 2, "timestamp": "2026-11-30T10:00:00+00:00"})
CANCELLED: Frame = (6, "panel_cancelled", {"panel_id": PANEL_ID, "timestamp": "2026-11-30T10:00:01+00:00"})


def scripted(*answers: httpx2.Response) -> tuple[httpx2.MockTransport, list[httpx2.Request]]:
    seen: list[httpx2.Request] = []
    queue = list(answers)

    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if not queue:
            raise AssertionError(f"an unexpected request: {request.method} {request.url}")
        return queue.pop(0)

    return httpx2.MockTransport(handle), seen


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []

    async def wait(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr("ask_panel.client.sync_client.time.sleep", waits.append)
    monkeypatch.setattr("ask_panel.client.async_client.asyncio.sleep", wait)
    return waits


def test_a_204_ends_the_stream_with_no_event_and_no_reconnect() -> None:
    transport, seen = scripted(httpx2.Response(204))
    with AskPanel("http://api.test", tenant=TENANT, transport=transport) as client:
        assert list(client.stream(PANEL_ID, last_event_id=6)) == []
    assert len(seen) == 1 and seen[0].headers["Last-Event-ID"] == "6"


async def test_a_204_ends_the_async_stream_with_no_event_and_no_reconnect() -> None:
    transport, seen = scripted(httpx2.Response(204))
    async with AsyncAskPanel("http://api.test", tenant=TENANT, transport=transport) as client:
        assert [event async for event in client.stream(PANEL_ID, last_event_id=6)] == []
    assert len(seen) == 1


def test_a_stream_that_closes_early_resumes_and_a_204_then_ends_it(no_waiting: list[float]) -> None:
    transport, seen = scripted(httpx2.Response(200, headers=SSE, content=frames(ROUND_STARTED)), httpx2.Response(204))
    with AskPanel("http://api.test", tenant=TENANT, transport=transport) as client:
        assert [event.id for event in client.stream(PANEL_ID, last_event_id=4)] == [5]
    assert [r.headers.get("Last-Event-ID") for r in seen] == ["4", "5"]
    assert no_waiting == [], "a stream that brought events resumes at once"


async def test_an_async_stream_already_ended_on_the_server_is_a_normal_end() -> None:
    transport, seen = scripted(httpx2.Response(200, headers=SSE, content=b"retry: 10\n\n"), httpx2.Response(204))
    async with AsyncAskPanel("http://api.test", tenant=TENANT, transport=transport) as client:
        assert [event async for event in client.stream(PANEL_ID, last_event_id=6)] == []
    assert len(seen) == 2


def test_the_terminal_event_ends_the_stream_without_another_request() -> None:
    transport, seen = scripted(httpx2.Response(200, headers=SSE, content=frames(ROUND_STARTED, CANCELLED)))
    with AskPanel("http://api.test", tenant=TENANT, transport=transport) as client:
        events = list(client.stream(PANEL_ID, last_event_id=4))
    assert [e.type.value for e in events] == ["round_started", "panel_cancelled"] and len(seen) == 1


def test_a_problem_from_the_stream_endpoint_is_raised_as_it_is() -> None:
    body = {"title": "Not found", "status": 404, "detail": "no such panel"}
    transport, seen = scripted(httpx2.Response(404, json=body))
    client = AskPanel("http://api.test", tenant=TENANT, transport=transport, reconnect=ReconnectPolicy(attempts=3))
    with client, pytest.raises(NotFound, match="no such panel"):
        list(client.stream(PANEL_ID))
    assert len(seen) == 1
