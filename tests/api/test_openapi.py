"""The OpenAPI document generates working clients: valid, problem+json on every error, security schemes,
required tenant header, enums, a configuration per panel type, a schema per stream event, the WebSocket
described; and every answer the service gives matches what the document says of it."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from openapi_spec_validator import validate

from ask_panel.api.errors import PROBLEM_JSON
from ask_panel.domain.configuration import PanelConfiguration
from ask_panel.domain.events import EventType
from ask_panel.domain.status import PanelType
from tests.api.openapi_conformance import Conformance
from tests.conftest import TENANT_B, create_panel, headers_for, wait_for_status

PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
ALL_TENANT_OPERATIONS = {
    "createPanel",
    "getPanel",
    "listPanels",
    "executePanel",
    "cancelPanel",
    "streamPanel",
    "createStreamTicket",
    "listAgents",
    "createAgent",
    "getAgent",
    "replaceAgent",
    "updateAgent",
    "deleteAgent",
    "getPanelReport",
}


@pytest.fixture
async def spec(client: httpx2.AsyncClient) -> dict[str, Any]:
    document: dict[str, Any] = (await client.get("/openapi.json")).json()
    return document


PROBES = ("/healthz", "/readyz")


def operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        op["operationId"]: op
        for path, item in spec["paths"].items()
        if path.startswith("/api/") or path in PROBES
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


async def test_the_document_is_a_valid_openapi_3_1_document(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)  # openapi-spec-validator: raises on any violation of the OpenAPI 3.1 schema


async def test_every_error_response_is_problem_json_with_its_schema(spec: dict[str, Any]) -> None:
    for name, operation in operations(spec).items():
        responses = operation["responses"]
        assert "default" in responses, name
        for status, response in responses.items():
            if status == "default" or int(status) >= 400:
                assert response["content"] == PROBLEM, (name, status)
        assert ("422" in responses) == ("requestBody" in operation), f"{name}: a 422 only where there is a body"
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    problem = schemas["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert {"request_id", "errors", "agent_ids"} <= set(problem["properties"])


async def test_calls_carry_a_bearer_token_and_name_their_tenant(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["streamTicket"]["in"] == "query" and schemes["streamTicket"]["name"] == "ticket"
    ops = operations(spec)
    for name in ALL_TENANT_OPERATIONS:
        assert ops[name]["security"] == [{"bearerAuth": []}], name
        tenant = [p for p in ops[name]["parameters"] if p["name"] == "X-Tenant-ID"]
        assert tenant and tenant[0]["required"] is True and tenant[0]["in"] == "header", name
        assert not [p for p in ops[name]["parameters"] if p["name"].lower() == "authorization"], name
    watch = ops["watchPanel"]
    assert watch["security"] == [{"bearerAuth": []}, {"streamTicket": []}]
    assert next(p for p in watch["parameters"] if p["name"] == "X-Tenant-ID")["required"] is False
    assert "security" not in ops["getMeta"]
    for probe in ("healthz", "readyz"):
        assert "security" not in ops[probe], "probes need no token"
        assert "429" not in ops[probe]["responses"], "probes are not rate limited"


async def test_a_probe_that_is_not_ready_answers_the_problem_the_document_declares(spec: dict[str, Any]) -> None:
    declared = spec["paths"]["/readyz"]["get"]["responses"]["503"]
    assert declared["content"] == PROBLEM


async def test_panel_types_and_statuses_are_enums_and_each_panel_type_has_its_configuration(
    spec: dict[str, Any],
) -> None:
    schemas = spec["components"]["schemas"]
    assert set(schemas["PanelType"]["enum"]) == {t.value for t in PanelType}
    assert set(schemas["PanelStatus"]["enum"]) == {"draft", "queued", "in_progress", "completed", "failed", "cancelled"}
    body = operations(spec)["createPanel"]["requestBody"]["content"]["application/json"]["schema"]
    mapping = body["discriminator"]["mapping"]
    assert body["discriminator"]["propertyName"] == "panel_type" and set(mapping) == {t.value for t in PanelType}
    for kind in PanelType:
        variant = schemas[mapping[kind.value].rsplit("/", 1)[1]]
        assert variant["properties"]["panel_type"]["const"] == kind.value
        reference = variant["properties"]["configuration"]["anyOf"][0]["$ref"]
        configuration = schemas[reference.rsplit("/", 1)[1]]
        assert configuration["additionalProperties"] is False
        assert list(configuration["properties"]) == list(PanelConfiguration.keys_for(kind)), kind
        assert all("default" not in field for field in configuration["properties"].values())
    listing = {p["name"]: p for p in operations(spec)["listPanels"]["parameters"]}
    assert listing["status"]["schema"]["anyOf"][0] == {"$ref": "#/components/schemas/PanelStatus"}
    assert listing["panel_type"]["schema"]["anyOf"][0] == {"$ref": "#/components/schemas/PanelType"}


async def test_every_stream_event_has_its_schema_and_the_streams_name_them(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    union = schemas["StreamEvent"]
    assert union["discriminator"]["propertyName"] == "event"
    assert set(union["discriminator"]["mapping"]) == {t.value for t in EventType}
    assert len(union["oneOf"]) == len(EventType)
    for operation in ("streamPanel", "watchPanel"):
        responses = operations(spec)[operation]["responses"]
        sse = responses["200"]["content"]["text/event-stream"]
        assert sse["schema"]["type"] == "string"
        assert sse["x-itemSchema"] == {"$ref": "#/components/schemas/StreamEvent"}
        assert "204" in responses and "content" not in responses["204"]
        assert "expert_error" in responses["200"]["description"]


async def test_the_websocket_and_its_messages_are_described(spec: dict[str, Any]) -> None:
    socket = spec["x-websockets"]["/api/v1/panels/{panel_id}/ws"]
    assert socket["receive"] == {"$ref": "#/components/schemas/WebSocketMessage"}
    assert socket["send"] == {"$ref": "#/components/schemas/WebSocketCommand"}
    assert {p["name"] for p in socket["parameters"]} >= {"panel_id", "ticket", "last_event_id", "tokens"}
    schemas = spec["components"]["schemas"]
    assert "control" in schemas["WebSocketMessage"]["discriminator"]["mapping"]
    assert schemas["WebSocketCommand"]["properties"]["type"]["enum"] == ["cancel", "ping"]
    streaming = next(tag for tag in spec["tags"] if tag["name"] == "streaming")
    assert "WebSocket" in streaming["description"] and '{"type": "cancel"}' in streaming["description"]


async def test_execute_documents_the_seeds_executing_and_the_panels_status(spec: dict[str, Any]) -> None:
    execute = spec["components"]["schemas"]["ExecuteResponse"]
    assert set(execute["required"]) == {"panel_id", "status", "panel_status", "message"}
    assert execute["properties"]["status"]["const"] == "executing"
    assert "panel_status" in execute["properties"]["status"]["description"]
    assert execute["properties"]["panel_status"]["$ref"] == "#/components/schemas/PanelStatus"


async def test_every_answer_matches_what_the_document_says_of_it(
    client: httpx2.AsyncClient, spec: dict[str, Any]
) -> None:
    conformance = Conformance(spec)
    check = conformance.check
    auth = headers_for()
    missing = "00000000-0000-4000-8000-000000000000"

    # Panels: create (201, 400, 401, 403, 409, 413, 422), read, list, execute, cancel.
    created = check(await client.post("/api/v1/panels", json=body(), headers=auth)).json()
    pid = created["panel_id"]
    check(await client.post("/api/v1/panels", json=body(), headers={"X-Tenant-ID": "nope"}))
    check(await client.post("/api/v1/panels", json=body(), headers={"X-Tenant-ID": created["tenant_id"]}))
    check(await client.post("/api/v1/panels", json=body(), headers={**headers_for(), "X-Tenant-ID": TENANT_B}))
    keyed = {**auth, "Idempotency-Key": "k-1"}
    check(await client.post("/api/v1/panels", json=body(), headers=keyed))
    check(await client.post("/api/v1/panels", json=body(query="another"), headers=keyed))
    check(await client.post("/api/v1/panels", content=b"x" * (2 * 1024 * 1024), headers=auth))
    check(await client.post("/api/v1/panels", json=body(panel_type="debate"), headers=auth))
    check(await client.post("/api/v1/panels", json=body(agent_ids=["nobody"]), headers=auth))
    check(await client.post("/api/v1/panels", json=body(configuration={"max_rounds": 99}), headers=auth))
    check(await client.get(f"/api/v1/panels/{pid}", headers=auth))
    check(await client.get(f"/api/v1/panels/{missing}", headers=auth))
    check(await client.get("/api/v1/panels", params={"limit": 2, "status": "draft"}, headers=auth))
    check(await client.get("/api/v1/panels", params={"limit": 0}, headers=auth))
    check(await client.get("/api/v1/panels", headers={"X-Tenant-ID": created["tenant_id"]}))
    check(await client.post(f"/api/v1/panels/{pid}/execute", headers=auth))
    check(await client.post(f"/api/v1/panels/{pid}/execute", headers=auth))
    check(await client.post(f"/api/v1/panels/{missing}/execute", headers=auth))
    await wait_for_status(client, pid, {"completed"})
    check(await client.delete(f"/api/v1/panels/{pid}", headers=auth))
    draft = await create_panel(client, configuration={"max_rounds": 1})
    check(await client.delete(f"/api/v1/panels/{draft['panel_id']}", headers=auth))
    check(await client.delete(f"/api/v1/panels/{missing}", headers=auth))

    # Streams: replay (200, every frame against its event schema), the end (204), refusals, tickets.
    stream = f"/api/v1/panels/{pid}/stream"
    check(await client.get(stream, headers=auth, params={"tokens": "true"}))
    check(await client.get(stream, headers={**auth, "Last-Event-ID": str(created["last_event_id"] + 10_000)}))
    check(await client.get(stream, headers={**auth, "Last-Event-ID": "-1"}))
    check(await client.get(stream, headers={"X-Tenant-ID": created["tenant_id"]}))
    check(await client.get(f"/api/v1/panels/{missing}/stream", headers=auth))
    started = await create_panel(client, configuration={"max_rounds": 1})
    check(await client.post(f"/api/v1/panels/{started['panel_id']}/stream", headers=auth))
    check(await client.post(f"/api/v1/panels/{started['panel_id']}/stream", headers={**auth, "Last-Event-ID": "9999"}))
    check(await client.post(f"/api/v1/panels/{missing}/stream", headers=auth))
    ticket = check(await client.post(f"/api/v1/panels/{pid}/stream-ticket", headers=auth)).json()["ticket"]
    check(await client.get(stream, params={"ticket": ticket}))
    check(await client.get(stream, params={"ticket": "made-up"}))
    check(await client.post(f"/api/v1/panels/{missing}/stream-ticket", headers=auth))

    # Experts, meta, probes.
    check(await client.get("/api/v1/agents", headers=auth))
    expert = {"agent_id": "acme_sterile", "name": "Dr. Ada Park", "role": "Scientist", "instructions": "Judge."}
    check(await client.post("/api/v1/agents", json=expert, headers=auth))
    check(await client.post("/api/v1/agents", json=expert, headers=auth))
    check(await client.post("/api/v1/agents", json={**expert, "name": ""}, headers=auth))
    check(await client.get("/api/v1/agents/acme_sterile", headers=auth))
    check(await client.get("/api/v1/agents/nobody", headers=auth))
    replaced = {k: v for k, v in expert.items() if k != "agent_id"}
    check(await client.put("/api/v1/agents/acme_sterile", json=replaced, headers=auth))
    check(await client.put("/api/v1/agents/fda_expert", json=replaced, headers=auth))
    check(await client.patch("/api/v1/agents/acme_sterile", json={"role": "Sterilization scientist"}, headers=auth))
    check(await client.patch("/api/v1/agents/acme_sterile", json={"expertise": "x" * 5}, headers=auth))
    check(await client.delete("/api/v1/agents/acme_sterile", headers=auth))
    check(await client.delete("/api/v1/agents/acme_sterile", headers=auth))

    # The decision record, in each of its formats.
    for report_format in ("md", "html", "json"):
        check(await client.get(f"/api/v1/panels/{pid}/report", params={"format": report_format}, headers=auth))
    check(await client.get(f"/api/v1/panels/{pid}/report", params={"format": "pdf"}, headers=auth))
    check(await client.get(f"/api/v1/panels/{missing}/report", headers=auth))
    check(await client.get("/api/v1/meta"))
    check(await client.get("/healthz"))
    check(await client.get("/readyz"))

    seen = conformance.seen
    for name in ALL_TENANT_OPERATIONS | {"watchPanel", "getMeta"}:
        assert any(n == name and s.startswith("2") for n, s in seen), f"{name} never answered a 2xx"
    statuses = {status for _, status in seen}
    assert {"200", "201", "202", "204", "400", "401", "403", "404", "409", "413", "422"} <= statuses


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "query": "What is our FDA 510(k) strategy for this device?",
        "panel_type": "structured",
        "agent_ids": ["fda_expert", "clinical_expert"],
        "configuration": {"max_rounds": 1},
        **overrides,
    }


async def test_a_configuration_key_another_panel_type_reads_is_refused(client: httpx2.AsyncClient) -> None:
    for configuration in ({"max_turns": 4}, {"proposition": "We file."}, {"stability_tolerance": 0.2}):
        response = await client.post("/api/v1/panels", json=body(configuration=configuration), headers=headers_for())
        assert response.status_code == 422, configuration
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert next(iter(configuration)) in response.json()["detail"]
    fitting: dict[str, dict[str, object]] = {
        "open": {"max_turns": 4},
        "adversarial": {"proposition": "We file."},
        "delphi": {"stability_tolerance": 0.2},
    }
    for kind, settings in fitting.items():
        response = await client.post(
            "/api/v1/panels", json=body(panel_type=kind, configuration=settings), headers=headers_for()
        )
        assert response.status_code == 201, response.text
        assert response.json()["configuration"] == {**response.json()["configuration"], **settings}


async def test_a_recommendation_lists_the_steps_that_fell_back_with_their_reasons(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    fallbacks = schemas["Recommendation"]["properties"]["fallbacks"]
    assert fallbacks["items"] == {"$ref": "#/components/schemas/Fallback"}
    assert "fallbacks" in schemas["Recommendation"]["required"]
    assert schemas["Fallback"]["required"] == ["step", "reason"]
    assert schemas["DecisionRecord"]["properties"]["fallbacks"]["items"] == {"$ref": "#/components/schemas/Fallback"}


async def test_the_expert_operations_say_what_they_do_and_that_built_ins_are_read_only(
    spec: dict[str, Any], client: httpx2.AsyncClient
) -> None:
    ops = operations(spec)
    for operation_id, summary in {
        "replaceAgent": "Replace a tenant expert",
        "updateAgent": "Change a tenant expert",
        "deleteAgent": "Delete a tenant expert",
    }.items():
        op = ops[operation_id]
        assert op["summary"] == summary
        assert "builtin-agent-read-only" in op["responses"]["403"]["description"], operation_id
        assert "builtin-agent-read-only" in op["description"] and "keep" in op["description"], operation_id
    assert "does not create" in ops["replaceAgent"]["description"]
    assert "only the fields given" in ops["updateAgent"]["description"]
    assert {"agent-exists", "agent-limit"} <= set(ops["createAgent"]["responses"]["409"]["description"].split("`"))
    assert "panel" not in ops["createAgent"]["responses"]["409"]["description"]

    # ... and the service does what the text says: PUT on an id the tenant never created does not create it.
    body = {"name": "Ada", "role": "Sterilization scientist", "instructions": "Judge the validation plan."}
    response = await client.put("/api/v1/agents/never_created", json=body, headers=headers_for())
    assert response.status_code == 404
