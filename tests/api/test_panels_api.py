"""The panel REST API: create, read, list, validation and problem+json errors."""

from __future__ import annotations

import uuid

import httpx2

from tests.conftest import TENANT_A, create_panel, headers_for, sql_only


async def test_creating_a_panel_returns_a_draft_with_members_and_an_estimate(client: httpx2.AsyncClient) -> None:
    panel = await create_panel(client)
    assert panel["status"] == "draft"
    assert uuid.UUID(panel["panel_id"])
    assert [m["agent_id"] for m in panel["members"]] == ["fda_expert", "clinical_expert", "reimbursement_expert"]
    assert panel["members"][0]["agent_name"] and panel["members"][0]["agent_role"]
    assert panel["estimated_duration"] > 0
    assert panel["configuration"]["max_rounds"] == 3
    assert panel["configuration"]["consensus_threshold"] == 0.8
    assert isinstance(panel["configuration"]["seed"], int)
    assert panel["member_selection"] == "requested"


async def test_a_created_panel_can_be_read_back(client: httpx2.AsyncClient) -> None:
    created = await create_panel(client)
    response = await client.get(f"/api/v1/panels/{created['panel_id']}", headers=headers_for())
    assert response.status_code == 200
    assert response.json()["query"] == created["query"]
    assert response.json()["discussions"] == []


async def test_without_agent_ids_the_service_picks_three_to_five_relevant_experts(client: httpx2.AsyncClient) -> None:
    panel = await create_panel(
        client, agent_ids=None, query="How should we plan FDA 510(k) clearance and reimbursement?"
    )
    ids = [m["agent_id"] for m in panel["members"]]
    assert 3 <= len(ids) <= 5
    assert "fda_expert" in ids and "reimbursement_expert" in ids
    assert panel["member_selection"] == "auto"


