"""Tenant isolation: no endpoint lets tenant B read, list or change tenant A's panels or experts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from httpx2.websockets import ASGIWebSocketTransport, AsyncWebSocketClient, WebSocketDisconnect

from ask_panel.api.app import create_app
from ask_panel.bootstrap import Container
from ask_panel.domain.ids import PanelId, TenantId
from ask_panel.infrastructure.auth import mint_jwt
from tests.conftest import JWT_SECRET, TENANT_A, TENANT_B, create_panel, headers_for

A_EXPERT = {
    "agent_id": "acme_sterilization",
    "name": "Dr. Ada Park",
    "role": "Sterilization scientist",
    "expertise": ["sterilization", "ethylene oxide", "bioburden"],
    "instructions": "Judge sterilization choices and their validation burden.",
}
STERILIZATION_QUERY = "How do we validate ethylene oxide sterilization and bioburden limits?"

# What tenant B might try against one of A's panels: (method, path template).
PANEL_ATTEMPTS: list[tuple[str, str]] = [
    ("GET", "/api/v1/panels/{id}"),
    ("POST", "/api/v1/panels/{id}/execute"),
    ("DELETE", "/api/v1/panels/{id}"),
    ("POST", "/api/v1/panels/{id}/stream"),
    ("GET", "/api/v1/panels/{id}/stream"),
    ("POST", "/api/v1/panels/{id}/stream-ticket"),
]
ATTEMPT_IDS = [f"{method} {path}" for method, path in PANEL_ATTEMPTS]


@dataclass(frozen=True)
class World:
    a_panel: dict[str, Any]
    b_panel: dict[str, Any]


@pytest.fixture
async def world(client: httpx2.AsyncClient) -> World:
    """Tenant A has a draft panel and a custom expert; tenant B has a draft panel of its own."""
    a_panel = await create_panel(client, TENANT_A)
    response = await client.post("/api/v1/agents", json=A_EXPERT, headers=headers_for(TENANT_A))
    assert response.status_code == 201, response.text
    b_panel = await create_panel(client, TENANT_B, query="B's own question?")
    return World(a_panel, b_panel)


async def b_tries(client: httpx2.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx2.Response:
    """A request as tenant B, bounded in time: a stream that wrongly opened would otherwise wait forever."""
    async with asyncio.timeout(10):
        return await client.request(method, path, headers=headers_for(TENANT_B), **kwargs)


async def events_of(container: Container, tenant: str, panel_id: str) -> list[Any]:
    async with container.uow(TenantId.from_string(tenant)) as uow:
        return list(await uow.events.read(PanelId.from_string(panel_id), after=0))


async def assert_untouched(
    client: httpx2.AsyncClient, container: Container, tenant: str, panel: dict[str, Any]
) -> None:
    response = await client.get(f"/api/v1/panels/{panel['panel_id']}", headers=headers_for(tenant))
    assert response.status_code == 200
    now = response.json()
    assert now["status"] == "draft"
    assert now["last_event_id"] == 0
    assert now["started_at"] is None and now["completed_at"] is None
    assert now["updated_at"] == panel["updated_at"]
    assert now["discussions"] == [] and now["total_messages"] == 0
    assert await events_of(container, tenant, panel["panel_id"]) == []


# --- panels --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), PANEL_ATTEMPTS, ids=ATTEMPT_IDS)
async def test_tenant_b_gets_a_404_for_anything_it_does_to_tenant_as_panel(
    client: httpx2.AsyncClient, container: Container, world: World, method: str, path: str
) -> None:
    response = await b_tries(client, method, path.format(id=world.a_panel["panel_id"]))
    assert response.status_code == 404, response.text
    assert response.json()["type"].endswith("/panel-not-found")
    await assert_untouched(client, container, TENANT_A, world.a_panel)


@pytest.mark.parametrize(("method", "path"), PANEL_ATTEMPTS, ids=ATTEMPT_IDS)
async def test_tenant_as_panel_looks_exactly_like_a_panel_that_does_not_exist(
    client: httpx2.AsyncClient, world: World, method: str, path: str
) -> None:
    foreign = await b_tries(client, method, path.format(id=world.a_panel["panel_id"]))
    missing = await b_tries(client, method, path.format(id="77777777-7777-4777-8777-777777777777"))
    assert foreign.status_code == missing.status_code == 404
    strip = {"request_id", "detail"}
    assert {k: v for k, v in foreign.json().items() if k not in strip} == {
        k: v for k, v in missing.json().items() if k not in strip
    }
    assert world.a_panel["query"] not in foreign.text


async def test_tenant_as_panel_is_untouched_after_all_of_bs_attempts(
    client: httpx2.AsyncClient, container: Container, world: World
) -> None:
    for method, path in PANEL_ATTEMPTS * 2:
        response = await b_tries(client, method, path.format(id=world.a_panel["panel_id"]))
        assert response.status_code == 404, (method, path, response.text)
    await assert_untouched(client, container, TENANT_A, world.a_panel)
    executed = await client.post(f"/api/v1/panels/{world.a_panel['panel_id']}/execute", headers=headers_for(TENANT_A))
    assert executed.status_code == 202, "A can still execute its own panel: B's attempts changed nothing"


async def test_listing_shows_and_counts_only_the_callers_panels(client: httpx2.AsyncClient, world: World) -> None:
    a_second = await create_panel(client, TENANT_A, panel_type="delphi")
    a_ids = {world.a_panel["panel_id"], a_second["panel_id"]}
    for query in ("", "?status=draft", "?panel_type=structured", "?panel_type=delphi", "?limit=100&offset=0"):
        page = (await b_tries(client, "GET", f"/api/v1/panels{query}")).json()
        ids = {p["panel_id"] for p in page["panels"]}
        assert not ids & a_ids, query
        assert {p["tenant_id"] for p in page["panels"]} <= {TENANT_B}, query
        assert page["total"] == len(ids), query
    all_of_b = (await b_tries(client, "GET", "/api/v1/panels")).json()
    assert [p["panel_id"] for p in all_of_b["panels"]] == [world.b_panel["panel_id"]]
    assert all_of_b["total"] == 1
    all_of_a = (await client.get("/api/v1/panels", headers=headers_for(TENANT_A))).json()
    assert {p["panel_id"] for p in all_of_a["panels"]} == a_ids
    assert all_of_a["total"] == 2


async def test_bs_stream_ticket_does_not_open_as_panel(
    client: httpx2.AsyncClient, container: Container, world: World
) -> None:
    issued = await b_tries(client, "POST", f"/api/v1/panels/{world.b_panel['panel_id']}/stream-ticket")
    assert issued.status_code == 201
    ticket = issued.json()["ticket"]
    async with asyncio.timeout(10):
        response = await client.get(f"/api/v1/panels/{world.a_panel['panel_id']}/stream", params={"ticket": ticket})
    assert response.status_code == 401
    await assert_untouched(client, container, TENANT_A, world.a_panel)


# --- experts -------------------------------------------------------------------------------------------------------


async def test_tenant_b_does_not_see_tenant_as_expert_in_the_list(client: httpx2.AsyncClient, world: World) -> None:
    b_ids = [a["agent_id"] for a in (await b_tries(client, "GET", "/api/v1/agents")).json()["agents"]]
    a_ids = [
        a["agent_id"] for a in (await client.get("/api/v1/agents", headers=headers_for(TENANT_A))).json()["agents"]
    ]
    assert A_EXPERT["agent_id"] in a_ids
    assert A_EXPERT["agent_id"] not in b_ids
    assert b_ids == [i for i in a_ids if i != A_EXPERT["agent_id"]]


async def test_tenant_b_gets_a_404_for_tenant_as_expert(client: httpx2.AsyncClient, world: World) -> None:
    response = await b_tries(client, "GET", f"/api/v1/agents/{A_EXPERT['agent_id']}")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/agent-not-found")
    own = await client.get(f"/api/v1/agents/{A_EXPERT['agent_id']}", headers=headers_for(TENANT_A))
    assert own.status_code == 200 and own.json()["name"] == A_EXPERT["name"]


async def test_expert_ids_are_per_tenant_so_b_may_reuse_as_id(client: httpx2.AsyncClient, world: World) -> None:
    b_version = {**A_EXPERT, "name": "Mx. B Reviewer", "role": "B's own reviewer", "expertise": ["audits"]}
    created = await b_tries(client, "POST", "/api/v1/agents", json=b_version)
    assert created.status_code == 201, created.text
    path = f"/api/v1/agents/{A_EXPERT['agent_id']}"
    assert (await b_tries(client, "GET", path)).json()["name"] == "Mx. B Reviewer"
    a_view = (await client.get(path, headers=headers_for(TENANT_A))).json()
    assert (a_view["name"], a_view["role"], a_view["expertise"]) == (
        A_EXPERT["name"],
        A_EXPERT["role"],
        A_EXPERT["expertise"],
    )
    a_list = (await client.get("/api/v1/agents", headers=headers_for(TENANT_A))).json()["agents"]
    assert [a["name"] for a in a_list if a["agent_id"] == A_EXPERT["agent_id"]] == [A_EXPERT["name"]]


async def test_tenant_b_cannot_put_tenant_as_expert_on_a_panel(client: httpx2.AsyncClient, world: World) -> None:
    body = {"query": "Sterilization?", "panel_type": "structured", "agent_ids": ["fda_expert", A_EXPERT["agent_id"]]}
    response = await b_tries(client, "POST", "/api/v1/panels", json=body)
    assert response.status_code == 422
    assert response.json()["type"].endswith("/unknown-agents")
    assert response.json()["agent_ids"] == [A_EXPERT["agent_id"]]
    assert (await b_tries(client, "GET", "/api/v1/panels")).json()["total"] == 1


async def test_automatic_member_selection_never_picks_another_tenants_expert(
    client: httpx2.AsyncClient, world: World
) -> None:
    a_panel = await create_panel(client, TENANT_A, agent_ids=None, query=STERILIZATION_QUERY)
    assert A_EXPERT["agent_id"] in [m["agent_id"] for m in a_panel["members"]], "control: A's expert fits the query"
    b_panel = await create_panel(client, TENANT_B, agent_ids=None, query=STERILIZATION_QUERY)
    assert A_EXPERT["agent_id"] not in [m["agent_id"] for m in b_panel["members"]]
    assert A_EXPERT["name"] not in [m["agent_name"] for m in b_panel["members"]]


# --- a token for A with X-Tenant-ID of B ---------------------------------------------------------------------------


def _endpoints(panel_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", "/api/v1/panels", None),
        ("POST", "/api/v1/panels", {"query": "Sneaky?", "panel_type": "structured", "agent_ids": ["fda_expert"]}),
        ("GET", f"/api/v1/panels/{panel_id}", None),
        ("POST", f"/api/v1/panels/{panel_id}/execute", None),
        ("DELETE", f"/api/v1/panels/{panel_id}", None),
        ("POST", f"/api/v1/panels/{panel_id}/stream", None),
        ("GET", f"/api/v1/panels/{panel_id}/stream", None),
        ("POST", f"/api/v1/panels/{panel_id}/stream-ticket", None),
        ("GET", "/api/v1/agents", None),
        ("POST", "/api/v1/agents", {**A_EXPERT, "agent_id": "sneaky_expert"}),
        ("GET", "/api/v1/agents/fda_expert", None),
    ]


ENDPOINT_INDEXES = list(range(len(_endpoints("{id}"))))
ENDPOINT_IDS = [f"{m} {p}" for m, p, _ in _endpoints("{id}")]


@pytest.mark.parametrize("index", ENDPOINT_INDEXES, ids=ENDPOINT_IDS)
async def test_a_token_for_a_used_with_x_tenant_id_of_b_is_a_403(
    client: httpx2.AsyncClient, container: Container, world: World, index: int
) -> None:
    method, path, body = _endpoints(world.b_panel["panel_id"])[index]
    headers = headers_for(TENANT_B, token=mint_jwt(JWT_SECRET, [TENANT_A]))
    async with asyncio.timeout(10):
        response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code == 403, response.text
    assert world.b_panel["query"] not in response.text
    await assert_untouched(client, container, TENANT_B, world.b_panel)
    b_agents = (await b_tries(client, "GET", "/api/v1/agents")).json()["agents"]
    assert "sneaky_expert" not in [a["agent_id"] for a in b_agents]
    assert (await b_tries(client, "GET", "/api/v1/panels")).json()["total"] == 1


# --- the WebSocket -------------------------------------------------------------------------------------------------


async def ws_close_code(container: Container, panel_id: str, headers: dict[str, str]) -> int:
    """The close code a refused WebSocket gets (the test transport has no denial-response extension)."""
    transport = ASGIWebSocketTransport(app=create_app(container=container))
    async with asyncio.timeout(10), httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
        with pytest.raises(WebSocketDisconnect) as refused:
            async with AsyncWebSocketClient(client).connect(f"/api/v1/panels/{panel_id}/ws", headers=headers):
                pass
    return refused.value.code


async def test_tenant_b_cannot_open_tenant_as_panel_over_websocket(
    client: httpx2.AsyncClient, container: Container, world: World
) -> None:
    assert await ws_close_code(container, world.a_panel["panel_id"], headers_for(TENANT_B)) == 4404
    assert await ws_close_code(container, "77777777-7777-4777-8777-777777777777", headers_for(TENANT_B)) == 4404
    await assert_untouched(client, container, TENANT_A, world.a_panel)


async def test_a_token_for_a_cannot_open_bs_panel_over_websocket(container: Container, world: World) -> None:
    headers = headers_for(TENANT_B, token=mint_jwt(JWT_SECRET, [TENANT_A]))
    assert await ws_close_code(container, world.b_panel["panel_id"], headers) == 4403
