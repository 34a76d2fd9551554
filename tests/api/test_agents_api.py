"""The expert registry API: the built-in catalogue and each tenant's own experts."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.conftest import TENANT_A, TERMINAL, create_panel, headers_for, wait_for_status


def expert(agent_id: str = "acme_sterilization", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agent_id": agent_id,
        "name": "Dr. Ada Park",
        "role": "Sterilization scientist",
        "expertise": ["sterilization", "ethylene oxide", "validation"],
        "instructions": "Judge sterilization choices and their validation burden.",
    }
    body.update(overrides)
    return body


async def add_expert(client: httpx2.AsyncClient, body: dict[str, Any], tenant: str = TENANT_A) -> httpx2.Response:
    return await client.post("/api/v1/agents", json=body, headers=headers_for(tenant))


async def list_agents(client: httpx2.AsyncClient, tenant: str = TENANT_A) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/agents", headers=headers_for(tenant))
    assert response.status_code == 200
    agents: list[dict[str, Any]] = response.json()["agents"]
    return agents


# --- the built-in catalogue ----------------------------------------------------------------------------------------


async def test_the_catalogue_has_at_least_ten_complete_built_in_experts(client: httpx2.AsyncClient) -> None:
    agents = await list_agents(client)
    assert len(agents) >= 10
    ids = [a["agent_id"] for a in agents]
    assert {"fda_expert", "clinical_expert"} <= set(ids)
    assert len(set(ids)) == len(ids)
    for agent in agents:
        assert agent["builtin"] is True, agent["agent_id"]
        assert agent["name"].strip() and agent["role"].strip() and agent["instructions"].strip(), agent["agent_id"]
        assert isinstance(agent["expertise"], list) and agent["expertise"], agent["agent_id"]
        assert all(isinstance(term, str) and term.strip() for term in agent["expertise"]), agent["agent_id"]


@pytest.mark.parametrize("agent_id", ["fda_expert", "clinical_expert"])
async def test_a_built_in_expert_can_be_read_by_id(client: httpx2.AsyncClient, agent_id: str) -> None:
    response = await client.get(f"/api/v1/agents/{agent_id}", headers=headers_for())
    assert response.status_code == 200
    agent = response.json()
    assert agent["agent_id"] == agent_id
    assert agent["builtin"] is True
    assert agent in await list_agents(client)


async def test_an_unknown_expert_is_a_404_problem(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/v1/agents/nobody_here", headers=headers_for())
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("/agent-not-found")


# --- a tenant's own experts ----------------------------------------------------------------------------------------


async def test_creating_an_expert_returns_201_and_it_can_be_read_back(client: httpx2.AsyncClient) -> None:
    response = await add_expert(client, expert())
    assert response.status_code == 201, response.text
    created = response.json()
    assert created == {**expert(), "model": None, "provider": None, "output_mode": None, "builtin": False}
    fetched = await client.get("/api/v1/agents/acme_sterilization", headers=headers_for())
    assert fetched.status_code == 200
    assert fetched.json() == created


async def test_the_list_has_built_ins_first_then_the_tenants_own_in_creation_order(client: httpx2.AsyncClient) -> None:
    builtins = await list_agents(client)
    for agent_id in ("zz_first", "aa_second"):
        assert (await add_expert(client, expert(agent_id))).status_code == 201
    agents = await list_agents(client)
    assert agents[: len(builtins)] == builtins
    assert [a["agent_id"] for a in agents[len(builtins) :]] == ["zz_first", "aa_second"]
    assert [a["builtin"] for a in agents[len(builtins) :]] == [False, False]


async def test_an_expert_keeps_its_model_and_a_known_provider(client: httpx2.AsyncClient) -> None:
    response = await add_expert(client, expert(model="sim-large", provider="simulated"))
    assert response.status_code == 201, response.text
    assert (response.json()["model"], response.json()["provider"]) == ("sim-large", "simulated")


async def test_an_expert_keeps_its_output_mode_and_reads_it_back(client: httpx2.AsyncClient) -> None:
    response = await add_expert(client, expert(output_mode="prompt"))
    assert response.status_code == 201, response.text

    read = await client.get("/api/v1/agents/acme_sterilization", headers=headers_for())
    assert read.json()["output_mode"] == "prompt"


async def test_an_unknown_output_mode_is_a_422_naming_the_known_ones(client: httpx2.AsyncClient) -> None:
    response = await add_expert(client, expert(output_mode="telepathy"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "json_schema" in response.text and "prompt" in response.text


async def test_names_roles_expertise_and_instructions_are_trimmed(client: httpx2.AsyncClient) -> None:
    body = expert(
        name="  Dr. Ada Park ",
        role=" Scientist ",
        expertise=[" sterilization ", "  ", "eto"],
        instructions="  Judge.  ",
    )
    response = await add_expert(client, body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["name"], created["role"], created["expertise"], created["instructions"]) == (
        "Dr. Ada Park",
        "Scientist",
        ["sterilization", "eto"],
        "Judge.",
    )


@pytest.mark.parametrize("agent_id", ["fda_expert", "clinical_expert"])
async def test_shadowing_a_built_in_id_is_a_409(client: httpx2.AsyncClient, agent_id: str) -> None:
    response = await add_expert(client, expert(agent_id))
    assert response.status_code == 409
    assert response.json()["type"].endswith("/agent-exists")
    builtin = (await client.get(f"/api/v1/agents/{agent_id}", headers=headers_for())).json()
    assert builtin["builtin"] is True and builtin["name"] != "Dr. Ada Park"


async def test_a_duplicate_tenant_expert_id_is_a_409_and_keeps_the_first(client: httpx2.AsyncClient) -> None:
    assert (await add_expert(client, expert())).status_code == 201
    again = await add_expert(client, expert(name="Someone Else"))
    assert again.status_code == 409
    assert again.json()["type"].endswith("/agent-exists")
    fetched = (await client.get("/api/v1/agents/acme_sterilization", headers=headers_for())).json()
    assert fetched["name"] == "Dr. Ada Park"
    assert [a["agent_id"] for a in await list_agents(client)].count("acme_sterilization") == 1


@pytest.mark.parametrize(
    "agent_id",
    ["Acme", "acme expert", "-acme", "_acme", "acme.expert", "acme/expert", "ümlaut", "a", "x" * 65, "acme!"],
)
async def test_an_invalid_agent_id_is_a_422(client: httpx2.AsyncClient, agent_id: str) -> None:
    response = await add_expert(client, expert(agent_id))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert agent_id not in [a["agent_id"] for a in await list_agents(client)]


async def test_an_unknown_provider_is_a_422_naming_the_known_ones(client: httpx2.AsyncClient) -> None:
    response = await add_expert(client, expert(provider="skynet"))
    assert response.status_code == 422
    assert response.json()["type"].endswith("/invalid-input")
    assert "simulated" in response.json()["detail"]
    assert (await client.get("/api/v1/agents/acme_sterilization", headers=headers_for())).status_code == 404


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "   "},
        {"role": ""},
        {"instructions": "  "},
        {"expertise": [f"term{i}" for i in range(21)]},
        {"expertise": "sterilization"},
        {"surprise": True},
    ],
    ids=["blank-name", "empty-role", "blank-instructions", "too-much-expertise", "expertise-not-a-list", "extra"],
)
async def test_incomplete_or_unexpected_expert_fields_are_a_422(
    client: httpx2.AsyncClient, overrides: dict[str, Any]
) -> None:
    response = await add_expert(client, expert(**overrides))
    assert response.status_code == 422, response.text


async def test_missing_required_fields_are_a_422(client: httpx2.AsyncClient) -> None:
    for field in ("agent_id", "name", "role", "instructions"):
        body = expert()
        del body[field]
        assert (await add_expert(client, body)).status_code == 422, field


# --- tenant experts on panels --------------------------------------------------------------------------------------


async def test_a_tenant_expert_can_be_a_panel_member(client: httpx2.AsyncClient) -> None:
    assert (await add_expert(client, expert())).status_code == 201
    panel = await create_panel(client, agent_ids=["acme_sterilization", "fda_expert"])
    member = panel["members"][0]
    assert (member["agent_id"], member["agent_name"], member["agent_role"]) == (
        "acme_sterilization",
        "Dr. Ada Park",
        "Sterilization scientist",
    )
    assert panel["member_selection"] == "requested"


async def test_automatic_selection_considers_the_tenants_experts(client: httpx2.AsyncClient) -> None:
    assert (await add_expert(client, expert())).status_code == 201
    panel = await create_panel(client, agent_ids=None, query="How do we validate ethylene oxide sterilization?")
    assert "acme_sterilization" in [m["agent_id"] for m in panel["members"]]


async def test_a_panel_with_a_tenant_expert_runs_to_completion_with_that_expert_speaking(
    client: httpx2.AsyncClient,
) -> None:
    assert (await add_expert(client, expert())).status_code == 201
    panel = await create_panel(client, agent_ids=["acme_sterilization", "fda_expert"], configuration={"max_rounds": 1})
    executed = await client.post(f"/api/v1/panels/{panel['panel_id']}/execute", headers=headers_for())
    assert executed.status_code == 202
    done = await wait_for_status(client, panel["panel_id"], TERMINAL)
    assert done["status"] == "completed", done["error"]
    speakers = {m["agent_id"] for rnd in done["discussions"] for m in rnd["messages"]}
    assert "acme_sterilization" in speakers
