"""Changing and removing tenant experts (PUT, PATCH, DELETE), and the snapshot a panel keeps of its experts."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.api.test_agents_api import add_expert, expert, list_agents
from tests.conftest import TENANT_A, TENANT_B, create_panel, headers_for, wait_for_status

AGENT = "/api/v1/agents/acme_sterilization"


async def added(client: httpx2.AsyncClient, tenant: str = TENANT_A) -> dict[str, Any]:
    response = await add_expert(client, expert(), tenant)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_put_redefines_a_tenant_expert_as_a_whole(client: httpx2.AsyncClient) -> None:
    await added(client)
    body = {"name": "Dr. Ada Park-Lee", "role": "Head of sterilization", "instructions": "Weigh validation cost."}
    response = await client.put(AGENT, json=body, headers=headers_for())
    assert response.status_code == 200, response.text
    assert response.json() == {
        **body,
        "agent_id": "acme_sterilization",
        "expertise": [],  # left out: its default
        "model": None,
        "provider": None,
        "builtin": False,
        "output_mode": None,
    }
    assert (await client.get(AGENT, headers=headers_for())).json() == response.json()


async def test_patch_changes_only_the_fields_given_and_null_clears_a_model(client: httpx2.AsyncClient) -> None:
    await add_expert(client, expert(model="gpt-4o", provider="simulated"))
    response = await client.patch(AGENT, json={"role": "  Sterilization lead ", "model": None}, headers=headers_for())
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["role"], changed["model"], changed["provider"]) == ("Sterilization lead", None, "simulated")
    assert changed["name"] == "Dr. Ada Park" and changed["expertise"] == expert()["expertise"]


async def test_delete_removes_a_tenant_expert_and_frees_its_id(client: httpx2.AsyncClient) -> None:
    await added(client)
    assert (await client.delete(AGENT, headers=headers_for())).status_code == 204
    assert (await client.get(AGENT, headers=headers_for())).status_code == 404
    assert "acme_sterilization" not in {a["agent_id"] for a in await list_agents(client)}
    assert (await client.delete(AGENT, headers=headers_for())).status_code == 404
    assert (await add_expert(client, expert())).status_code == 201


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_a_built_in_expert_is_read_only_with_a_clear_403_problem(client: httpx2.AsyncClient, method: str) -> None:
    body = None if method == "DELETE" else {"name": "Mallory", "role": "Impostor", "instructions": "Take over."}
    response = await client.request(method, "/api/v1/agents/fda_expert", json=body, headers=headers_for())
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/builtin-agent-read-only")
    assert problem["title"] == "Built-in expert is read-only"
    assert "fda_expert" in problem["detail"] and "POST /api/v1/agents" in problem["detail"]
    assert (await client.get("/api/v1/agents/fda_expert", headers=headers_for())).json()["name"] == "Dr. Maya Chen"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_another_tenant_s_expert_is_a_404_and_stays_as_it_was(client: httpx2.AsyncClient, method: str) -> None:
    original = await added(client, TENANT_A)
    body = None if method == "DELETE" else {"name": "X", "role": "Y", "instructions": "Z"}
    response = await client.request(method, AGENT, json=body, headers=headers_for(TENANT_B))
    assert response.status_code == 404
    assert (await client.get(AGENT, headers=headers_for(TENANT_A))).json() == original


@pytest.mark.parametrize(
    "body",
    [{"name": ""}, {"instructions": None}, {"expertise": None}, {"agent_id": "other"}, {"provider": "nope"}],
)
async def test_a_patch_that_would_break_an_expert_is_refused_and_changes_nothing(
    client: httpx2.AsyncClient, body: dict[str, Any]
) -> None:
    original = await added(client)
    response = await client.patch(AGENT, json=body, headers=headers_for())
    assert response.status_code == 422, response.text
    assert (await client.get(AGENT, headers=headers_for())).json() == original


async def test_editing_an_expert_never_rewrites_a_panel_that_has_it(client: httpx2.AsyncClient) -> None:
    await added(client)
    panel = await create_panel(client, agent_ids=["acme_sterilization", "fda_expert"], configuration={"max_rounds": 1})
    assert [e["name"] for e in panel["experts"]] == ["Dr. Ada Park", "Dr. Maya Chen"]

    await client.patch(AGENT, json={"name": "Dr. Renamed", "instructions": "New view."}, headers=headers_for())
    await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
    done = await wait_for_status(client, panel["panel_id"], {"completed"})

    assert [e["name"] for e in done["experts"]] == ["Dr. Ada Park", "Dr. Maya Chen"]
    assert done["experts"][0]["instructions"] == expert()["instructions"]
    speakers = {m["agent_name"] for rnd in done["discussions"] for m in rnd["messages"] if m["role"] == "expert"}
    assert "Dr. Ada Park" in speakers and "Dr. Renamed" not in speakers
    later = await create_panel(client, agent_ids=["acme_sterilization", "fda_expert"])
    assert later["experts"][0]["name"] == "Dr. Renamed"  # new panels take the new definition


async def test_a_queued_panel_still_runs_after_its_expert_is_deleted(client: httpx2.AsyncClient) -> None:
    await added(client)
    panel = await create_panel(client, agent_ids=["acme_sterilization", "fda_expert"], configuration={"max_rounds": 1})
    assert (await client.delete(AGENT, headers=headers_for())).status_code == 204
    await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
    done = await wait_for_status(client, panel["panel_id"], {"completed", "failed"})
    assert done["status"] == "completed"
    assert "Dr. Ada Park" in {m["agent_name"] for rnd in done["discussions"] for m in rnd["messages"]}
