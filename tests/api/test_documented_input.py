"""What schemathesis found (tests/fuzz): input the document allowed but the service refused, or the reverse.

Each test is one finding, kept as a rule: the document states every bound the service checks, and the
service takes exactly the JSON types the document names.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from jsonschema import Draft202012Validator

from ask_panel.bootstrap import build_providers
from ask_panel.config import MEMORY_DATABASE_URL
from ask_panel.domain.configuration import NUMBER_RANGES
from ask_panel.domain.text import NOT_BLANK_PATTERN
from tests.conftest import headers_for, make_settings, serving

MAX_QUERY_CHARS = 500


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    async with serving(make_settings(MEMORY_DATABASE_URL, max_query_chars=MAX_QUERY_CHARS)) as (_, client):
        yield client


@pytest.fixture
async def spec(client: httpx2.AsyncClient) -> dict[str, Any]:
    document: dict[str, Any] = (await client.get("/openapi.json")).json()
    return document


def schema_of(spec: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][name]
    return schema


def accepts(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> bool:
    return Draft202012Validator({**schema, "components": spec["components"]}).is_valid(value)


async def create(client: httpx2.AsyncClient, **body: Any) -> httpx2.Response:
    payload = {"query": "What is our FDA 510(k) strategy?", "panel_type": "structured", "agent_ids": ["fda_expert"]}
    return await client.post("/api/v1/panels", json={**payload, **body}, headers=headers_for())


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/panels", "GET, POST"),
        ("/api/v1/agents/acme_sterilization", "DELETE, GET, PATCH, PUT"),
        ("/healthz", "GET"),
        ("/", "GET, HEAD"),
    ],
)
async def test_a_method_not_allowed_lists_every_method_of_the_resource(
    client: httpx2.AsyncClient, path: str, allowed: str
) -> None:
    response = await client.request("TRACE", path, headers=headers_for())
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["allow"] == allowed


@pytest.mark.parametrize(
    ("key", "value"),
    [("seed", True), ("max_rounds", "3"), ("consensus_threshold", "0.5"), ("shuffle_order", "yes"), ("seed", 1)],
)
async def test_a_configuration_value_of_another_json_type_is_refused(
    client: httpx2.AsyncClient, key: str, value: Any
) -> None:
    response = await create(client, configuration={key: value})
    if isinstance(value, bool | str):
        assert response.status_code == 422, response.text
        assert key in response.json()["detail"]
    else:
        assert response.status_code == 201  # an integer is an integer


async def test_an_integral_number_is_an_integer(client: httpx2.AsyncClient) -> None:
    response = await create(client, configuration={"max_rounds": 2.0})
    assert response.status_code == 201, response.text
    assert response.json()["configuration"]["max_rounds"] == 2


async def test_the_seed_is_at_most_the_largest_integer_json_keeps_exactly(
    client: httpx2.AsyncClient, spec: dict[str, Any]
) -> None:
    assert (await create(client, configuration={"seed": 2**53 - 1})).status_code == 201
    assert (await create(client, configuration={"seed": 2**53})).status_code == 422
    seed = schema_of(spec, "StructuredConfiguration")["properties"]["seed"]
    assert (seed["minimum"], seed["maximum"]) == (0, 2**53 - 1)


async def test_every_numeric_configuration_bound_is_in_the_document(spec: dict[str, Any]) -> None:
    for name in ("StructuredConfiguration", "OpenConfiguration", "DelphiConfiguration", "AdversarialConfiguration"):
        for key, value in schema_of(spec, name)["properties"].items():
            if key in NUMBER_RANGES:
                assert (value["minimum"], value["maximum"]) == NUMBER_RANGES[key], (name, key)
                assert "default" not in value


async def test_the_document_states_the_query_limit_the_service_is_configured_with(
    client: httpx2.AsyncClient, spec: dict[str, Any]
) -> None:
    queries = [
        s["properties"]["query"] for s in spec["components"]["schemas"].values() if "query" in s.get("properties", {})
    ]
    requests = [q for q in queries if "maxLength" in q]
    assert requests and all(q["maxLength"] == MAX_QUERY_CHARS and q["pattern"] == NOT_BLANK_PATTERN for q in requests)
    assert (await create(client, query="x" * MAX_QUERY_CHARS)).status_code == 201
    assert (await create(client, query="x" * (MAX_QUERY_CHARS + 1))).status_code == 422


@pytest.mark.parametrize("blank", [" \t\n", "\u3000", "\x1c\x1f", "\x85"])
async def test_the_not_blank_pattern_is_what_the_service_trims(client: httpx2.AsyncClient, blank: str) -> None:
    assert re.search(NOT_BLANK_PATTERN, blank) is None
    assert blank.strip() == ""
    assert (await create(client, query=blank)).status_code == 422
    assert re.search(NOT_BLANK_PATTERN, f"{blank}a") is not None


async def test_an_expert_id_the_service_refuses_is_outside_the_documented_pattern(
    client: httpx2.AsyncClient, spec: dict[str, Any]
) -> None:
    schema = schema_of(spec, "CreateAgentRequest")
    body = {"name": "Ada", "role": "Tester", "instructions": "Test.", "agent_id": "GET"}
    assert not accepts(spec, schema, body)
    refused = await client.post("/api/v1/agents", json=body, headers=headers_for())
    assert refused.status_code == 422
    assert accepts(spec, schema, {**body, "agent_id": "get"})


async def test_the_documented_providers_are_the_ones_the_service_builds(spec: dict[str, Any]) -> None:
    provider = schema_of(spec, "CreateAgentRequest")["properties"]["provider"]
    documented = {value for alternative in provider["anyOf"] for value in alternative.get("enum", [])}
    assert documented == build_providers(make_settings(MEMORY_DATABASE_URL)).names


async def test_an_experts_fields_that_cannot_be_cleared_are_not_nullable_in_the_document(
    client: httpx2.AsyncClient, spec: dict[str, Any]
) -> None:
    schema = schema_of(spec, "UpdateAgentRequest")
    for field in ("name", "role", "instructions", "expertise"):
        assert not accepts(spec, schema, {field: None}), field
    for field in ("model", "provider", "output_mode"):
        assert accepts(spec, schema, {field: None}), field
    body = {"agent_id": "acme_probe", "name": "Ada", "role": "Tester", "instructions": "Test."}
    assert (await client.post("/api/v1/agents", json=body, headers=headers_for())).status_code == 201
    cleared = await client.patch("/api/v1/agents/acme_probe", json={"instructions": None}, headers=headers_for())
    assert cleared.status_code == 422


async def test_panel_experts_are_documented_as_at_most_ten_distinct_ids(spec: dict[str, Any]) -> None:
    requests = [s for s in spec["components"]["schemas"].values() if "agent_ids" in s.get("properties", {})]
    declared = [s["properties"]["agent_ids"] for s in requests if "maxItems" in s["properties"]["agent_ids"]]
    assert declared and all(d["maxItems"] == 10 and d["uniqueItems"] for d in declared)
