"""Stream tickets for browsers: one stream and its reconnects, short-lived; bearer tokens never ride in URLs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx2
import pytest

from ask_panel.application.tickets import StreamKind
from ask_panel.domain.errors import InvalidTicket
from ask_panel.domain.ids import PanelId
from ask_panel.domain.panel import utcnow
from ask_panel.infrastructure.auth import mint_jwt
from tests.conftest import JWT_SECRET, TENANT_A, TENANT_B, headers_for
from tests.e2e.conftest import Frame, LiveServer, new_panel, read_all, run_to_end, signature, sse_frames


async def issue(client: httpx2.AsyncClient, panel_id: str) -> str:
    response = await client.post(f"/api/v1/panels/{panel_id}/stream-ticket", headers=headers_for())
    assert response.status_code == 201, response.text
    ticket: str = response.json()["ticket"]
    return ticket


async def watch_with_ticket(
    client: httpx2.AsyncClient, panel_id: str, ticket: str, headers: dict[str, str] | None = None
) -> httpx2.Response:
    """GET /stream with the ticket and no Authorization (nor X-Tenant-ID unless given)."""
    return await client.get(f"/api/v1/panels/{panel_id}/stream", params={"ticket": ticket}, headers=headers)


async def _first_events(response: httpx2.Response, count: int) -> AsyncIterator[Frame]:
    seen = 0
    async for frame in sse_frames(response):
        if frame.id is not None:
            yield frame
            seen += 1
            if seen == count:
                return


def _parse(body: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "id" in fields:
            out.append((int(fields["id"]), fields["event"]))
    return out


async def test_a_ticket_is_issued_for_at_most_sixty_seconds(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    response = await client.post(f"/api/v1/panels/{panel['panel_id']}/stream-ticket", headers=headers_for())
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"ticket", "expires_at", "expires_in"}
    assert isinstance(body["ticket"], str) and len(body["ticket"]) >= 32
    assert 0 < body["expires_in"] <= 60
    expires_at = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires_at - utcnow() <= timedelta(seconds=61)


async def test_issuing_a_ticket_needs_normal_auth_and_an_existing_panel(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    response = await client.post(f"/api/v1/panels/{panel['panel_id']}/stream-ticket", headers={"X-Tenant-ID": TENANT_A})
    assert response.status_code == 401
    response = await client.post(
        "/api/v1/panels/00000000-0000-4000-8000-000000000000/stream-ticket", headers=headers_for()
    )
    assert response.status_code == 404


async def test_a_ticket_opens_the_stream_without_other_credentials(client: httpx2.AsyncClient) -> None:
    panel_id, frames = await run_to_end(client)
    ticket = await issue(client, panel_id)
    async with client.stream("GET", f"/api/v1/panels/{panel_id}/stream", params={"ticket": ticket}) as response:
        assert response.status_code == 200
        assert "authorization" not in response.request.headers
        assert "x-tenant-id" not in response.request.headers
        replay = await read_all(response)
    assert signature(replay) == signature(frames)


async def test_eventsources_own_reconnect_resumes_with_the_same_ticket_until_it_expires(
    client: httpx2.AsyncClient, live_server: LiveServer
) -> None:
    """EventSource repeats its URL (query and all) with the Last-Event-ID header after a drop: the ticket
    must still open it, and the header (the id it last received) wins over the URL's `last_event_id`."""
    panel_id, frames = await run_to_end(client)
    full = [(seq, event) for seq, event, _ in signature(frames)]
    ticket = await issue(client, panel_id)
    url = f"/api/v1/panels/{panel_id}/stream"
    params = {"ticket": ticket, "last_event_id": "1"}  # how a page resumes with a new EventSource
    async with client.stream("GET", url, params=params) as response:
        assert response.status_code == 200
        first = [f async for f in _first_events(response, 3)]  # then the connection drops
    assert [f.seq for f in first] == [2, 3, 4]
    resumed = await client.get(url, params=params, headers={"Last-Event-ID": str(first[-1].seq)})
    assert resumed.status_code == 200
    assert [(f.seq, f.event or "") for f in first] + _parse(resumed.text) == full[1:]
    # At the end the browser reconnects once more and is told to stop.
    at_end = await client.get(url, params=params, headers={"Last-Event-ID": str(full[-1][0])})
    assert at_end.status_code == 204
    # Expired, the same ticket opens nothing.
    with pytest.raises(InvalidTicket):
        await live_server.container.tickets.redeem(
            ticket, PanelId.from_string(panel_id), StreamKind.SSE, now=utcnow() + timedelta(seconds=61)
        )


async def test_a_ticket_is_refused_on_the_other_stream_path_and_for_another_tenant(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    pid = panel["panel_id"]
    ticket = await issue(client, pid)
    async with client.stream("GET", f"/api/v1/panels/{pid}/stream", params={"ticket": ticket}) as response:
        assert response.status_code == 200  # the first use binds it to this SSE stream
    refused = await watch_with_ticket(client, pid, ticket, headers={"X-Tenant-ID": TENANT_B})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await watch_with_ticket(client, pid, ticket, headers={"X-Tenant-ID": "not-a-uuid"})).status_code == 401


async def test_a_ticket_for_one_panel_does_not_open_another(client: httpx2.AsyncClient) -> None:
    p = await new_panel(client)
    q = await new_panel(client)
    ticket = await issue(client, p["panel_id"])
    assert (await watch_with_ticket(client, q["panel_id"], ticket)).status_code == 401
    assert (await watch_with_ticket(client, "not-a-panel-id", await issue(client, p["panel_id"]))).status_code == 401


async def test_made_up_and_oversized_tickets_are_refused(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    for ticket in ("made-up", "x" * 500, ""):
        response = await watch_with_ticket(client, panel["panel_id"], ticket)
        assert response.status_code == 401, (ticket[:10], response.text)


async def test_an_expired_ticket_is_refused(client: httpx2.AsyncClient, live_server: LiveServer) -> None:
    panel = await new_panel(client)
    pid = panel["panel_id"]
    ticket = await issue(client, pid)
    tickets = live_server.container.tickets
    with pytest.raises(InvalidTicket):
        await tickets.redeem(ticket, PanelId.from_string(pid), StreamKind.SSE, now=utcnow() + timedelta(seconds=61))
    # Refused once expired, but not bound or burnt by the refusal: still valid now.
    tenant = await tickets.redeem(ticket, PanelId.from_string(pid), StreamKind.SSE)
    assert str(tenant) == TENANT_A


async def test_a_bearer_token_in_the_query_string_is_not_accepted(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    token = mint_jwt(JWT_SECRET, [TENANT_A])
    path = f"/api/v1/panels/{panel['panel_id']}/stream"
    for params in ({"access_token": token}, {"access_token": token, "token": token}):
        response = await client.get(path, params=params)
        assert response.status_code in (400, 401), response.text
        response = await client.get(path, params=params, headers={"X-Tenant-ID": TENANT_A})
        assert response.status_code == 401, response.text
