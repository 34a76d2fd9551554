"""SSE against a real server: wire format, event order per panel type, watching, resuming, fan-out, tokens."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import httpx2
import pytest

from tests.conftest import TENANT_A, headers_for
from tests.e2e.conftest import (
    EXPERTS,
    Frame,
    LiveServer,
    StartLive,
    events_of,
    get_panel,
    http_client,
    new_panel,
    read_all,
    run_to_end,
    signature,
    sse_frames,
)

PANEL_TYPES = ["structured", "open", "socratic", "adversarial", "delphi"]


def assert_complete(events: list[Frame]) -> None:
    """Ids 1..N without a gap or a repeat, first panel_started, last (and only there) panel_complete."""
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].event == "panel_started"
    assert events[-1].event == "panel_complete"
    assert [e.event for e in events].count("panel_complete") == 1


async def stream_after(
    client: httpx2.AsyncClient, panel_id: str, *, header: int | None = None, query: int | None = None
) -> list[Frame]:
    headers = headers_for()
    if header is not None:
        headers["Last-Event-ID"] = str(header)
    params = {"last_event_id": str(query)} if query is not None else None
    async with client.stream("GET", f"/api/v1/panels/{panel_id}/stream", headers=headers, params=params) as r:
        assert r.status_code == 200, await r.aread()
        return await read_all(r)


async def test_post_stream_starts_a_draft_panel_and_streams_well_formed_sse_frames(
    client: httpx2.AsyncClient,
) -> None:
    panel = await new_panel(client)
    headers = {**headers_for(), "Accept-Encoding": "gzip, deflate, br"}
    async with client.stream("POST", f"/api/v1/panels/{panel['panel_id']}/stream", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0].strip() == "text/event-stream"
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in response.headers
        frames = await read_all(response)

    assert frames[0].retry is not None and frames[0].retry > 0, "a retry hint comes first"
    assert frames[0].event is None and frames[0].id is None
    events = events_of(frames)
    assert len(events) == len(frames) - 1, "only the retry hint and events (no heartbeat in a short panel)"
    for frame in events:
        assert [line.split(":", 1)[0] for line in frame.lines] == ["id", "event", "data"]
        assert frame.id is not None and frame.id.isdigit()
        assert isinstance(frame.json(), dict)
    assert_complete(events)
    assert (await get_panel(client, panel["panel_id"]))["status"] == "completed"


@pytest.mark.parametrize("panel_type", PANEL_TYPES)
async def test_every_panel_type_streams_its_events_in_order_with_documented_payloads(
    client: httpx2.AsyncClient, panel_type: str
) -> None:
    panel_id, frames = await run_to_end(client, panel_type=panel_type)
    events = events_of(frames)
    assert_complete(events)
    started = events[0].json()
    assert started["panel_id"] == panel_id and started["panel_type"] == panel_type
    assert [m["agent_id"] for m in started["members"]] == EXPERTS

    rounds_started: set[int] = set()
    speakers: set[str] = set()
    consensus_updates = 0
    for event in events:
        data = event.json()
        if event.event == "round_started":
            assert data["round"] not in rounds_started
            rounds_started.add(data["round"])
        elif event.event == "expert_speaking":
            assert {"agent_id", "agent_name", "content", "timestamp", "round"} <= data.keys()
            assert data["round"] in rounds_started, "round_started comes before the round's expert_speaking"
            assert isinstance(data["content"], str) and data["content"].strip()
            assert isinstance(data["agent_name"], str) and data["agent_name"]
            speakers.add(data["agent_id"])
        elif event.event == "consensus_update":
            consensus_updates += 1
            for key in ("level", "confidence"):
                assert isinstance(data[key], float) and 0.0 <= data[key] <= 1.0, (key, data[key])
        elif event.event == "error":
            pytest.fail(f"unexpected error event: {data}")
    assert rounds_started and consensus_updates >= 1
    assert set(EXPERTS) <= speakers, "every member speaks at least once"

    complete = events[-1].json()
    assert {"panel_id", "recommendation", "consensus", "duration"} <= complete.keys()
    assert complete["panel_id"] == panel_id
    assert complete["recommendation"]
    assert 0.0 <= complete["consensus"] <= 1.0
    assert complete["duration"] >= 0


async def test_watching_a_draft_panel_waits_until_it_is_executed(
    client: httpx2.AsyncClient, live_server: LiveServer
) -> None:
    panel = await new_panel(client)
    pid = panel["panel_id"]
    async with client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as response:
        assert response.status_code == 200
        frames = sse_frames(response)
        first = await anext(frames)
        assert first.retry is not None
        # The watcher is registered and waiting on a panel that has not started.
        assert live_server.container.hub.open_streams == 1
        assert (await get_panel(client, pid))["status"] == "draft"

        executed = await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())
        assert executed.status_code == 202
        async with asyncio.timeout(60):
            rest = [f async for f in frames]
    events = events_of(rest)
    assert_complete(events)


async def test_resuming_a_finished_panel_from_every_id_gives_exactly_the_later_events(
    client: httpx2.AsyncClient,
) -> None:
    panel_id, frames = await run_to_end(client)
    full = signature(frames)
    total = len(full)
    assert [s[0] for s in full] == list(range(1, total + 1))
    for k in range(total):
        resumed = await stream_after(client, panel_id, header=k)
        assert resumed[0].retry is not None
        assert signature(resumed) == full[k:], f"Last-Event-ID: {k}"
    for k in (0, 1, total // 2, total - 1):
        assert signature(await stream_after(client, panel_id, query=k)) == full[k:], f"?last_event_id={k}"
    # At or past the end nothing follows: 204 (tests/e2e/test_stream_endings.py).


async def test_a_bad_last_event_id_is_a_400_problem(client: httpx2.AsyncClient) -> None:
    panel_id, _ = await run_to_end(client)
    for value in ("abc", "-1", "1.5"):
        headers = {**headers_for(), "Last-Event-ID": value}
        response = await client.get(f"/api/v1/panels/{panel_id}/stream", headers=headers)
        assert response.status_code == 400, (value, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_ten_concurrent_subscribers_see_identical_sequences(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    pid = panel["panel_id"]
    subscribed = [asyncio.Event() for _ in range(10)]

    async def watch(ready: asyncio.Event) -> list[Frame]:
        async with client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as response:
            assert response.status_code == 200
            ready.set()
            return await read_all(response)

    watchers = [asyncio.create_task(watch(ready)) for ready in subscribed]
    async with asyncio.timeout(30):
        await asyncio.gather(*(ready.wait() for ready in subscribed))
    assert (await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())).status_code == 202
    results = await asyncio.gather(*watchers)

    first = signature(results[0])
    assert_complete(events_of(results[0]))
    for other in results[1:]:
        assert signature(other) == first


async def test_reconnecting_with_the_last_id_read_across_the_replay_live_boundary_loses_and_repeats_nothing(
    client: httpx2.AsyncClient,
) -> None:
    """An EventSource-like client that drops its connection every few events while the panel runs."""
    panel = await new_panel(client)
    pid = panel["panel_id"]
    assert (await client.post(f"/api/v1/panels/{pid}/execute", headers=headers_for())).status_code == 202
    received: list[Frame] = []
    reconnects = 0
    async with asyncio.timeout(60):
        while not (received and received[-1].terminal):
            headers = headers_for()
            if received:
                headers["Last-Event-ID"] = received[-1].id or "0"
            async with client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers) as response:
                assert response.status_code == 200
                taken = 0
                async for frame in sse_frames(response):
                    if frame.id is None:
                        continue
                    received.append(frame)
                    taken += 1
                    if taken == 3 or frame.terminal:
                        break  # leave mid-stream: the server sees a disconnect
            reconnects += 1
    assert reconnects >= 2
    ids = [f.seq for f in received]
    assert ids == list(range(1, len(ids) + 1)), "every id exactly once, in order"
    assert signature(received) == signature(await stream_after(client, pid))


async def test_tokens_flag_adds_id_less_expert_token_deltas_between_round_start_and_the_turn(
    client: httpx2.AsyncClient,
) -> None:
    panel = await new_panel(client)
    pid = panel["panel_id"]
    async with client.stream(
        "POST", f"/api/v1/panels/{pid}/stream", params={"tokens": "true"}, headers=headers_for()
    ) as response:
        assert response.status_code == 200
        frames = await read_all(response)
    everything = events_of(frames, tokens=True)
    tokens = [f for f in everything if f.event == "expert_token"]
    assert tokens, "expert_token events with ?tokens=true"
    assert all(f.id is None for f in tokens)
    assert all(not any(line.startswith("id:") for line in f.lines) for f in tokens)
    assert_complete(events_of(frames))

    # Deltas of one turn (agent, round) come after its round_started and before its expert_speaking,
    # and concatenated they are the turn's text (the structured panel gives each expert one turn a round).
    deltas: dict[tuple[str, int], list[str]] = defaultdict(list)
    open_rounds: set[int] = set()
    turns = 0
    for frame in everything:
        data: dict[str, Any] = frame.json()
        if frame.event == "round_started":
            open_rounds.add(data["round"])
        elif frame.event == "expert_token":
            assert {"agent_id", "agent_name", "round", "delta"} <= data.keys()
            assert isinstance(data["delta"], str) and data["delta"]
            assert data["round"] in open_rounds
            deltas[(data["agent_id"], data["round"])].append(data["delta"])
        elif frame.event == "expert_speaking" and data.get("role", "expert") == "expert":
            parts = deltas.pop((data["agent_id"], data["round"]), [])
            assert parts, f"no deltas before the turn of {data['agent_id']} in round {data['round']}"
            assert "".join(parts).strip() == data["content"]
            turns += 1
    assert turns >= len(EXPERTS)
    assert not deltas, f"deltas without a turn: {list(deltas)}"


async def test_without_the_tokens_flag_no_expert_token_events_arrive(client: httpx2.AsyncClient) -> None:
    _, frames = await run_to_end(client)
    assert not [f for f in frames if f.event == "expert_token"]
    assert all(f.id is not None for f in frames if f.is_event)


async def test_an_idle_watch_stream_receives_heartbeat_comments(start_live_server: StartLive) -> None:
    async with start_live_server(sse_heartbeat_s=0.2) as live, http_client(live.base_url) as client:
        panel = await new_panel(client)
        pid = panel["panel_id"]
        async with client.stream("GET", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as response:
            assert response.status_code == 200
            heartbeats = 0
            async with asyncio.timeout(30):
                async for frame in sse_frames(response):
                    assert not frame.is_event, "a draft panel sends no events"
                    if "heartbeat" in frame.comments:
                        assert frame.lines == [": heartbeat"]
                        heartbeats += 1
                        if heartbeats == 3:
                            break
        assert heartbeats == 3
        assert (await get_panel(client, pid))["status"] == "draft"


async def test_streams_are_tenant_scoped(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    other = "33333333-3333-3333-3333-333333333333"
    response = await client.get(f"/api/v1/panels/{panel['panel_id']}/stream", headers=headers_for(other))
    assert response.status_code == 404
    response = await client.get(
        f"/api/v1/panels/{panel['panel_id']}/stream",
        headers={"X-Tenant-ID": other, "Authorization": headers_for(TENANT_A)["Authorization"]},
    )
    assert response.status_code == 403


async def test_concurrent_post_streams_on_one_draft_start_it_once_and_all_see_the_same_events(
    client: httpx2.AsyncClient,
) -> None:
    panel = await new_panel(client)
    pid = panel["panel_id"]

    async def start_and_stream() -> list[Frame]:
        async with client.stream("POST", f"/api/v1/panels/{pid}/stream", headers=headers_for()) as response:
            assert response.status_code == 200, await response.aread()
            return await read_all(response)

    results = await asyncio.gather(*(start_and_stream() for _ in range(5)))
    first = signature(results[0])
    assert all(signature(r) == first for r in results[1:])
    events = events_of(results[0])
    assert_complete(events)
    assert [e.event for e in events].count("panel_started") == 1


async def test_post_stream_on_a_finished_panel_only_replays_it(client: httpx2.AsyncClient) -> None:
    panel_id, frames = await run_to_end(client)
    async with client.stream("POST", f"/api/v1/panels/{panel_id}/stream", headers=headers_for()) as response:
        assert response.status_code == 200
        again = await read_all(response)
    assert signature(again) == signature(frames)
    headers = {**headers_for(), "Last-Event-ID": "4"}
    async with client.stream("POST", f"/api/v1/panels/{panel_id}/stream", headers=headers) as response:
        assert signature(await read_all(response)) == signature(frames)[4:]
