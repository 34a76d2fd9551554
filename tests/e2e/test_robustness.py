"""Streams under stress, against the in-process server: stalled and leaving clients, stream caps."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx2
import orjson
import pytest

from ask_panel.application.hub import Subscriber
from ask_panel.domain.experts import BUILTIN_EXPERTS
from tests.conftest import TENANT_B, headers_for
from tests.e2e.conftest import (
    LiveServer,
    StartLive,
    events_of,
    get_panel,
    http_client,
    new_panel,
    read_all,
    sse_frames,
    wait_for_status,
    wait_until,
)

ALL_EXPERTS = [e.agent_id for e in BUILTIN_EXPERTS][:10]
# Delphi stops once its estimates are stable; a tolerance of 0 holds every round (issue 9's stopping rule). Six
# rounds: a stalled client's writes block part-way (below), and what follows must still overflow its buffer; with
# three rounds of the simulated model's shorter text the panel had fewer than 16 events left after the block.
VERBOSE: dict[str, Any] = {"max_rounds": 6, "consensus_threshold": 1, "stability_tolerance": 0, "seed": 11}
# The send timeout is the last resort for a stalled client; 5 s leaves the buffer time to overflow first on a loaded
# machine, where 16 events can take more than the 1 s it was.
STALL_SETTINGS: dict[str, Any] = {"send_buffer_bytes": 4096, "stream_send_timeout_s": 5, "stream_buffer_events": 16}


async def wait_for_no_streams(live: LiveServer) -> None:
    async def released() -> bool:
        return live.container.hub.open_streams == 0

    await wait_until(released, what=f"every stream released (open: {live.container.hub.open_streams})")


def task_leftovers(baseline: set[asyncio.Task[Any]]) -> list[asyncio.Task[Any]]:
    """Tasks started since `baseline` that are still alive (request handlers, panel runs, senders).

    sse-starlette's process-wide shutdown watcher (one per event loop, by design) is not a leftover."""
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task not in baseline
        and task is not current
        and getattr(task.get_coro(), "__qualname__", "") != "_shutdown_watcher"
    ]


async def wait_for_no_leftover_tasks(baseline: set[asyncio.Task[Any]]) -> None:
    async def none_left() -> bool:
        return not task_leftovers(baseline)

    await wait_until(none_left, what=f"no request or panel task left: {task_leftovers(baseline)}")


def record_subscribers(live: LiveServer, monkeypatch: pytest.MonkeyPatch) -> list[Subscriber]:
    hub = live.container.hub
    recorded: list[Subscriber] = []
    subscribe = hub.subscribe

    def recording(*args: Any, **kwargs: Any) -> Subscriber:
        subscriber = subscribe(*args, **kwargs)
        recorded.append(subscriber)
        return subscriber

    monkeypatch.setattr(hub, "subscribe", recording)
    return recorded


