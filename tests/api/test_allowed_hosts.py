"""Without authentication the service answers only loopback host names: no DNS rebinding of a local server."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import httpx2
import pytest

from ask_panel.api.app import create_app
from ask_panel.bootstrap import bootstrap
from ask_panel.config import MEMORY_DATABASE_URL
from tests.conftest import make_settings

TENANT = {"X-Tenant-ID": "11111111-1111-1111-1111-111111111111"}


async def get_meta(host_url: str, **settings: Any) -> httpx2.Response:
    container = bootstrap(make_settings(MEMORY_DATABASE_URL, **settings))
    await container.start()
    try:
        transport = httpx2.ASGITransport(app=create_app(container=container))
        async with httpx2.AsyncClient(transport=transport, base_url=host_url) as client:
            return await client.get("/api/v1/panels", headers=TENANT)
    finally:
        await container.stop()


@pytest.mark.parametrize(
    "url", ["http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:8000", "http://LOCALHOST"]
)
async def test_without_auth_loopback_host_names_are_answered(url: str) -> None:
    assert (await get_meta(url, auth_mode="none")).status_code == 200


@pytest.mark.parametrize(
    "url", ["http://attacker.example:8000", "http://127.0.0.1.attacker.example", "http://10.0.0.5"]
)
async def test_without_auth_another_host_name_is_refused_with_a_problem(url: str) -> None:
    answer = await get_meta(url, auth_mode="none")
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert "ASK_PANEL_ALLOWED_HOSTS" in body["detail"] and body["request_id"] == answer.headers["x-request-id"]


async def test_listed_host_names_are_answered_too() -> None:
    assert (await get_meta("http://panel.lan:8000", auth_mode="none", allowed_hosts="panel.lan")).status_code == 200
    assert (await get_meta("http://other.lan", auth_mode="none", allowed_hosts="panel.lan")).status_code == 400
    assert (await get_meta("http://other.lan", auth_mode="none", allowed_hosts="*")).status_code == 200


async def test_with_tokens_any_host_is_answered_unless_hosts_are_listed() -> None:
    assert (await get_meta("http://api.example.com")).status_code == 401  # the token is the guard
    assert (await get_meta("http://api.example.com", allowed_hosts="panels.example.com")).status_code == 400


async def test_a_websocket_to_another_host_is_refused_before_its_handshake() -> None:
    app = create_app(make_settings(MEMORY_DATABASE_URL, auth_mode="none"))
    scope = {
        "type": "websocket",
        "path": "/api/v1/panels/00000000-0000-0000-0000-000000000000/ws",
        "raw_path": b"/api/v1/panels/00000000-0000-0000-0000-000000000000/ws",
        "query_string": b"",
        "headers": [(b"host", b"attacker.example:8000"), (b"origin", b"http://attacker.example:8000")],
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["type"] == "websocket.http.response.start" and sent[0]["status"] == 400
