"""Security headers on every response: no-sniff, no framing, no referrer; the web app's page keeps its full policy."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx2
import pytest

from ask_panel.api.app import create_app
from ask_panel.api.routes.webapp import CONTENT_SECURITY_POLICY
from ask_panel.bootstrap import Container, bootstrap
from ask_panel.config import MEMORY_DATABASE_URL
from tests.conftest import TENANT_A, create_panel, headers_for, make_settings, wait_for_status

LISTED_ORIGIN = "https://app.example.test"
EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def assert_secured(response: httpx2.Response, *, csp: str = "frame-ancestors 'none'") -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get_list(name) == [value], (name, response.request.url)
    assert response.headers.get_list("content-security-policy") == [csp], response.request.url


@pytest.fixture
async def container() -> AsyncIterator[Container]:
    container = bootstrap(make_settings(MEMORY_DATABASE_URL, cors_origins=LISTED_ORIGIN, max_body_bytes=2048))
    await container.start()
    yield container
    await container.stop()


@pytest.fixture(params=[True, False], ids=["fast-path", "routed"])
async def client(container: Container, request: pytest.FixtureRequest) -> AsyncIterator[httpx2.AsyncClient]:
    app = create_app(container=container, watch_fast_path=request.param)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/healthz", {}, 200),
        ("GET", "/api/v1/meta", {}, 200),
        ("GET", "/api/v1/panels", "auth", 200),
        ("GET", "/api/v1/panels", {"X-Tenant-ID": TENANT_A}, 401),
        ("GET", "/api/v1/panels", {}, 400),
        ("GET", "/api/v1/panels/99999999-9999-4999-8999-999999999999", "auth", 404),
        ("POST", "/api/v1/panels", "auth", 422),
        ("GET", "/api/v1/panels/99999999-9999-4999-8999-999999999999/stream", "auth", 404),
        ("GET", "/api/v1/panels/99999999-9999-4999-8999-999999999999/stream", {}, 400),
        ("GET", "/no/such/route", {}, 404),
        ("DELETE", "/healthz", {}, 405),
        ("GET", "/metrics", {}, 200),
        ("GET", "/openapi.json", {}, 200),
    ],
)
async def test_every_kind_of_answer_carries_the_security_headers(
    client: httpx2.AsyncClient, method: str, path: str, headers: Any, status: int
) -> None:
    response = await client.request(method, path, headers=headers_for() if headers == "auth" else headers, json=None)
    assert response.status_code == status, response.text
    assert_secured(response)


async def test_a_body_too_large_is_refused_with_the_headers(client: httpx2.AsyncClient) -> None:
    response = await client.post("/api/v1/panels", headers=headers_for(), content=b"x" * 4096)
    assert response.status_code == 413
    assert_secured(response)


async def test_the_web_app_page_keeps_its_own_policy_and_gets_the_rest_once(client: httpx2.AsyncClient) -> None:
    page = await client.get("/")
    assert_secured(page, csp=CONTENT_SECURITY_POLICY)
    asset = page.text.split('href="', 2)[1].split('"', 1)[0]
    assert_secured(await client.get(asset))


async def test_the_api_documentation_pages_keep_their_own_policy(client: httpx2.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    policy = response.headers.get_list("content-security-policy")
    assert len(policy) == 1 and "frame-ancestors 'none'" in policy[0]
    assert response.headers["x-frame-options"] == "DENY"


async def test_cors_preflights_and_answers_keep_their_cors_headers_beside_the_security_headers(
    client: httpx2.AsyncClient,
) -> None:
    preflight = await client.options(
        "/api/v1/panels",
        headers={"Origin": LISTED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == LISTED_ORIGIN
    assert_secured(preflight)
    refused = await client.options(
        "/api/v1/panels", headers={"Origin": "https://evil.example.test", "Access-Control-Request-Method": "POST"}
    )
    assert refused.status_code == 403
    assert_secured(refused)
    assert refused.json()["request_id"] == refused.headers["x-request-id"], "a refusal carries its request id"
    traced = await client.options(
        "/api/v1/panels",
        headers={"Origin": LISTED_ORIGIN, "Access-Control-Request-Method": "TRACE", "X-Request-ID": "req-42"},
    )
    assert traced.status_code == 400 and traced.json()["request_id"] == "req-42"
    answer = await client.get("/api/v1/panels", headers={**headers_for(), "Origin": LISTED_ORIGIN})
    assert answer.headers["access-control-allow-origin"] == LISTED_ORIGIN
    assert_secured(answer)


async def test_a_watch_stream_carries_the_headers_and_still_streams_every_event(client: httpx2.AsyncClient) -> None:
    panel = await create_panel(client)
    await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
    await wait_for_status(client, panel["panel_id"], {"completed"})
    async with client.stream("GET", f"/api/v1/panels/{panel['panel_id']}/stream", headers=headers_for()) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert_secured(stream)
        body = "".join([chunk async for chunk in stream.aiter_text()])
    assert "event: panel_complete" in body


async def test_a_refused_websocket_handshake_answers_with_the_headers(container: Container) -> None:
    app = create_app(container=container)
    sent: list[MutableMapping[str, Any]] = []
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": "/api/v1/panels/99999999-9999-4999-8999-999999999999/ws",
        "raw_path": b"/api/v1/panels/99999999-9999-4999-8999-999999999999/ws",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
        "app": app,
    }
    messages = iter([{"type": "websocket.connect"}])

    async def receive() -> MutableMapping[str, Any]:
        return next(messages, {"type": "websocket.disconnect", "code": 1000})

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "websocket.http.response.start")
    assert start["status"] in (400, 401)
    headers = {name.decode(): value.decode() for name, value in start["headers"]}
    for name, value in EXPECTED.items():
        assert headers[name] == value
