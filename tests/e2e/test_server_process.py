"""`ask-panel serve` as a real process, configured by environment variables: streaming and shutdown."""

from __future__ import annotations

import asyncio
import signal

import httpx2
import orjson
import pytest
from httpx2.websockets import WebSocketDisconnect

from tests.conftest import TENANT_B, headers_for
from tests.e2e.conftest import (
    Frame,
    ServerProcess,
    SpawnServer,
    events_of,
    http_client,
    new_panel,
    read_all,
    signature,
    sse_frames,
    wait_until,
)

pytestmark = pytest.mark.slow

# uvicorn re-raises the captured signal once it has shut down gracefully: the process ends "killed by SIGTERM".
GRACEFUL_EXIT = {0, -signal.SIGTERM}


def assert_stopped_cleanly(server: ServerProcess) -> None:
    """Exited after a graceful shutdown, and the container was stopped: the database engine was disposed,
    so SQLite checkpointed and removed its write-ahead log."""
    log = server.log()
    assert server.process.returncode in GRACEFUL_EXIT, log
    assert "timeout graceful shutdown exceeded" not in log, log
    assert not server.database.with_name(server.database.name + "-wal").exists(), "the database was not disposed"


async def wait_for_exit(server: ServerProcess) -> int:
    async def exited() -> bool:
        return server.process.poll() is not None

    await wait_until(exited, what="the server process exits", timeout_s=60)
    code = server.process.returncode
    assert code is not None
    return code


async def test_the_served_process_streams_a_panel_with_env_settings(spawn_server: SpawnServer) -> None:
    server = await spawn_server(ASK_PANEL_MAX_STREAMS_PER_TENANT="2")
    async with http_client(server.base_url) as client:
        panel = await new_panel(client)
        pid = panel["panel_id"]
        async with client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as watcher:
            assert watcher.status_code == 200
            async with client.stream(
                "POST", f"/api/v1/panels/{pid}/stream", params={"tokens": "true"}, headers=headers_for()
            ) as starter:
                assert starter.status_code == 200
                refused = await client.get(f"/api/v1/panels/{pid}/stream", headers=headers_for())
                assert refused.status_code == 429, "ASK_PANEL_MAX_STREAMS_PER_TENANT is honoured"
                started = await read_all(starter)
            watched = await read_all(watcher)
        assert [f.event for f in started if f.event == "expert_token"], "tokens stream through the real server"
        assert signature(started) == signature(watched)
        assert events_of(watched)[-1].event == "panel_complete"
        other = await new_panel(client, TENANT_B)
        assert (await client.get(f"/api/v1/panels/{other['panel_id']}", headers=headers_for(TENANT_B))).is_success
    server.process.send_signal(signal.SIGTERM)
    await wait_for_exit(server)
    assert_stopped_cleanly(server)


async def test_sigterm_ends_open_streams_and_the_server_exits_promptly(spawn_server: SpawnServer) -> None:
    server = await spawn_server(ASK_PANEL_SSE_HEARTBEAT_S="0.2")
    async with http_client(server.base_url) as client:
        panel = await new_panel(client)
        pid = panel["panel_id"]
        async with (
            client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as response,
            client.websocket(
                f"/api/v1/panels/{pid}/ws", headers=headers_for(), keepalive_ping_interval_seconds=None
            ) as ws,
        ):
            assert response.status_code == 200
            frames = sse_frames(response)
            async with asyncio.timeout(30):
                seen: list[Frame] = []
                while "heartbeat" not in [c for f in seen for c in f.comments]:
                    seen.append(await anext(frames))  # a draft panel: the stream is open and idle

            server.process.send_signal(signal.SIGTERM)

            async with asyncio.timeout(30):
                rest = [f async for f in frames]  # ends: the server closes the stream
            assert not events_of(rest)
            with pytest.raises(WebSocketDisconnect):
                async with asyncio.timeout(30):
                    while True:
                        message = orjson.loads(await ws.receive_text())
                        assert message["id"] is None, message
        await wait_for_exit(server)
    assert_stopped_cleanly(server)
    with pytest.raises(httpx2.TransportError):
        async with http_client(server.base_url) as client:
            await client.get("/healthz")


async def test_a_panel_interrupted_by_sigterm_resumes_after_restart_and_its_stream_has_no_gap(
    spawn_server: SpawnServer,
) -> None:
    first = await spawn_server(ASK_PANEL_SIMULATED_TOKEN_DELAY_MS="4")  # surely mid-panel at the first turn
    before: list[Frame] = []
    async with http_client(first.base_url) as client:
        panel = await new_panel(client)
        pid = panel["panel_id"]
        async with client.stream("POST", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as response:
            assert response.status_code == 200
            async with asyncio.timeout(30):
                async for frame in sse_frames(response):
                    if frame.id is not None:
                        before.append(frame)
                    if frame.event == "expert_speaking":
                        first.process.send_signal(signal.SIGTERM)
                        break
        await wait_for_exit(first)
    assert_stopped_cleanly(first)
    assert before and not before[-1].terminal

    second = await spawn_server(database=first.database)
    async with http_client(second.base_url) as client:
        headers = {**headers_for(), "Last-Event-ID": before[-1].id or "0"}
        async with client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers) as response:
            assert response.status_code == 200
            after = events_of(await read_all(response))
        status = (await client.get(f"/api/v1/panels/{pid}", headers=headers_for())).json()["status"]
    everything = before + after
    assert [f.seq for f in everything] == list(range(1, len(everything) + 1)), "every id exactly once"
    assert after and after[-1].event == "panel_complete"
    assert status == "completed"


async def test_stream_tickets_never_reach_the_servers_logs(spawn_server: SpawnServer) -> None:
    """Tickets ride in URLs (EventSource and WebSocket cannot send headers); the access log shows none."""
    server = await spawn_server(log_level="INFO", serve_args=("--access-log",))
    async with http_client(server.base_url) as client:
        panel = await new_panel(client)
        pid = panel["panel_id"]
        async with client.stream("POST", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as started:
            await read_all(started)
        tickets = []
        for _ in range(2):
            issued = await client.post(f"/api/v1/panels/{pid}/stream-ticket", headers=headers_for())
            tickets.append(issued.json()["ticket"])
        watched = await client.get(f"/api/v1/panels/{pid}/stream", params={"ticket": tickets[0], "tokens": "true"})
        assert watched.status_code == 200
        async with client.websocket(f"/api/v1/panels/{pid}/ws", params={"ticket": tickets[1]}) as ws:
            with pytest.raises(WebSocketDisconnect):
                while True:
                    await ws.receive_text(timeout=30)
    log = server.log()
    assert f"/api/v1/panels/{pid}/stream?ticket=[redacted]&tokens=true" in log, log
    assert "ticket=[redacted]" in log.split("WebSocket", 1)[1], log
    for ticket in tickets:
        assert ticket not in log