async def test_unknown_agent_ids_are_a_422_that_names_them(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/panels",
        headers=headers_for(),
        json={"query": "q?", "panel_type": "structured", "agent_ids": ["fda_expert", "nobody", "ghost"]},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["agent_ids"] == ["nobody", "ghost"]
    assert "nobody" in body["detail"] and "ghost" in body["detail"]


async def test_bad_panel_input_is_a_4xx_problem(client: httpx2.AsyncClient) -> None:
    cases = [
        {"query": "   ", "panel_type": "structured"},
        {"query": "x" * 8001, "panel_type": "structured"},
        {"query": "ok?", "panel_type": "roundtable"},
        {"query": "ok?", "panel_type": "structured", "configuration": {"max_rounds": 11}},
        {"query": "ok?", "panel_type": "structured", "configuration": {"max_rounds": 0}},
        {"query": "ok?", "panel_type": "structured", "configuration": {"consensus_threshold": 1.5}},
        {"query": "ok?", "panel_type": "structured", "configuration": {"surprise": True}},
        {"query": "ok?", "panel_type": "structured", "configuration": {"temperature": "hot"}},
        {"query": "ok?", "panel_type": "structured", "agent_ids": [f"a{i}" for i in range(11)]},
        {"query": "ok?", "panel_type": "structured", "agent_ids": ["fda_expert", "fda_expert"]},
        {"query": "ok?", "panel_type": "adversarial", "agent_ids": ["fda_expert"]},
        {"panel_type": "structured"},
        {"query": 42, "panel_type": "structured"},
        {"query": "ok?", "panel_type": "structured", "unexpected": 1},
    ]
    for body in cases:
        response = await client.post("/api/v1/panels", json=body, headers=headers_for())
        assert 400 <= response.status_code < 500, (body, response.status_code, response.text)
        problem = response.json()
        assert {"type", "title", "status", "detail"} <= problem.keys()
        assert problem["status"] == response.status_code


async def test_malformed_json_is_a_422_problem(client: httpx2.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/panels", content=b"{not json", headers={**headers_for(), "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_body_over_one_mebibyte_is_a_413(client: httpx2.AsyncClient) -> None:
    body = b'{"query": "' + b"x" * (1024 * 1024 + 10) + b'", "panel_type": "structured"}'
    response = await client.post(
        "/api/v1/panels", content=body, headers={**headers_for(), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["status"] == 413


async def test_unknown_malformed_and_foreign_panel_ids_are_the_same_404(client: httpx2.AsyncClient) -> None:
    foreign = await create_panel(client, tenant="33333333-3333-3333-3333-333333333333")
    bodies = []
    for panel_id in (str(uuid.uuid4()), "not-a-uuid", foreign["panel_id"]):
        response = await client.get(f"/api/v1/panels/{panel_id}", headers=headers_for())
        assert response.status_code == 404
        body = response.json()
        bodies.append((body["title"], body["detail"], body["type"]))
    assert len(set(bodies)) == 1


async def test_listing_is_newest_first_with_total_and_filters(client: httpx2.AsyncClient) -> None:
    first = await create_panel(client, query="first?")
    second = await create_panel(client, query="second?", panel_type="delphi")
    third = await create_panel(client, query="third?")
    response = await client.get("/api/v1/panels", headers=headers_for())
    assert response.status_code == 200
    page = response.json()
    assert [p["panel_id"] for p in page["panels"]] == [third["panel_id"], second["panel_id"], first["panel_id"]]
    assert (page["total"], page["limit"], page["offset"]) == (3, 50, 0)

    page = (await client.get("/api/v1/panels?limit=1&offset=1", headers=headers_for())).json()
    assert [p["panel_id"] for p in page["panels"]] == [second["panel_id"]]
    assert page["total"] == 3

    delphi = (await client.get("/api/v1/panels?panel_type=delphi", headers=headers_for())).json()
    assert [p["panel_id"] for p in delphi["panels"]] == [second["panel_id"]]
    drafts = (await client.get("/api/v1/panels?status=draft", headers=headers_for())).json()
    assert drafts["total"] == 3
    done = (await client.get("/api/v1/panels?status=completed", headers=headers_for())).json()
    assert done == {"panels": [], "total": 0, "limit": 50, "offset": 0}


async def test_list_limits_and_bad_filters_are_400(client: httpx2.AsyncClient) -> None:
    for query in ("limit=101", "limit=0", "status=sleeping", "panel_type=roundtable"):
        response = await client.get(f"/api/v1/panels?{query}", headers=headers_for())
        assert response.status_code == 400, query
    assert (await client.get("/api/v1/panels?limit=100", headers=headers_for())).status_code == 200


async def test_an_idempotency_key_makes_a_retried_create_return_the_same_panel(client: httpx2.AsyncClient) -> None:
    body = {"query": "Retry me?", "panel_type": "open", "agent_ids": ["fda_expert", "clinical_expert"]}
    headers = {**headers_for(), "Idempotency-Key": "create-42"}
    first = await client.post("/api/v1/panels", json=body, headers=headers)
    again = await client.post("/api/v1/panels", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["panel_id"] == again.json()["panel_id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = (await client.get("/api/v1/panels", headers=headers_for())).json()
    assert listed["total"] == 1
    changed = await client.post("/api/v1/panels", json={**body, "query": "Other?"}, headers=headers)
    assert changed.status_code == 409


async def test_the_same_idempotency_key_in_two_tenants_makes_two_panels(client: httpx2.AsyncClient) -> None:
    body = {"query": "Same key?", "panel_type": "structured", "agent_ids": ["fda_expert"]}
    a = await client.post("/api/v1/panels", json=body, headers={**headers_for(TENANT_A), "Idempotency-Key": "k"})
    other = "44444444-4444-4444-4444-444444444444"
    b = await client.post("/api/v1/panels", json=body, headers={**headers_for(other), "Idempotency-Key": "k"})
    assert a.status_code == b.status_code == 201
    assert a.json()["panel_id"] != b.json()["panel_id"]


async def test_responses_carry_a_request_id_that_echoes_the_callers(client: httpx2.AsyncClient) -> None:
    generated = await client.get("/healthz")
    assert len(generated.headers["X-Request-ID"]) >= 16
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    problem = await client.get(f"/api/v1/panels/{uuid.uuid4()}", headers={**headers_for(), "X-Request-ID": "r-9"})
    assert problem.json()["request_id"] == "r-9"


async def test_health_and_readiness_need_no_tenant_or_token(client: httpx2.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok"}


async def test_the_openapi_schema_has_stable_operation_ids_and_examples(client: httpx2.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {
        "createPanel",
        "getPanel",
        "listPanels",
        "executePanel",
        "cancelPanel",
        "streamPanel",
        "watchPanel",
        "createStreamTicket",
        "listAgents",
        "createAgent",
        "getAgent",
    } <= operations
    create = schema["components"]["schemas"]["CreateStructuredPanel"]
    assert create["examples"][0]["agent_ids"] == ["fda_expert", "clinical_expert"]
    stream = schema["paths"]["/api/v1/panels/{panel_id}/stream"]["get"]["responses"]["200"]
    assert "text/event-stream" in stream["content"]
    assert "expert_speaking" in stream["description"]
    assert (await client.get("/docs")).status_code == 200


async def test_out_of_range_numbers_are_4xx_not_500(client: httpx2.AsyncClient) -> None:
    panel = await create_panel(client)
    huge = 2**70
    response = await client.get(f"/api/v1/panels?offset={huge}", headers=headers_for())
    assert 400 <= response.status_code < 500
    response = await client.post(
        "/api/v1/panels",
        content=b'{"query": "q?", "panel_type": "structured", "configuration": {"temperature": 1' + b"0" * 400 + b"}}",
        headers={**headers_for(), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    stream = f"/api/v1/panels/{panel['panel_id']}/stream"
    for header in ("99999999999999999999999", "\u00b2".encode("latin-1"), "-1", "1.5"):
        raw = header if isinstance(header, bytes) else header.encode()
        response = await client.get(
            stream, headers=[*((k.encode(), v.encode()) for k, v in headers_for().items()), (b"Last-Event-ID", raw)]
        )
        assert response.status_code == 400, header
    for value in (huge, "9" * 5000):
        response = await client.get(f"{stream}?last_event_id={value}", headers=headers_for())
        assert response.status_code == 400
        assert response.headers["x-request-id"]


@sql_only
async def test_when_every_database_connection_is_busy_the_answer_is_a_503_not_a_500(database_url: str) -> None:
    from ask_panel.api.app import create_app
    from ask_panel.bootstrap import bootstrap
    from ask_panel.domain.ids import TenantId
    from tests.conftest import make_settings

    settings = make_settings(database_url, db_pool_timeout_s=0.2, db_pool_size=1, db_max_overflow=0)
    container = bootstrap(settings)
    await container.start()
    try:
        transport = httpx2.ASGITransport(app=create_app(container=container))
        async with (
            httpx2.AsyncClient(transport=transport, base_url="http://t") as client,
            container.uow(TenantId.from_string(TENANT_A)),  # holds the only connection
        ):
            response = await client.get("/api/v1/panels", headers=headers_for())
        assert response.status_code == 503
        assert response.headers["Retry-After"] and response.json()["status"] == 503
    finally:
        await container.stop()


async def test_an_unexpected_error_is_a_bare_500_and_a_logged_traceback_with_the_request_id(
    container: object, monkeypatch: object, caplog: object
) -> None:
    import logging

    import pytest

    from ask_panel.api.app import create_app

    # Starlette answers the 500 and then re-raises for the server to see: do not raise it here.
    transport = httpx2.ASGITransport(app=create_app(container=container), raise_app_exceptions=False)  # type: ignore[arg-type]

    async def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("secret internals: db password hunter2")

    assert isinstance(monkeypatch, pytest.MonkeyPatch) and isinstance(caplog, pytest.LogCaptureFixture)
    monkeypatch.setattr(container.panels, "list", broken)  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR):
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/api/v1/panels", headers={**headers_for(), "X-Request-ID": "req-500"})
    assert response.status_code == 500
    body = response.json()
    assert body["status"] == 500 and body["request_id"] == "req-500"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    logged = [r for r in caplog.records if "req-500" in r.getMessage()]
    assert logged and logged[0].exc_info is not None
