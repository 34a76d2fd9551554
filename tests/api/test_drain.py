"""Graceful drain in one process: 503 for new panels, running turns held at their next checkpoint, resumed later."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from pathlib import Path

import pytest

from ask_panel.bootstrap import Container
from ask_panel.config import MEMORY_DATABASE_URL
from ask_panel.domain.ids import PanelId, TenantId
from tests.conftest import TENANT_A, TERMINAL, create_panel, headers_for, make_settings, serving, wait_for_status

Event = tuple[int, str, str | None, int | None]


@pytest.fixture
def sqlite_url(migrated_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "drain.db"
    shutil.copy(migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def stored_events(container: Container, panel_id: str) -> list[Event]:
    async with container.uow(TenantId.from_string(TENANT_A)) as uow:
        events = await uow.events.read(PanelId.from_string(panel_id), after=0)
    return [(e.seq, e.type, e.data.get("agent_id"), e.data.get("round")) for e in events]


async def until_spoken(container: Container, panel_id: str) -> None:
    for _ in range(6000):  # bounded; polls another task's commits
        if any(e[1] == "expert_speaking" for e in await stored_events(container, panel_id)):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no expert spoke")


async def test_a_draining_process_refuses_new_panels_and_readiness_with_503() -> None:
    async with serving(make_settings(MEMORY_DATABASE_URL)) as (container, client):
        draft = await create_panel(client)
        await container.drain.begin()
        created = await client.post(
            "/api/v1/panels", json={"query": "Another?", "panel_type": "open"}, headers=headers_for()
        )
        executed = await client.post(f"/api/v1/panels/{draft['panel_id']}/execute", headers=headers_for())
        streamed = await client.post(f"/api/v1/panels/{draft['panel_id']}/stream", headers=headers_for())
        ready = await client.get("/readyz")
        read = await client.get(f"/api/v1/panels/{draft['panel_id']}", headers=headers_for())
        scrape = (await client.get("/metrics")).text
    for refused in (created, executed, streamed, ready):
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"].isdigit()
        assert refused.json()["type"].endswith("/draining")
    assert read.status_code == 200 and read.json()["status"] == "draft"  # reads go on until the process stops
    (draining,) = [line for line in scrape.splitlines() if line.startswith("ask_panel_draining ")]
    assert float(draining.split()[1]) >= 1


async def test_running_turns_reach_their_next_checkpoint_and_the_panel_resumes_later(sqlite_url: str) -> None:
    settings = make_settings(sqlite_url, simulated_token_delay_ms=2, drain_timeout_s=60)
    async with serving(settings) as (container, client):
        panel = await create_panel(client, configuration={"max_rounds": 2})
        pid = panel["panel_id"]
        assert (await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())).status_code == 202
        await until_spoken(container, pid)
        await asyncio.wait_for(container.drain.begin(), 60)
        assert container.pool.is_running(PanelId.from_string(pid)), (
            "the run is held at its checkpoint until the process stops it"
        )
        held_at = await stored_events(container, pid)
        await asyncio.sleep(0.2)  # turns in flight would commit now: a held run commits nothing more
        assert await stored_events(container, pid) == held_at
        status = (await client.get(f"/api/v1/panels/{pid}", headers=headers_for())).json()["status"]
    assert status == "in_progress"
    assert held_at[-1][1] != "panel_complete"

    async with serving(settings) as (container, client):  # the next process resumes it
        done = await wait_for_status(client, pid, TERMINAL)
        events = await stored_events(container, pid)
    assert done["status"] == "completed"
    assert events[: len(held_at)] == held_at
    assert [e[0] for e in events] == list(range(1, len(events) + 1))
    turns = Counter((agent, round_) for _seq, kind, agent, round_ in events if kind == "expert_speaking")
    assert set(turns.values()) == {1}, "no committed turn was spoken twice"


async def test_an_open_stream_ends_with_a_reconnect_frame_when_the_process_drains() -> None:
    async with serving(make_settings(MEMORY_DATABASE_URL)) as (container, client):
        draft = await create_panel(client)  # its watchers wait until it starts
        watching = asyncio.create_task(client.get(f"/api/v1/panels/{draft['panel_id']}/stream", headers=headers_for()))
        for _ in range(3000):  # bounded; until the request's stream is subscribed
            if container.hub.open_streams:
                break
            await asyncio.sleep(0.01)
        await container.drain.begin()
        response = await asyncio.wait_for(watching, 30)
    assert response.status_code == 200
    frames = [frame for frame in response.text.split("\n\n") if frame.strip()]
    assert frames[-1].startswith("event: reconnect\ndata: ")
    assert '"reason":"shutting_down"' in frames[-1] and "id:" not in frames[-1]
