"""Item 11: numeric claims must be numbers; each invalid stream parameter gets one status and one problem on
SSE (GET and POST) and WebSocket; WebSocket close codes say why the stream ended."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx2
import jwt
import orjson
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ask_panel.application.hub import LiveEvent
from ask_panel.bootstrap import Container
from tests.conftest import JWT_SECRET, TENANT_A, headers_for
from tests.faults.conftest import http_server, panel_body

INVALID = [
    ("last_event_id=-1", {}),
    ("last_event_id=abc", {}),
    ("last_event_id=99999999999", {}),
    ("tokens=maybe", {}),
    ("", {"Last-Event-ID": "abc"}),
]


def token(**claims: Any) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "t", "tenant_id": TENANT_A, "iat": now, "exp": now + 600, **claims}, JWT_SECRET)


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
async def test_a_numeric_claim_given_as_a_string_is_refused(client: httpx2.AsyncClient, claim: str) -> None:
    value = str(int(time.time()) + (600 if claim == "exp" else -60))
    bad = token(**{claim: value})
    response = await client.get("/api/v1/panels", headers=headers_for(token=bad))
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    good = await client.get("/api/v1/panels", headers=headers_for(token=token()))
    assert good.status_code == 200


async def ws_denial(base: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    try:
        async with websockets.connect(base.replace("http", "ws", 1) + path, additional_headers=headers):
            raise AssertionError("the WebSocket was accepted")
    except InvalidStatus as refused:
        assert refused.response.headers["content-type"] == "application/problem+json"
        problem: dict[str, Any] = orjson.loads(refused.response.body)
        return refused.response.status_code, problem


async def test_each_invalid_stream_parameter_gets_one_status_and_one_problem_everywhere(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    async with http_server() as (base, _), httpx2.AsyncClient(base_url=base) as client:
        panel_id = (await client.post("/api/v1/panels", json=panel_body(), headers=headers_for())).json()["panel_id"]
        for query, extra in INVALID:
            headers = {**headers_for(), **extra}
            get = await client.get(f"/api/v1/panels/{panel_id}/stream?{query}", headers=headers)
            post = await client.post(f"/api/v1/panels/{panel_id}/stream?{query}", headers=headers)
            status, problem = await ws_denial(base, f"/api/v1/panels/{panel_id}/ws?{query}", headers)
            answers = [(r.status_code, r.json()["type"], r.json()["title"]) for r in (get, post)]
            answers.append((status, problem["type"], problem["title"]))
            assert answers == [(400, answers[0][1], "Bad request")] * 3, (query, extra, answers)
            assert answers[0][1].endswith("/bad-request")
        status = (await client.get(f"/api/v1/panels/{panel_id}", headers=headers_for())).json()["status"]
    assert status == "draft", "a refused POST /stream did not start the panel"
    assert "without completing handshake" not in capsys.readouterr().err, "a refused WebSocket is not a server error"


async def ws_close_code(base: str, panel_id: str, during: Any = None) -> tuple[int, list[dict[str, Any]]]:
    """Read a panel's WebSocket until the server closes it; `during(messages)` runs once it is open."""
    url = base.replace("http", "ws", 1) + f"/api/v1/panels/{panel_id}/ws"
    messages: list[dict[str, Any]] = []
    async with websockets.connect(url, additional_headers=headers_for()) as ws:
        if during is not None:
            await during()
        try:
            async with asyncio.timeout(60):
                async for text in ws:
                    messages.append(orjson.loads(text))
        except ConnectionClosed:
            pass
        assert ws.close_code is not None
        return ws.close_code, messages


async def subscribed(container: Container, panel_id: str) -> None:
    for _ in range(500):
        if any(str(p) == panel_id for p, _, _ in container.hub.watched()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the WebSocket never subscribed")


async def test_a_websocket_closes_with_1000_when_the_panel_has_ended() -> None:
    async with http_server() as (base, _), httpx2.AsyncClient(base_url=base) as client:
        panel_id = (await client.post("/api/v1/panels", json=panel_body(), headers=headers_for())).json()["panel_id"]

        async def start() -> None:
            await client.post(f"/api/v1/panels/{panel_id}/execute", headers=headers_for())

        code, messages = await ws_close_code(base, panel_id, start)
    assert code == 1000
    assert messages[-1]["event"] == "panel_complete"


async def test_a_websocket_closes_with_1012_when_the_server_restarts() -> None:
    async with http_server() as (base, container), httpx2.AsyncClient(base_url=base) as client:
        panel_id = (await client.post("/api/v1/panels", json=panel_body(), headers=headers_for())).json()["panel_id"]

        async def shut_down() -> None:
            await subscribed(container, panel_id)
            container.hub.close_all()  # what `serve` does on SIGTERM before uvicorn stops

        code, _ = await ws_close_code(base, panel_id, shut_down)
    assert code == 1012


async def test_a_websocket_that_does_not_keep_up_closes_with_1008() -> None:
    async with http_server(stream_buffer_events=16) as (base, container), httpx2.AsyncClient(base_url=base) as client:
        panel_id = (await client.post("/api/v1/panels", json=panel_body(), headers=headers_for())).json()["panel_id"]

        async def overflow() -> None:
            await subscribed(container, panel_id)
            for subscriber in next(iter(container.hub._subscribers.values())):
                subscriber.deliver([LiveEvent(seq, "round_started", {"round": 1}) for seq in range(1, 40)])

        code, _ = await ws_close_code(base, panel_id, overflow)
    assert code == 1008
