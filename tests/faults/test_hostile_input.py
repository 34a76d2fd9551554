"""Items 3 and 6: text no store can keep is refused on every store; experts are bounded in every way.

Runs on every backend (in memory, SQLite, PostgreSQL): the answer to the same request is the same.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from ask_panel.application.agents import MAX_PAGE
from ask_panel.bootstrap import Container
from ask_panel.domain.experts import (
    BUILTIN_EXPERTS,
    MAX_EXPERTISE_TERM_CHARS,
    MAX_EXPERTISE_TERMS,
    MAX_INSTRUCTIONS_CHARS,
    MAX_NAME_CHARS,
    MAX_ROLE_CHARS,
)
from tests.conftest import TENANT_B, headers_for

UNSTORABLE = ["a\u0000b", "\u0000", "lone \ud800 surrogate", "\udfff"]


def panel(**overrides: Any) -> dict[str, Any]:
    return {"query": "What is our FDA 510(k) strategy?", "panel_type": "open", **overrides}


def expert(agent_id: str = "acme_sterilization", **overrides: Any) -> dict[str, Any]:
    return {
        "agent_id": agent_id,
        "name": "Dr. Ada Park",
        "role": "Sterilization scientist",
        "expertise": ["sterilization", "validation"],
        "instructions": "Judge sterilization choices.",
        **overrides,
    }


async def post(client: httpx2.AsyncClient, path: str, body: dict[str, Any]) -> httpx2.Response:
    """POST `body` as JSON with every non-ASCII character escaped (lone surrogates included)."""
    headers = {**headers_for(), "Content-Type": "application/json"}
    return await client.post(path, content=json.dumps(body).encode(), headers=headers)


def assert_422(response: httpx2.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 422


# ---- bodies that are not what the schema says: a 422 like any other invalid body ---------------------------


@pytest.mark.parametrize("content", [b"[" * 1000, b"{" * 1000, b'{"query": ' * 600, b"{"])
async def test_a_body_nested_too_deeply_to_parse_is_a_422_like_any_invalid_json(
    client: httpx2.AsyncClient, content: bytes
) -> None:
    headers = {**headers_for(), "Content-Type": "application/json"}
    answer = await client.post("/api/v1/panels", content=content, headers=headers)
    assert_422(answer)
    assert answer.json()["type"].endswith("/validation-error")


@pytest.mark.parametrize(
    "setting", [{"max_rounds": True}, {"max_rounds": "3"}, {"consensus_threshold": True}, {"shuffle_order": 1}]
)
async def test_a_setting_of_another_json_type_is_a_422_not_converted(
    client: httpx2.AsyncClient, setting: dict[str, Any]
) -> None:
    assert_422(await post(client, "/api/v1/panels", panel(configuration=setting)))


async def test_a_float_setting_takes_a_json_integer(client: httpx2.AsyncClient) -> None:
    answer = await post(client, "/api/v1/panels", panel(configuration={"consensus_threshold": 1, "max_rounds": 2}))
    assert answer.status_code == 201, answer.text
    assert answer.json()["configuration"]["consensus_threshold"] == 1


# ---- item 3: characters that some store cannot keep -----------------------------------------------------


@pytest.mark.parametrize("text", UNSTORABLE)
async def test_a_query_with_a_nul_or_a_lone_surrogate_is_a_422_on_every_store(
    client: httpx2.AsyncClient, text: str
) -> None:
    assert_422(await post(client, "/api/v1/panels", panel(query=text)))
    adversarial = panel(panel_type="adversarial", configuration={"proposition": text})
    assert_422(await post(client, "/api/v1/panels", adversarial))
    assert_422(await post(client, "/api/v1/panels", panel(configuration={text: 1})))


@pytest.mark.parametrize("field", ["name", "role", "instructions", "model"])
async def test_an_expert_field_with_a_nul_is_a_422_on_every_store(client: httpx2.AsyncClient, field: str) -> None:
    assert_422(await post(client, "/api/v1/agents", expert(**{field: "Dr. \u0000 Park"})))
    assert_422(await post(client, "/api/v1/agents", expert(**{field: "Dr. \ud800 Park"})))
    assert_422(await post(client, "/api/v1/agents", expert(expertise=["ok", "bad\u0000term"])))
    listed = await client.get("/api/v1/agents", headers=headers_for())
    assert all(a["builtin"] is not False for a in listed.json()["agents"]), "nothing was stored"


@pytest.mark.parametrize("agent_id", ["a%00b", "%00", "x%0A", "UPPER", "a" * 65])
async def test_an_expert_id_that_no_expert_can_have_is_the_404_of_an_unknown_one(
    client: httpx2.AsyncClient, agent_id: str
) -> None:
    response = await client.get(f"/api/v1/agents/{agent_id}", headers=headers_for())
    assert response.status_code == 404, response.text
    assert response.json()["type"].endswith("/agent-not-found")


async def test_unusual_but_storable_text_is_kept_faithfully_on_every_store(client: httpx2.AsyncClient) -> None:
    query = "Control \u0001\u001f, zero-width \u200b, RTL \u202e, emoji 😀 and astral \U0001d538: 510(k)?"
    created = await client.post("/api/v1/panels", json=panel(query=query), headers=headers_for())
    assert created.status_code == 201, created.text
    fetched = await client.get(f"/api/v1/panels/{created.json()['panel_id']}", headers=headers_for())
    assert fetched.json()["query"] == query
    agent = await client.post("/api/v1/agents", json=expert(name="Dr. 😀 \u0001 Park"), headers=headers_for())
    assert agent.status_code == 201, agent.text
    read = await client.get("/api/v1/agents/acme_sterilization", headers=headers_for())
    assert read.json()["name"] == "Dr. 😀 \u0001 Park"


# ---- item 6: experts bounded in every field, in number, and read a page at a time ----------------------


@pytest.mark.parametrize("database_url", ["memory"], indirect=True)  # refused before any store is touched
@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "n" * (MAX_NAME_CHARS + 1)},
        {"role": "r" * (MAX_ROLE_CHARS + 1)},
        {"instructions": "i" * (MAX_INSTRUCTIONS_CHARS + 1)},
        {"expertise": ["t" * (MAX_EXPERTISE_TERM_CHARS + 1)]},
        {"expertise": ["t" * 40_000] * MAX_EXPERTISE_TERMS},
        {"expertise": ["t"] * (MAX_EXPERTISE_TERMS + 1)},
        {"model": "m" * 201},
        {"provider": "p" * 41},
    ],
    ids=lambda o: next(iter(o)),
)
async def test_every_field_of_an_expert_has_a_limit(client: httpx2.AsyncClient, overrides: dict[str, Any]) -> None:
    assert_422(await client.post("/api/v1/agents", json=expert(**overrides), headers=headers_for()))


async def test_a_tenant_has_at_most_its_cap_of_experts_and_other_tenants_are_not_affected(
    container: Container, client: httpx2.AsyncClient
) -> None:
    container.agents.max_per_tenant = 3
    for i in range(3):
        assert (await client.post("/api/v1/agents", json=expert(f"own_{i}"), headers=headers_for())).status_code == 201
    refused = await client.post("/api/v1/agents", json=expert("own_3"), headers=headers_for())
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/agent-limit")
    other = await client.post("/api/v1/agents", json=expert("own_0"), headers=headers_for(TENANT_B))
    assert other.status_code == 201


async def test_the_registry_is_read_a_page_at_a_time_built_ins_first(client: httpx2.AsyncClient) -> None:
    for i in range(7):
        assert (await client.post("/api/v1/agents", json=expert(f"own_{i}"), headers=headers_for())).status_code == 201
    everything = (await client.get("/api/v1/agents", headers=headers_for())).json()
    assert everything["total"] == len(BUILTIN_EXPERTS) + 7 == len(everything["agents"])
    paged: list[str] = []
    for offset in range(0, everything["total"], 5):
        page = (await client.get(f"/api/v1/agents?limit=5&offset={offset}", headers=headers_for())).json()
        assert page["limit"] == 5 and page["offset"] == offset and page["total"] == everything["total"]
        paged += [a["agent_id"] for a in page["agents"]]
    assert paged == [a["agent_id"] for a in everything["agents"]]
    assert paged[: len(BUILTIN_EXPERTS)] == [e.agent_id for e in BUILTIN_EXPERTS]
    assert paged[len(BUILTIN_EXPERTS) :] == [f"own_{i}" for i in range(7)], "the tenant's own, oldest first"
    for bad in ("limit=0", f"limit={MAX_PAGE + 1}", "offset=-1", "limit=x"):
        response = await client.get(f"/api/v1/agents?{bad}", headers=headers_for())
        assert response.status_code == 400, (bad, response.text)


async def test_a_full_page_of_the_largest_experts_stays_small(container: Container, client: httpx2.AsyncClient) -> None:
    largest = expert(
        name="n" * MAX_NAME_CHARS,
        role="r" * MAX_ROLE_CHARS,
        instructions="i" * MAX_INSTRUCTIONS_CHARS,
        expertise=["t" * MAX_EXPERTISE_TERM_CHARS] * MAX_EXPERTISE_TERMS,
    )
    for i in range(10):
        created = await client.post("/api/v1/agents", json={**largest, "agent_id": f"big_{i}"}, headers=headers_for())
        assert created.status_code == 201, created.text
    listed = await client.get("/api/v1/agents", headers=headers_for())
    own = [a for a in listed.json()["agents"] if not a["builtin"]]
    assert len(own) == 10
    assert len(listed.content) < 10 * 10_000 + 50_000, "an expert is a few kilobytes at most"