async def send_raw_request(live: LiveServer, path: str, extra_headers: str) -> socket.socket:
    """A raw client with a tiny receive buffer that connects and sends an authenticated GET."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", live.port))
    headers = headers_for()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n{extra_headers}"
        f"Authorization: {headers['Authorization']}\r\nX-Tenant-ID: {headers['X-Tenant-ID']}\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    return sock


async def open_stalled_stream(live: LiveServer, path: str) -> socket.socket:
    """An SSE client that sends its request and never reads."""
    return await send_raw_request(live, path, "Accept: text/event-stream\r\n")


async def test_a_stalled_client_does_not_hold_up_the_others_and_is_let_go(
    start_live_server: StartLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small socket send buffer, a 16-event subscriber buffer and a 5 s send timeout: a client that never
    # reads blocks the server's writes after ~75 kB (a verbose panel streams far more).
    async with (
        start_live_server(**STALL_SETTINGS) as live,
        http_client(live.base_url) as client,
    ):
        baseline = asyncio.all_tasks()
        subscribers = record_subscribers(live, monkeypatch)
        panel = await new_panel(client, panel_type="delphi", agent_ids=ALL_EXPERTS, configuration=VERBOSE)
        pid = panel["panel_id"]
        stalled = await open_stalled_stream(live, f"/api/v1/panels/{pid}/stream?tokens=true")
        try:

            async def subscribed() -> bool:
                return len(subscribers) == 1

            await wait_until(subscribed, what="the stalled client is subscribed")
            async with client.stream("POST", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as response:
                assert response.status_code == 200
                frames = await read_all(response)
            events = events_of(frames)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            assert events[-1].event == "panel_complete"
            assert (await get_panel(client, pid))["status"] == "completed"

            stalled_subscriber, normal_subscriber = subscribers
            assert not normal_subscriber.dropped
            # The server gave up on the stalled client while its socket is still open.
            await wait_for_no_streams(live)
            assert stalled_subscriber.dropped, "the stalled client's buffer overflowed: it was really stalled"
            await wait_for_no_leftover_tasks(baseline)
        finally:
            stalled.close()


async def open_stalled_websocket(live: LiveServer, path: str) -> socket.socket:
    """A raw WebSocket client with a tiny receive buffer: it completes the handshake and never reads again."""
    sock = await send_raw_request(
        live,
        path,
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
    )
    loop = asyncio.get_running_loop()
    head = b""
    async with asyncio.timeout(30):
        while b"\r\n\r\n" not in head:
            chunk = await loop.sock_recv(sock, 1)  # byte by byte: nothing past the handshake is read
            assert chunk, "the server closed the connection during the handshake"
            head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


async def test_a_stalled_websocket_client_is_let_go_without_leaving_its_handler_behind(
    start_live_server: StartLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with start_live_server(**STALL_SETTINGS) as live, http_client(live.base_url) as client:
        baseline = asyncio.all_tasks()
        subscribers = record_subscribers(live, monkeypatch)
        panel = await new_panel(client, panel_type="delphi", agent_ids=ALL_EXPERTS, configuration=VERBOSE)
        pid = panel["panel_id"]
        stalled = await open_stalled_websocket(live, f"/api/v1/panels/{pid}/ws?tokens=true")
        try:
            assert len(subscribers) == 1
            async with client.stream("POST", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as response:
                assert response.status_code == 200
                events = events_of(await read_all(response))
            assert events[-1].event == "panel_complete"
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            await wait_for_no_streams(live)
            assert subscribers[0].dropped, "the stalled client's buffer overflowed: it was really stalled"
            # The server gave up on the stalled socket (still open): its handler task has ended.
            await wait_for_no_leftover_tasks(baseline)
        finally:
            stalled.close()


async def test_leaving_clients_never_cancel_the_panel_and_leave_no_stream_or_task_behind(
    client: httpx2.AsyncClient, live_server: LiveServer
) -> None:
    baseline = asyncio.all_tasks()
    panel = await new_panel(client)
    pid = panel["panel_id"]

    watcher_ready = asyncio.Event()

    async def watch_two_events() -> None:
        async with client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as response:
            watcher_ready.set()
            seen = 0
            async for frame in sse_frames(response):
                seen += frame.id is not None
                if seen == 2:
                    return

    watchers = [asyncio.create_task(watch_two_events()) for _ in range(3)]
    await asyncio.wait_for(watcher_ready.wait(), 30)
    async with client.websocket(
        f"/api/v1/panels/{pid}/ws", headers=headers_for(), keepalive_ping_interval_seconds=None
    ) as ws:
        async with client.stream(
            "POST", f"/api/v1/panels/{pid}/stream", params={"tokens": "true"}, headers=headers_for()
        ) as response:
            async for frame in sse_frames(response):
                if frame.event == "round_started":
                    break  # the starter leaves mid-panel
        assert orjson.loads(await ws.receive_text(timeout=30))["id"] == 1
    await asyncio.wait_for(asyncio.gather(*watchers), 60)

    done = await wait_for_status(client, pid, {"completed", "failed", "cancelled"})
    assert done["status"] == "completed"
    await wait_for_no_streams(live_server)

    await wait_for_no_leftover_tasks(baseline)
    assert not live_server.container.pool.running


async def test_a_tenant_over_its_stream_cap_gets_429_while_others_still_stream(start_live_server: StartLive) -> None:
    async with start_live_server(max_streams_per_tenant=2) as live, http_client(live.base_url) as client:
        panel = await new_panel(client)
        pid = panel["panel_id"]
        other = await new_panel(client, TENANT_B)
        async with (
            client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as first,
            client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as second,
        ):
            assert first.status_code == second.status_code == 200
            for method in ("GET", "POST"):
                refused = await client.request(method, f"/api/v1/panels/{pid}/stream", headers=headers_for())
                assert refused.status_code == 429, refused.text
                assert refused.headers["content-type"].startswith("application/problem+json")
                assert refused.json()["status"] == 429
                assert "retry-after" in refused.headers
            assert (await get_panel(client, pid))["status"] == "draft", "a refused POST /stream starts nothing"

            async with client.stream(
                "GET", f"/api/v1/panels/{other['panel_id']}/stream", headers=headers_for(TENANT_B)
            ) as allowed:
                assert allowed.status_code == 200
                assert (await anext(sse_frames(allowed))).retry is not None
        # The slots are given back when the streams end.
        await wait_for_no_streams(live)
        async with client.stream("POST", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as third:
            assert third.status_code == 200
            assert events_of(await read_all(third))[-1].event == "panel_complete"


async def test_the_server_wide_stream_cap_applies_to_every_tenant(start_live_server: StartLive) -> None:
    async with start_live_server(max_streams=1) as live, http_client(live.base_url) as client:
        panel = await new_panel(client)
        other = await new_panel(client, TENANT_B)
        async with client.stream("GET", f"/api/v1/panels/{panel['panel_id']}/stream", headers=headers_for()) as first:
            assert first.status_code == 200
            refused = await client.get(f"/api/v1/panels/{other['panel_id']}/stream", headers=headers_for(TENANT_B))
            assert refused.status_code == 429


async def hang_up_after_request(live: LiveServer, request: str) -> None:
    """A client that sends its request and closes the connection before any answer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, ("127.0.0.1", live.port))
        await loop.sock_sendall(sock, request.encode())
    finally:
        sock.close()


async def test_clients_hanging_up_before_the_stream_starts_leave_no_stream_behind(
    client: httpx2.AsyncClient, live_server: LiveServer
) -> None:
    baseline = asyncio.all_tasks()
    panel = await new_panel(client)
    pid = panel["panel_id"]
    headers = headers_for()
    credentials = f"Authorization: {headers['Authorization']}\r\nX-Tenant-ID: {headers['X-Tenant-ID']}\r\n"
    host = f"Host: 127.0.0.1:{live_server.port}\r\n"
    sse = f"GET /api/v1/panels/{pid}/stream HTTP/1.1\r\n{host}{credentials}\r\n"
    ws = (
        f"GET /api/v1/panels/{pid}/ws HTTP/1.1\r\n{host}Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{credentials}\r\n"
    )
    for request in (sse, ws) * 5:
        await hang_up_after_request(live_server, request)
    await wait_for_no_leftover_tasks(baseline)
    assert live_server.container.hub.open_streams == 0, "a stream outlived its connection"
    # The tenant's slots are all free: the panel still streams normally.
    async with client.stream("POST", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as response:
        assert events_of(await read_all(response))[-1].event == "panel_complete"
