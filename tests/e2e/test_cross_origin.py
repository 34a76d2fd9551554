"""Pages of other origins (CORS), against a real server: one policy for every route, the watch stream's
fast path and the WebSocket, from ASK_PANEL_CORS_ORIGINS (empty: same origin only)."""

from __future__ import annotations

import pytest

from tests.conftest import headers_for
from tests.e2e.conftest import StartLive, events_of, http_client, new_panel, run_to_end
from tests.e2e.test_websocket import expect_refused, open_ws, receive_until_closed

ALLOWED = "https://app.example.com"
OTHER = "https://evil.example.net"


def preflight(
    origin: str, method: str = "POST", headers: str = "authorization,content-type,x-tenant-id"
) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers}


async def test_a_preflight_from_a_listed_origin_is_answered_for_every_route(start_live_server: StartLive) -> None:
    async with (
        start_live_server(cors_origins=f"{ALLOWED},http://localhost:5173") as live,
        http_client(live.base_url) as client,
    ):
        panel_id = "5b0f3c52-7f44-4c1e-9f1e-0c7d5b7f2a10"
        routes = [
            ("/api/v1/panels", "POST", "authorization,content-type,x-tenant-id,idempotency-key"),
            (f"/api/v1/panels/{panel_id}", "DELETE", "authorization,x-tenant-id"),
            (f"/api/v1/panels/{panel_id}/stream", "GET", "authorization,x-tenant-id,last-event-id"),
            (f"/api/v1/panels/{panel_id}/stream-ticket", "POST", "authorization,x-tenant-id"),
            ("/api/v1/agents", "GET", "authorization,x-tenant-id"),
        ]
        for path, method, asked in routes:
            response = await client.options(path, headers=preflight(ALLOWED, method, asked))
            assert response.status_code == 200, (path, response.text)
            assert response.headers["access-control-allow-origin"] == ALLOWED
            assert method in response.headers["access-control-allow-methods"]
            allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
            assert set(asked.split(",")) <= allowed
            assert "Origin" in response.headers["vary"]


async def test_a_preflight_from_an_origin_not_listed_is_refused_with_a_problem(start_live_server: StartLive) -> None:
    for origins in ("", ALLOWED):  # same origin only (the default), and a list without it
        async with start_live_server(cors_origins=origins) as live, http_client(live.base_url) as client:
            response = await client.options("/api/v1/panels", headers=preflight(OTHER))
            assert response.status_code == 403, origins
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["type"].endswith("/origin-not-allowed")
            assert "access-control-allow-origin" not in response.headers
            odd = await client.options("/api/v1/panels", headers=preflight(ALLOWED, headers="x-something"))
            assert odd.status_code == (400 if origins else 403)
            assert odd.headers["content-type"].startswith("application/problem+json")


async def test_answers_to_a_listed_origin_carry_cors_headers_errors_and_the_watch_stream_included(
    start_live_server: StartLive,
) -> None:
    async with start_live_server(cors_origins=ALLOWED) as live, http_client(live.base_url) as client:
        panel_id, frames = await run_to_end(client)
        page = {"Origin": ALLOWED}
        listed = await client.get("/api/v1/panels", headers={**headers_for(), **page})
        refused = await client.get("/api/v1/panels", headers={"X-Tenant-ID": "not-a-uuid", **page})
        missing = await client.get(f"/api/v1/panels/{panel_id}/stream", headers={**page, "X-Tenant-ID": "x"})
        async with client.stream(
            "GET", f"/api/v1/panels/{panel_id}/stream", headers={**headers_for(), **page}
        ) as stream:  # served by the fast path, outside the framework's middleware
            body = await stream.aread()
        finished = await client.get(
            f"/api/v1/panels/{panel_id}/stream",
            headers={**headers_for(), **page, "Last-Event-ID": str(events_of(frames)[-1].seq)},
        )
        for response in (listed, refused, missing, stream, finished):
            assert response.headers["access-control-allow-origin"] == ALLOWED, response.request.url
            assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
        assert (listed.status_code, refused.status_code, stream.status_code) == (200, 400, 200)
        assert missing.status_code in (400, 401) and finished.status_code == 204
        assert b"event: panel_complete" in body

        # A page of another origin gets no CORS headers: its browser keeps the answer from it.
        other = await client.get("/api/v1/panels", headers={**headers_for(), "Origin": OTHER})
        assert "access-control-allow-origin" not in other.headers


async def test_any_origin_with_a_star(start_live_server: StartLive) -> None:
    async with start_live_server(cors_origins="*") as live, http_client(live.base_url) as client:
        response = await client.options("/api/v1/panels", headers=preflight(OTHER))
        assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "*"
        listed = await client.get("/api/v1/panels", headers={**headers_for(), "Origin": OTHER})
        assert listed.headers["access-control-allow-origin"] == "*"


async def test_the_websocket_checks_the_origin_against_the_same_list(start_live_server: StartLive) -> None:
    async with start_live_server(cors_origins=ALLOWED) as live, http_client(live.base_url) as client:
        panel_id, _ = await run_to_end(client)
        path = f"/api/v1/panels/{panel_id}/ws"
        status = await expect_refused(client, path, headers={**headers_for(), "Origin": OTHER})
        assert status == 403
        own = f"http://127.0.0.1:{live.port}"  # the service's own page (the web app at /)
        for origin in (ALLOWED, own, None):
            headers = {**headers_for(), **({"Origin": origin} if origin else {})}
            async with client.websocket(path, headers=headers, keepalive_ping_interval_seconds=None) as ws:
                messages, code = await receive_until_closed(ws)
            assert code == 1000 and messages[-1]["event"] == "panel_complete", origin


async def test_by_default_only_the_services_own_pages_open_the_websocket(start_live_server: StartLive) -> None:
    async with start_live_server() as live, http_client(live.base_url) as client:
        panel = await new_panel(client)
        path = f"/api/v1/panels/{panel['panel_id']}/ws"
        for origin in (ALLOWED, f"http://127.0.0.1:{live.port + 1}", "null"):
            assert await expect_refused(client, path, headers={**headers_for(), "Origin": origin}) == 403, origin
        async with open_ws(client, panel["panel_id"]) as ws:  # no Origin: not a browser
            await ws.send_json({"type": "ping"})
            assert "pong" in await ws.receive_text(timeout=30)


@pytest.mark.parametrize(
    "value",
    ["app.example.com", "https://app.example.com/path", "ftp://app.example.com", "https://user@app.example.com"],
)
def test_a_cors_origin_that_is_not_an_origin_is_refused_at_start_up(value: str) -> None:
    from pydantic import ValidationError

    from tests.conftest import make_settings

    with pytest.raises(ValidationError, match="is not an origin"):
        make_settings("memory://", cors_origins=value)


def test_cors_origins_are_read_as_browsers_send_them() -> None:
    from tests.conftest import make_settings

    settings = make_settings(
        "memory://", cors_origins=" https://App.Example.com/ ,http://localhost:5173,https://x.io:443,"
    )
    assert settings.cors_origins == ("https://app.example.com", "http://localhost:5173", "https://x.io")
