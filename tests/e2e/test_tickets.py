"""Stream tickets for browsers: single use, one panel, short-lived; bearer tokens never ride in the URL."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx2
import pytest

from ask_panel.domain.errors import InvalidTicket
from ask_panel.domain.ids import PanelId
from ask_panel.domain.panel import utcnow
from ask_panel.infrastructure.auth import mint_jwt
from tests.conftest import JWT_SECRET, TENANT_A, headers_for
from tests.e2e.conftest import LiveServer, new_panel, read_all, run_to_end, signature


async def issue(client: httpx2.AsyncClient, panel_id: str) -> str:
    response = await client.post(f"/api/v1/panels/{panel_id}/stream-ticket", headers=headers_for())
    assert response.status_code == 201, response.text
    ticket: str = response.json()["ticket"]
    return ticket


async def watch_with_ticket(client: httpx2.AsyncClient, panel_id: str, ticket: str) -> httpx2.Response:
    """GET /stream with only the ticket: no Authorization, no X-Tenant-ID."""
    return await client.get(f"/api/v1/panels/{panel_id}/stream", params={"ticket": ticket})


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


async def test_a_ticket_opens_the_stream_without_other_credentials_exactly_once(client: httpx2.AsyncClient) -> None:
    panel_id, frames = await run_to_end(client)
    ticket = await issue(client, panel_id)
    async with client.stream("GET", f"/api/v1/panels/{panel_id}/stream", params={"ticket": ticket}) as response:
        assert response.status_code == 200
        assert "authorization" not in response.request.headers
        assert "x-tenant-id" not in response.request.headers
        replay = await read_all(response)
    assert signature(replay) == signature(frames)

    again = await watch_with_ticket(client, panel_id, ticket)
    assert again.status_code == 401
    assert again.headers["content-type"].startswith("application/problem+json")


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
        await tickets.redeem(ticket, PanelId.from_string(pid), now=utcnow() + timedelta(seconds=61))
    # Refused once expired, but not burnt: still valid now, once.
    tenant = await tickets.redeem(ticket, PanelId.from_string(pid))
    assert str(tenant) == TENANT_A
    assert (await watch_with_ticket(client, pid, ticket)).status_code == 401


async def test_a_bearer_token_in_the_query_string_is_not_accepted(client: httpx2.AsyncClient) -> None:
    panel = await new_panel(client)
    token = mint_jwt(JWT_SECRET, [TENANT_A])
    path = f"/api/v1/panels/{panel['panel_id']}/stream"
    for params in ({"access_token": token}, {"access_token": token, "token": token}):
        response = await client.get(path, params=params)
        assert response.status_code in (400, 401), response.text
        response = await client.get(path, params=params, headers={"X-Tenant-ID": TENANT_A})
        assert response.status_code == 401, response.text
