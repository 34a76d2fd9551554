"""Where a stream starts and ends, as browsers' EventSource and the npm `eventsource` package need it.

A stream that has nothing more to send answers 204 (the SSE standard's "stop reconnecting"); a resume
id beyond the log never brings back an id at or below it.
"""

from __future__ import annotations

import httpx2

from tests.conftest import headers_for
from tests.e2e.conftest import events_of, new_panel, read_all, run_to_end, signature


async def open_stream(
    client: httpx2.AsyncClient, method: str, panel_id: str, last_event_id: int | None
) -> tuple[int, bytes | list[tuple[int, str, dict[str, object]]]]:
    headers = headers_for()
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    async with client.stream(method, f"/api/v1/panels/{panel_id}/stream", headers=headers) as response:
        if response.status_code != 200:
            return response.status_code, await response.aread()
        return 200, signature(await read_all(response))


async def test_a_finished_panels_stream_with_nothing_more_to_send_answers_204(client: httpx2.AsyncClient) -> None:
    panel_id, frames = await run_to_end(client)
    events = signature(frames)
    last = events[-1][0]
    for method in ("GET", "POST"):
        for resume in (last, last + 5):
            status, body = await open_stream(client, method, panel_id, resume)
            assert (status, body) == (204, b""), (method, resume)
        # Any other client sees the remaining events, then the end.
        assert await open_stream(client, method, panel_id, last - 1) == (200, events[-1:])
        assert await open_stream(client, method, panel_id, None) == (200, events)


async def test_the_204_carries_the_request_id_like_every_response(client: httpx2.AsyncClient) -> None:
    panel_id, frames = await run_to_end(client)
    headers = {**headers_for(), "Last-Event-ID": str(events_of(frames)[-1].seq), "X-Request-ID": "resume-at-end"}
    response = await client.get(f"/api/v1/panels/{panel_id}/stream", headers=headers)
    assert response.status_code == 204
    assert response.headers["x-request-id"] == "resume-at-end"


async def test_a_last_event_id_beyond_the_log_never_brings_back_an_id_at_or_below_it(
    client: httpx2.AsyncClient,
) -> None:
    """The issue's report: a GET stream with `Last-Event-ID: 5` opened as the panel starts got 2 3 4 5 6 …"""
    panel = await new_panel(client)
    headers = {**headers_for(), "Last-Event-ID": "5"}
    async with client.stream("GET", f"/api/v1/panels/{panel['panel_id']}/stream", headers=headers) as response:
        assert response.status_code == 200
        started = await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
        assert started.status_code == 202
        ids = [frame.seq for frame in events_of(await read_all(response))]
    assert ids, "the panel's later events arrive"
    assert ids == list(range(6, ids[-1] + 1))


async def test_a_resume_id_past_a_running_panels_end_closes_the_stream_when_the_panel_ends(
    client: httpx2.AsyncClient,
) -> None:
    """Nothing at or below the client's id is sent, not even the terminal event; the stream still ends."""
    panel = await new_panel(client)
    headers = {**headers_for(), "Last-Event-ID": "100000"}
    async with client.stream("GET", f"/api/v1/panels/{panel['panel_id']}/stream", headers=headers) as response:
        assert response.status_code == 200
        await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
        frames = await read_all(response)
    assert events_of(frames) == []
    # The client reconnects with the same id: the panel has ended, so 204.
    again = await client.get(f"/api/v1/panels/{panel['panel_id']}/stream", headers=headers)
    assert again.status_code == 204
