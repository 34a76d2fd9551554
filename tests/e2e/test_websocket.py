"""The WebSocket stream against a real server: JSON messages, same ids as SSE, cancel, auth and denial."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import orjson
import pytest
from httpx2.websockets import AsyncWebSocketSession, WebSocketDisconnect, WebSocketUpgradeError

from tests.conftest import TENANT_A, TENANT_B, headers_for
from tests.e2e.conftest import (
    StartLive,
    get_panel,
    http_client,
    new_panel,
    read_all,
    run_to_end,
    signature,
    wait_for_status,
)


@asynccontextmanager
async def open_ws(
    client: httpx2.AsyncClient, panel_id: str, *, tenant: str | None = TENANT_A, **params: Any
) -> AsyncIterator[AsyncWebSocketSession]:
    headers = headers_for(tenant) if tenant is not None else None
    async with client.websocket(
        f"/api/v1/panels/{panel_id}/ws",
        headers=headers,
        params={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()},
        keepalive_ping_interval_seconds=None,
    ) as ws:
        yield ws


async def receive_until_closed(ws: AsyncWebSocketSession) -> tuple[list[dict[str, Any]], int]:
    """Every message until the server closes the socket, and the close code (bounded)."""
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(60):
        while True:
            try:
                text = await ws.receive_text()
            except WebSocketDisconnect as closed:
                return messages, closed.code
            messages.append(orjson.loads(text))


def ws_signature(messages: list[dict[str, Any]]) -> list[tuple[int, str, Any]]:
    return [(m["id"], m["event"], m["data"]) for m in messages if m["id"] is not None]


def sse_as_ws(frames: list[Any]) -> list[tuple[int, str, Any]]:
    return [(seq, event, data) for seq, event, data in signature(frames)]


async def test_websocket_messages_are_json_with_the_same_ids_and_order_as_sse(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    pid = panel["panel_id"]
    async with open_ws(client, pid) as ws:
        assert (await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())).status_code == 202
        live, code = await receive_until_closed(ws)
    assert code == 1000
    assert all(set(m) == {"id", "event", "data"} for m in live)
    assert [m["id"] for m in live] == list(range(1, len(live) + 1))
    assert live[0]["event"] == "panel_started" and live[-1]["event"] == "panel_complete"

    async with client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as response:
        sse = await read_all(response)
    assert ws_signature(live) == sse_as_ws(sse)

    # A finished panel replays over the WebSocket too, resumable with ?last_event_id=.
    async with open_ws(client, pid) as ws:
        replayed, _ = await receive_until_closed(ws)
    assert ws_signature(replayed) == ws_signature(live)
    async with open_ws(client, pid, last_event_id=3) as ws:
        resumed, _ = await receive_until_closed(ws)
    assert ws_signature(resumed) == ws_signature(live)[3:]


async def test_websocket_tokens_flag_adds_id_less_token_messages(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    pid = panel["panel_id"]
    async with open_ws(client, pid, tokens=True) as ws:
        assert (await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())).status_code == 202
        messages, _ = await receive_until_closed(ws)
    tokens = [m for m in messages if m["event"] == "expert_token"]
    assert tokens and all(m["id"] is None and m["data"]["delta"] for m in tokens)
    assert [m["id"] for m in messages if m["id"] is not None] == list(range(1, len(messages) - len(tokens) + 1))


async def test_a_cancel_command_over_the_websocket_cancels_the_running_panel(start_live_server: StartLive) -> None:
    # Slow tokens, so the panel is surely still running when the command arrives.
    async with start_live_server(simulated_token_delay_ms=10) as live, http_client(live.base_url) as client:
        panel = await new_panel(client)
        pid = panel["panel_id"]
        async with open_ws(client, pid) as ws:
            assert (await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())).status_code == 202
            async with asyncio.timeout(30):
                while orjson.loads(await ws.receive_text())["event"] != "round_started":
                    pass
            await ws.send_json({"type": "cancel"})
            messages, code = await receive_until_closed(ws)
        assert code == 1000
        events = [m["event"] for m in messages if m["id"] is not None]
        assert events[-1] == "panel_cancelled"
        assert "panel_complete" not in events
        cancelled = next(m for m in messages if m["event"] == "panel_cancelled")
        assert cancelled["data"]["panel_id"] == pid
        assert (await get_panel(client, pid))["status"] == "cancelled"


async def test_websocket_commands_other_than_cancel_get_control_answers(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    async with open_ws(client, panel["panel_id"]) as ws:
        await ws.send_json({"type": "ping"})
        pong = orjson.loads(await ws.receive_text(timeout=30))
        assert pong == {"id": None, "event": "control", "data": {"type": "pong"}}
        await ws.send_text("not json")
        error = orjson.loads(await ws.receive_text(timeout=30))
        assert error["event"] == "control" and error["data"]["type"] == "error"
    assert (await get_panel(client, panel["panel_id"]))["status"] == "draft"


async def test_a_cancel_command_cancels_a_draft_panel_that_the_websocket_is_waiting_on(
    client: httpx2.AsyncClient,
) -> None:
    panel = await new_panel(client)
    pid = panel["panel_id"]
    async with open_ws(client, pid) as ws:
        await ws.send_json({"type": "cancel"})
        messages, code = await receive_until_closed(ws)
    assert code == 1000
    assert ws_signature(messages)[-1][:2] == (1, "panel_cancelled")
    assert (await get_panel(client, pid))["status"] == "cancelled"


async def expect_refused(client: httpx2.AsyncClient, path: str, **kwargs: Any) -> int:
    """The status of a denial response, or the close code of a closed-before-use socket."""
    try:
        async with client.websocket(path, keepalive_ping_interval_seconds=None, **kwargs) as ws:
            try:
                await ws.receive_text(timeout=30)
            except WebSocketDisconnect as closed:
                assert closed.code >= 4000, closed.code
                return closed.code - 4000
    except WebSocketUpgradeError as denied:
        return denied.response.status_code
    pytest.fail("the WebSocket was accepted")


async def test_websocket_to_an_unknown_panel_is_refused(client: httpx2.AsyncClient) -> None:
    status = await expect_refused(client, f"/api/v1/panels/{uuid.uuid4()}/ws", headers=headers_for())
    assert status == 404
    assert await expect_refused(client, "/api/v1/panels/not-a-uuid/ws", headers=headers_for()) == 404


async def test_websocket_of_another_tenant_is_refused(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    assert await expect_refused(client, f"/api/v1/panels/{panel['panel_id']}/ws", headers=headers_for(TENANT_B)) == 404


async def test_websocket_without_credentials_is_refused(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    path = f"/api/v1/panels/{panel['panel_id']}/ws"
    assert await expect_refused(client, path, headers={"X-Tenant-ID": TENANT_A}) == 401
    assert await expect_refused(client, path, params={"ticket": "made-up"}) == 401


async def test_websocket_accepts_a_stream_ticket_instead_of_headers(client: httpx2.AsyncClient) -> None:
    panel_id, frames = await run_to_end(client)
    issued = await client.post(f"/api/v1/panels/{panel_id}/stream-ticket", headers=headers_for())
    assert issued.status_code == 201
    ticket = issued.json()["ticket"]
    async with open_ws(client, panel_id, tenant=None, ticket=ticket) as ws:
        messages, code = await receive_until_closed(ws)
    assert code == 1000
    assert ws_signature(messages) == sse_as_ws(frames)
    # It serves this WebSocket's reconnects, and not the SSE stream of the same panel.
    last = sse_as_ws(frames)[-1][0]
    async with open_ws(client, panel_id, tenant=None, ticket=ticket, last_event_id=last - 1) as ws:
        again, _ = await receive_until_closed(ws)
    assert ws_signature(again) == sse_as_ws(frames)[-1:]
    refused = await client.get(f"/api/v1/panels/{panel_id}/stream", params={"ticket": ticket})
    assert refused.status_code == 401


async def test_a_websocket_client_leaving_does_not_cancel_the_panel(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    pid = panel["panel_id"]
    async with open_ws(client, pid) as ws:
        assert (await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())).status_code == 202
        first = orjson.loads(await ws.receive_text(timeout=30))
        assert first["id"] == 1
    done = await wait_for_status(client, pid, {"completed", "failed", "cancelled"})
    assert done["status"] == "completed"
