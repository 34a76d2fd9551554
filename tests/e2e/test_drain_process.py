"""SIGTERM on a real `ask-panel serve`: streams told to reconnect, the running panel held at a checkpoint, resumed."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter

import httpx2
import pytest
from httpx2.websockets import WebSocketDisconnect

from ask_panel.bootstrap import bootstrap
from ask_panel.domain.ids import PanelId, TenantId
from tests.conftest import TENANT_A, headers_for, make_settings
from tests.e2e.conftest import (
    Frame,
    SpawnServer,
    http_client,
    new_panel,
    sse_frames,
    wait_for_status,
    wait_until,
)

pytestmark = pytest.mark.slow


async def stored(database_url: str, panel_id: str) -> tuple[str, list[tuple[int, str, str | None, int | None]]]:
    container = bootstrap(make_settings(database_url, run_worker=False))
    try:
        async with container.uow(TenantId.from_string(TENANT_A)) as uow:
            panel = await uow.panels.get(PanelId.from_string(panel_id))
            events = await uow.events.read(PanelId.from_string(panel_id), after=0)
    finally:
        await container.stop()
    return panel.status.value, [(e.seq, e.type, e.data.get("agent_id"), e.data.get("round")) for e in events]


async def test_sigterm_drains_streams_and_the_panel_resumes_on_the_next_process(spawn_server: SpawnServer) -> None:
    server = await spawn_server(ASK_PANEL_SIMULATED_TOKEN_DELAY_MS="10", ASK_PANEL_DRAIN_TIMEOUT_S="30")
    database_url = f"sqlite+aiosqlite:///{server.database}"
    ws_url = server.base_url.replace("http://", "ws://")
    async with http_client(server.base_url) as client, httpx2.AsyncClient(base_url=ws_url) as ws_client:
        panel = await new_panel(client, configuration={"max_rounds": 2})
        pid = panel["panel_id"]
        async with (
            client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as watch,
            ws_client.websocket(
                f"/api/v1/panels/{pid}/ws", headers=headers_for(), keepalive_ping_interval_seconds=None
            ) as ws,
        ):
            assert watch.status_code == 200
            assert (await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())).status_code == 202
            frames: list[Frame] = []
            signalled = False
            async with asyncio.timeout(60):
                async for frame in sse_frames(watch):  # until the server ends the stream
                    frames.append(frame)
                    if frame.event == "expert_speaking" and not signalled:
                        server.process.send_signal(signal.SIGTERM)  # (once: the next signal would stop at once)
                        signalled = True
                code = 0
                while True:
                    try:
                        await ws.receive_text()
                    except WebSocketDisconnect as closed:
                        code = closed.code
                        break
    assert frames[-1].event == "reconnect" and frames[-1].id is None
    assert frames[-1].json()["reason"] == "shutting_down"
    assert not any(frame.terminal for frame in frames)
    assert code == 1012  # service restart: reconnect elsewhere

    async def exited() -> bool:
        return server.process.poll() is not None

    await wait_until(exited, what="the process exits after draining", timeout_s=60)
    status, held_at = await stored(database_url, pid)
    assert status == "in_progress", "left resumable, not failed or cancelled"
    assert [e[0] for e in held_at] == list(range(1, len(held_at) + 1))
    streamed = [f.seq for f in frames if f.id is not None]
    assert streamed == [e[0] for e in held_at][: len(streamed)]

    restarted = await spawn_server(database=server.database)
    async with http_client(restarted.base_url) as client:
        done = await wait_for_status(client, pid, {"completed", "failed", "cancelled"})
    assert done["status"] == "completed"
    _status, events = await stored(database_url, pid)
    assert events[: len(held_at)] == held_at
    assert [e[0] for e in events] == list(range(1, len(events) + 1))
    turns = Counter((agent, round_) for _seq, kind, agent, round_ in events if kind == "expert_speaking")
    assert set(turns.values()) == {1}, "no committed turn was spoken twice"
